//! # nimsync-macros — `#[nimsync::main]` and `#[nimsync::test]`
//!
//! Attribute macros that turn an `async fn` into a plain function running it on a
//! [nimsync](https://docs.rs/nimsync) runtime. Use them through the facade crate
//! (`nimsync::main`, `nimsync::test`); the generated code names the runtime as
//! `::nimsync::scheduler`, so the facade (with its default `macros` feature) must be a
//! dependency (or say where it is with `crate = "path"`).
//!
//! | option | values | default |
//! |---|---|---|
//! | `flavor` | `"multi_thread"`, `"current_thread"` | `main`: multi_thread; `test`: current_thread |
//! | `workers` | an integer ≥ 1 (multi_thread only) | one per available core |
//! | `crate` | path of the facade, e.g. `"my_reexport::nimsync"` | `"::nimsync"` |
//!
//! Misuse is a compile error pointing at the offending token: a function that is not `async`,
//! arguments or generics on it, an unknown option, `workers = 0`, an unknown flavor, `workers`
//! on a current-thread runtime, an option given twice, a second `#[test]`.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod expand;
mod options;

use proc_macro::TokenStream;

/// Runs `async fn main` on a nimsync runtime (multi-threaded unless told otherwise).
///
/// ```
/// #[nimsync::main(workers = 2)]
/// async fn main() {
///     let answer = nimsync::spawn(async { 6 * 7 }).await.unwrap();
///     assert_eq!(answer, 42);
/// }
/// ```
///
/// `flavor = "current_thread"` runs everything on the main thread instead, and `main` may
/// return a `Result` as usual:
///
/// ```
/// #[nimsync::main(flavor = "current_thread")]
/// async fn main() -> Result<(), std::num::ParseIntError> {
///     let n: u32 = "42".parse()?;
///     assert_eq!(n, 42);
///     Ok(())
/// }
/// ```
///
/// It expands to roughly
/// `fn main() { Builder::new_multi_thread().workers(2).build().expect(..).block_on(async { .. }) }`.
#[proc_macro_attribute]
pub fn main(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::expand(options::MAIN, args.into(), item.into()).into()
}

/// Runs an `async fn` test on its own nimsync runtime: current-thread by default (tasks run on
/// the test's thread, deterministic), `flavor = "multi_thread"` (with optional `workers`)
/// for tests that need parallelism. It adds `#[test]` itself.
///
/// ```
/// #[nimsync::test]
/// async fn spawned_tasks_complete() {
///     let handle = nimsync::spawn(async { 1 + 1 });
///     assert_eq!(handle.await.unwrap(), 2);
/// }
///
/// #[nimsync::test(flavor = "multi_thread", workers = 2)]
/// async fn on_two_workers() {
///     let handles: Vec<_> = (0..4).map(|i| nimsync::spawn(async move { i })).collect();
///     let mut sum = 0;
///     for h in handles {
///         sum += h.await.unwrap();
///     }
///     assert_eq!(sum, 6);
/// }
/// # fn main() {} // `cargo test` runs the tests above; a doctest only compiles them
/// ```
#[proc_macro_attribute]
pub fn test(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::expand(options::TEST, args.into(), item.into()).into()
}
