//! One smoke test per layer the facade re-exports (under its feature, and `scheduler` for
//! those that run on it through the facade), plus the top-level shortcuts and the prelude.

#[cfg(feature = "channels")]
#[test]
fn channels_layer() {
    let (tx, rx) = nimsync::channels::mpmc::<u32>(2);
    tx.try_send(5).unwrap();
    assert_eq!(rx.try_recv(), Ok(5));
    assert_eq!(
        rx.try_recv(),
        Err(nimsync::channels::TryRecvError::Empty),
        "the value was received exactly once"
    );
}

#[cfg(feature = "scheduler")]
#[test]
fn scheduler_layer() {
    let rt = nimsync::scheduler::Runtime::builder()
        .workers(1)
        .build()
        .unwrap();
    let v = rt.block_on(async { nimsync::scheduler::spawn(async { 21 * 2 }).await.unwrap() });
    assert_eq!(v, 42);
}

#[cfg(feature = "scheduler")]
#[test]
fn top_level_block_on_spawn_sleep() {
    let rt = nimsync::scheduler::Builder::new_current_thread()
        .start_paused(true)
        .build()
        .unwrap();
    let slept = rt.block_on(async {
        let t0 = nimsync::scheduler::now();
        nimsync::sleep(std::time::Duration::from_secs(60)).await; // paused clock: instant
        nimsync::scheduler::now() - t0
    });
    assert_eq!(slept, std::time::Duration::from_secs(60));
    let v = nimsync::block_on(async { nimsync::spawn(async { "spawned" }).await.unwrap() });
    assert_eq!(v, "spawned");
}

#[cfg(all(feature = "channels", feature = "scheduler"))]
#[test]
fn prelude_brings_both_layers() {
    use nimsync::prelude::*;
    let (mut tx, mut rx) = spsc::<u8>(1);
    let got = block_on(async move {
        let sender = spawn(async move { tx.send(9).await.unwrap() });
        let v = rx.recv().await.unwrap();
        sender.await.unwrap();
        v
    });
    assert_eq!(got, 9);
}

#[cfg(feature = "macros")]
#[nimsync::test]
async fn test_macro_through_the_facade() {
    let h: nimsync::scheduler::JoinHandle<u8> = nimsync::spawn(async { 3 });
    assert_eq!(h.await.unwrap(), 3);
}

#[cfg(all(feature = "cancel", feature = "scheduler"))]
#[test]
fn cancel_layer_and_top_level_timeout() {
    use std::time::Duration;
    let rt = nimsync::scheduler::Builder::new_current_thread()
        .start_paused(true)
        .build()
        .unwrap();
    rt.block_on(async {
        let slow = nimsync::timeout(
            Duration::from_millis(10),
            nimsync::sleep(Duration::from_secs(1)),
        );
        assert_eq!(slow.await, Err(nimsync::cancel::Cancelled::Timeout));
        let fast = nimsync::timeout(Duration::from_millis(10), async { 7 });
        assert_eq!(fast.await, Ok(7));
    });
    let parent = nimsync::cancel::CancelToken::new();
    let child = parent.child();
    parent.cancel();
    assert!(child.is_cancelled());
}

#[cfg(all(feature = "group", feature = "scheduler"))]
#[test]
fn group_layer_and_top_level_task_group() {
    let rt = nimsync::scheduler::Runtime::builder()
        .workers(2)
        .build()
        .unwrap();
    let results = rt.block_on(nimsync::task_group(
        nimsync::group::CollectAll,
        |g| async move {
            for i in 0..4u32 {
                g.spawn(async move { Ok::<u32, ()>(i * 10) }).await?;
            }
            Ok(())
        },
    ));
    let values: Vec<u32> = results.unwrap().into_iter().map(Result::unwrap).collect();
    assert_eq!(values, [0, 10, 20, 30]);
}

#[cfg(feature = "numa")]
#[test]
fn numa_layer() {
    let topo = nimsync::numa::Topology::detect().unwrap();
    assert!(!topo.nodes().is_empty());
}

#[cfg(all(feature = "streams", feature = "scheduler"))]
#[test]
fn streams_layer() {
    use nimsync::streams::StreamExt;
    let evens = nimsync::block_on(
        nimsync::streams::iter(0..10u32)
            .filter(|x| x % 2 == 0)
            .collect_vec(),
    );
    assert_eq!(evens, [0, 2, 4, 6, 8]);
}

