//! `crate = "..."` names the facade when it is reached through another path.

mod reexport {
    pub use ::nimsync as runtime;
}

#[nimsync::main(crate = "crate::reexport::runtime", flavor = "multi_thread", workers = 1)]
async fn main() {
    assert_eq!(nimsync::spawn(async { "ok" }).await.unwrap(), "ok");
}
