//! Each child runs under its own (lazily created) child token of the group's token:
//! cancelling it stops that child only; cancelling the group reaches every child, including
//! the tokens and nested groups a child made under its own token.

use nimsync_cancel::{CancelToken, Cancelled, checkpoint, current_token};
use nimsync_group::{CollectAll, TaskError, task_group};
use nimsync_scheduler::Runtime;
use std::sync::{Arc, Mutex};

/// A one-shot signal: the child "sends" by cancelling, the body awaits `cancelled()`.
fn signal() -> CancelToken {
    CancelToken::new()
}

#[test]
fn cancelling_a_childs_own_token_stops_only_that_child() {
    let rt = Runtime::builder().workers(2).build().unwrap();
    let out = rt.block_on(task_group(CollectAll, |g| async move {
        let ready = signal();
        let handed = Arc::new(Mutex::new(None));
        let (r, h) = (ready.clone(), handed.clone());
        g.spawn(async move {
            *h.lock().unwrap() = current_token();
            r.cancel();
            std::future::pending::<Result<u32, String>>().await
        })
        .await?;
        // A sibling that is still running when child 0's token is cancelled.
        let release = signal();
        let rel = release.clone();
        g.spawn(async move {
            rel.cancelled().await;
            checkpoint().map_err(|e| e.to_string())?;
            Ok(1)
        })
        .await?;
        ready.cancelled().await;
        let own = handed.lock().unwrap().take().expect("child 0's token");
        assert!(!own.same_as(g.token()), "a child has its own token");
        own.cancel_with("just this one");
        assert!(
            !g.token().is_cancelled(),
            "a child's cancel reached the group"
        );
        release.cancel();
        // Siblings spawned afterwards run normally too.
        g.spawn(async { checkpoint().map(|()| 2).map_err(|e| e.to_string()) })
            .await?;
        Ok(())
    }));
    let v = out.unwrap();
    assert!(
        matches!(&v[0], Err(TaskError::Cancelled(Cancelled::Explicit(Some(r)))) if &**r == "just this one"),
        "child 0: {:?}",
        v[0].as_ref().err().map(ToString::to_string)
    );
    assert!(matches!(v[1], Ok(1)));
    assert!(matches!(v[2], Ok(2)));
}

#[test]
fn group_cancel_reaches_child_tokens_and_what_children_made_under_them() {
    let rt = Runtime::builder().workers(2).build().unwrap();
    let handed = Arc::new(Mutex::new(Vec::new()));
    let h = handed.clone();
    let out = rt.block_on(task_group(CollectAll, move |g| async move {
        let started = [signal(), signal()];
        for i in 0..4u32 {
            let (h, s) = (h.clone(), started[i as usize / 2].clone());
            g.spawn(async move {
                if i % 2 == 0 {
                    // Materialize: take the own token and nest a group under it.
                    h.lock().unwrap().push(current_token().unwrap());
                    let inner = task_group(CollectAll, |ig| async move {
                        ig.spawn(async move {
                            let own = current_token().unwrap();
                            s.cancel(); // running: the body may cancel the group now
                            own.cancelled().await;
                            checkpoint()
                        })
                        .await?;
                        Ok(())
                    });
                    // The nested group holds this child until its own child has stopped.
                    let inner_out = inner.await.map_err(|e| e.to_string())?;
                    assert!(inner_out[0].is_err(), "the nested child saw the cancel");
                    // A child cancelled through the group reports the group's reason.
                    assert_eq!(checkpoint(), Err(Cancelled::Explicit(None)));
                    Ok(i)
                } else {
                    // Never asks for its token: observes the group's token directly.
                    std::future::pending::<()>().await;
                    Ok::<u32, String>(i)
                }
            })
            .await?;
        }
        for s in &started {
            s.cancelled().await;
        }
        g.cancel();
        Ok(())
    }));
    let v = out.unwrap();
    assert_eq!(v.len(), 4);
    for (i, r) in v.iter().enumerate() {
        if i % 2 == 0 {
            // Held by its nested group, it finished its work after the cancel.
            assert_eq!(r.as_ref().ok(), Some(&(i as u32)));
        } else {
            assert!(
                matches!(r, Err(TaskError::Cancelled(Cancelled::Explicit(None)))),
                "child {i} reports the group's reason: {:?}",
                r.as_ref().err().map(ToString::to_string)
            );
        }
    }
    let tokens = handed.lock().unwrap();
    assert_eq!(tokens.len(), 2);
    for t in tokens.iter() {
        assert_eq!(t.reason(), Some(Cancelled::Parent));
    }
}

#[test]
fn checkpoint_in_a_child_reports_the_groups_reason_once_it_has_its_token() {
    let rt = Runtime::current_thread();
    let out = rt.block_on(task_group(CollectAll, |g| async move {
        let g2 = g.clone();
        g.spawn(async move {
            let own = current_token().unwrap();
            g2.token().cancel_with("stop");
            assert!(own.is_cancelled());
            Ok::<_, ()>(checkpoint())
        })
        .await?;
        Ok(())
    }));
    let v = out.unwrap();
    // The child finished within its poll, so its result is kept; its checkpoint saw the
    // group's reason, not "cancelled through a parent".
    assert!(matches!(&v[0], Ok(Err(Cancelled::Explicit(Some(r)))) if &**r == "stop"));
}
