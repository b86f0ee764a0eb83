//! Mirrors the README's example for this crate (keep the two identical).

use nimsync_pool::{Manager, Object, Pool, PoolError};
use std::time::Duration;

struct Db;
impl Manager for Db {
    type Connection = Vec<&'static str>; // stands in for a real connection
    type Error = std::convert::Infallible;
    async fn create(&self) -> Result<Self::Connection, Self::Error> {
        Ok(Vec::new())
    }
}

#[test]
fn readme_example() {
    let rt = nimsync_scheduler::Builder::new_current_thread()
        .start_paused(true)
        .build()
        .unwrap();
    rt.block_on(async {
        let pool = Pool::builder(Db)
            .max_size(2)
            .acquire_timeout(Duration::from_secs(1))
            .leak_threshold(Duration::from_secs(30))
            .build()
            .unwrap();
        let mut conn = pool.get().await.unwrap();
        let mut op = Object::operation(&mut conn); // a cancel before `complete` discards it
        op.push("INSERT ...");
        op.complete();
        let _other = pool.get().await.unwrap();
        assert!(matches!(pool.get().await, Err(PoolError::Timeout))); // both in use
        drop(conn); // back in the pool
        let st = pool.status();
        assert_eq!((st.size, st.idle, st.in_use, st.waiters), (2, 1, 1, 0));
    });
}
