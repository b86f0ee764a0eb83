//! `nimsync::net`: async TCP, UDP and Unix sockets — [`async-net`](https://docs.rs/async-net)
//! re-exported unchanged, plus the `futures-lite` read/write extension traits.
//!
//! ## The model
//!
//! nimsync's executor runs smol-ecosystem I/O as is. `async-net` sockets register with the
//! `async-io` reactor, a thread (started on first use) that waits on epoll/kqueue via the
//! `polling` crate. A socket that is not ready returns `Pending` and leaves the task's waker
//! with the reactor; when the OS reports readiness, the reactor thread calls that waker, which
//! pushes the task back onto a nimsync worker's queue (waking a parked worker if needed). So
//! I/O readiness costs one cross-thread hand-off (reactor thread → worker) per wake-up; the
//! workers never block in the OS. Anything written against the `futures-io` traits
//! (`AsyncRead`/`AsyncWrite`) works the same way. Integrating readiness polling into the
//! workers' park path would save that hand-off; it stays out unless a benchmark shows the
//! hand-off matters (see ARCHITECTURE.md, "Networking").
//!
//! ```
//! use nimsync::net::{AsyncReadExt, AsyncWriteExt, TcpListener, TcpStream};
//!
//! nimsync::block_on(async {
//!     let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
//!     let addr = listener.local_addr().unwrap();
//!     let server = nimsync::spawn(async move {
//!         let (mut conn, _) = listener.accept().await.unwrap();
//!         let mut buf = [0u8; 5];
//!         conn.read_exact(&mut buf).await.unwrap();
//!         conn.write_all(&buf).await.unwrap();
//!     });
//!     let mut client = TcpStream::connect(addr).await.unwrap();
//!     client.write_all(b"hello").await.unwrap();
//!     let mut back = [0u8; 5];
//!     client.read_exact(&mut back).await.unwrap();
//!     assert_eq!(&back, b"hello");
//!     server.await.unwrap();
//! });
//! ```

#[doc(inline)]
pub use async_net::*;
#[doc(inline)]
pub use futures_lite::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