#[cfg(all(feature = "backpressure", feature = "scheduler"))]
#[test]
fn backpressure_layer() {
    let (tx, mut rx) = nimsync::backpressure::credit_channel::<&str>(4, 1).unwrap();
    nimsync::block_on(async move {
        tx.send("a").await.unwrap();
        assert!(tx.try_send("b").is_err(), "no credit left");
        assert_eq!(rx.recv().await.unwrap(), "a");
    });
}

#[cfg(all(feature = "actors", feature = "scheduler"))]
mod actor_fixture {
    use nimsync::actors::{Actor, Context, Reply};

    /// Adds what it is told; answers the sum when asked.
    pub struct Sum(pub u64);

    /// Messages of [`Sum`].
    pub enum Msg {
        Add(u64),
        Get(Reply<u64>),
    }

    impl Actor for Sum {
        type Msg = Msg;
        async fn handle(&mut self, msg: Msg, _ctx: &mut Context<Self>) {
            match msg {
                Msg::Add(n) => self.0 += n,
                Msg::Get(reply) => {
                    reply.send(self.0);
                }
            }
        }
    }
}

#[cfg(all(feature = "actors", feature = "scheduler"))]
#[test]
fn actors_layer() {
    use actor_fixture::{Msg, Sum};
    let total = nimsync::block_on(async {
        let sum = nimsync::actors::spawn_actor(Sum(0));
        for n in 1..=4 {
            sum.tell(Msg::Add(n)).await.unwrap();
        }
        let total = sum.ask(Msg::Get).await.unwrap();
        sum.stop_and_wait().await;
        total
    });
    assert_eq!(total, 10);
}

#[cfg(all(feature = "actors", feature = "supervision", feature = "scheduler"))]
#[test]
fn supervision_layer() {
    use actor_fixture::{Msg, Sum};
    use nimsync::supervision::{ChildSpec, Strategy, SupervisorRef, SupervisorSpec};
    nimsync::block_on(async {
        let sup = SupervisorSpec::new(Strategy::OneForOne)
            .child(ChildSpec::new("sum", || Sum(5)))
            .spawn()
            .unwrap();
        let child = sup.child::<Sum>("sum").await.unwrap().unwrap();
        assert_eq!(child.ask(Msg::Get).await, Ok(5));
        sup.stop_and_wait().await;
    });
}

#[cfg(all(feature = "telemetry", feature = "scheduler"))]
#[test]
fn telemetry_layer() {
    use nimsync::telemetry::{Telemetry, Tracing};
    let telemetry = Telemetry::builder()
        .tracing(Tracing::ratio(1.0))
        .build()
        .unwrap();
    let rt = telemetry
        .instrument(nimsync::scheduler::Runtime::builder().workers(1))
        .build()
        .unwrap();
    rt.block_on(async {
        // Spans live in the task context slot: open one inside a spawned task.
        nimsync::spawn(async {
            nimsync::telemetry::start_span("facade");
            nimsync::telemetry::end_span();
        })
        .await
        .unwrap();
    });
    assert!(
        telemetry
            .finished_spans()
            .iter()
            .any(|s| s.name == "facade")
    );
}

#[cfg(all(feature = "pool", feature = "scheduler"))]
#[test]
fn pool_layer() {
    struct Numbers;
    impl nimsync::pool::Manager for Numbers {
        type Connection = u32;
        type Error = std::convert::Infallible;
        async fn create(&self) -> Result<u32, Self::Error> {
            Ok(7)
        }
    }
    let v = nimsync::block_on(async {
        let pool = nimsync::pool::Pool::builder(Numbers)
            .max_size(1)
            .build()
            .unwrap();
        let conn = pool.get().await.unwrap();
        assert_eq!(pool.status().in_use, 1);
        *conn
    });
    assert_eq!(v, 7);
}

#[cfg(all(feature = "net", feature = "scheduler"))]
#[test]
fn net_layer_runs_on_the_nimsync_runtime() {
    use nimsync::net::{AsyncReadExt, AsyncWriteExt, TcpListener, TcpStream};
    let rt = nimsync::scheduler::Runtime::builder()
        .workers(2)
        .build()
        .unwrap();
    rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = nimsync::spawn(async move {
            let (mut conn, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 4];
            conn.read_exact(&mut buf).await.unwrap();
            conn.write_all(&buf).await.unwrap();
        });
        let mut client = TcpStream::connect(addr).await.unwrap();
        client.write_all(b"ping").await.unwrap();
        let mut back = [0u8; 4];
        client.read_exact(&mut back).await.unwrap();
        assert_eq!(&back, b"ping");
        server.await.unwrap();
    });
}
