//! Property test: random token trees, cancelled at random nodes. Exactly the descendants of
//! the cancelled nodes (and the nodes themselves) report cancelled, with the right reason.

use nimsync_cancel::{CancelToken, Cancelled};
use proptest::prelude::*;

/// A tree as parent indices: node `i + 1`'s parent is `parents[i] % (i + 1)`.
fn tree_and_cancels() -> impl Strategy<Value = (Vec<usize>, Vec<usize>, Vec<usize>)> {
    (1usize..60).prop_flat_map(|n| {
        (
            proptest::collection::vec(any::<usize>(), n),
            proptest::collection::vec(0..=n, 0..6),
            proptest::collection::vec(0..=n, 0..10),
        )
    })
}

proptest! {
    #[test]
    fn exactly_the_descendants_are_cancelled((parents, cancels, drops) in tree_and_cancels()) {
        let n = parents.len() + 1;
        let parent_of: Vec<Option<usize>> = std::iter::once(None)
            .chain(parents.iter().enumerate().map(|(i, p)| Some(p % (i + 1))))
            .collect();
        let mut tokens: Vec<Option<CancelToken>> = Vec::with_capacity(n);
        tokens.push(Some(CancelToken::new()));
        for p in parent_of.iter().skip(1).flatten() {
            let p = *p;
            let t = tokens[p].as_ref().unwrap().child();
            tokens.push(Some(t));
        }
        // Drop some intermediate handles: their live descendants must still be reached.
        let mut dropped = vec![false; n];
        for &d in &drops {
            if d < n {
                tokens[d] = None;
                dropped[d] = true;
            }
        }
        // Reference model.
        let is_desc = |mut x: usize, anc: usize| loop {
            if x == anc { return true; }
            match parent_of[x] { Some(p) => x = p, None => return false }
        };
        let mut explicit = vec![false; n];
        let mut cancelled = vec![false; n];
        for &c in &cancels {
            if c >= n || dropped[c] { continue; }
            if !cancelled[c] { explicit[c] = true; }
            tokens[c].as_ref().unwrap().cancel();
            for (x, flag) in cancelled.iter_mut().enumerate() {
                if is_desc(x, c) { *flag = true; }
            }
        }
        for x in 0..n {
            let Some(t) = &tokens[x] else { continue };
            prop_assert_eq!(t.is_cancelled(), cancelled[x], "node {}", x);
            let want = if !cancelled[x] {
                None
            } else if explicit[x] {
                Some(Cancelled::Explicit(None))
            } else {
                Some(Cancelled::Parent)
            };
            prop_assert_eq!(t.reason(), want, "reason of node {}", x);
        }
    }
}
