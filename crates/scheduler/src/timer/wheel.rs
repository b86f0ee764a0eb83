//! A hierarchical timer wheel: 6 levels × 64 slots of 1 ms ticks (about 2 years of range).
//!
//! Level `L` slot `s` covers ticks `[s·64^L, (s+1)·64^L)` within the current `64^(L+1)` block;
//! an `occupied` bitmask per level finds the next non-empty slot with one `trailing_zeros`.
//! Insertion is O(1); when a higher-level slot comes due its entries cascade to lower levels;
//! level-0 entries fire. The layout follows tokio's `runtime/time/wheel`. Deadlines further than
//! the wheel's range are parked in the last level and re-cascaded until due. Entries whose owner
//! went away are reclaimed when their slot is processed or by [`Wheel::retain`].

const LEVELS: usize = 6;
const SLOT_BITS: usize = 6;
const SLOTS: usize = 1 << SLOT_BITS;
/// Largest distance (in ticks) the levels can represent.
const MAX_DURATION: u64 = (1 << (SLOT_BITS * LEVELS)) - 1;

#[derive(Debug)]
struct Level<T> {
    occupied: u64,
    slots: Vec<Vec<(u64, T)>>,
}

impl<T> Level<T> {
    fn new() -> Self {
        Level {
            occupied: 0,
            slots: (0..SLOTS).map(|_| Vec::new()).collect(),
        }
    }
}

/// A timer wheel over items of type `T`, keyed by their due tick.
#[derive(Debug)]
pub(crate) struct Wheel<T> {
    elapsed: u64,
    levels: Vec<Level<T>>,
    len: usize,
    prune_at: usize,
}

/// Size below which orphan pruning never runs.
const MIN_PRUNE: usize = 1024;

fn slot_range(level: usize) -> u64 {
    1u64 << (SLOT_BITS * level)
}

fn level_range(level: usize) -> u64 {
    1u64 << (SLOT_BITS * (level + 1))
}

fn level_for(elapsed: u64, when: u64) -> usize {
    const SLOT_MASK: u64 = (1 << SLOT_BITS) - 1;
    let mut masked = (elapsed ^ when) | SLOT_MASK;
    if masked >= MAX_DURATION {
        masked = MAX_DURATION - 1;
    }
    let significant = 63 - masked.leading_zeros() as usize;
    significant / SLOT_BITS
}

fn slot_for(when: u64, level: usize) -> usize {
    ((when >> (level * SLOT_BITS)) as usize) & (SLOTS - 1)
}

impl<T> Default for Wheel<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> Wheel<T> {
    pub(crate) fn new() -> Self {
        Wheel {
            elapsed: 0,
            levels: (0..LEVELS).map(|_| Level::new()).collect(),
            len: 0,
            prune_at: MIN_PRUNE,
        }
    }

    /// Number of stored entries.
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// The tick up to which the wheel has been processed.
    #[cfg(test)]
    pub(crate) fn elapsed(&self) -> u64 {
        self.elapsed
    }

    /// Inserts `item` due at tick `when`. Returns it back if it is already due.
    pub(crate) fn insert(&mut self, when: u64, item: T) -> Result<(), T> {
        if when <= self.elapsed {
            return Err(item);
        }
        self.place(when, item);
        self.len += 1;
        Ok(())
    }

    fn place(&mut self, when: u64, item: T) {
        // Clamp far deadlines into the wheel's range; they are re-cascaded until due.
        let key = when.min(self.elapsed.saturating_add(MAX_DURATION - 1));
        let level = level_for(self.elapsed, key);
        let slot = slot_for(key, level);
        let lvl = &mut self.levels[level];
        lvl.slots[slot].push((when, item));
        lvl.occupied |= 1 << slot;
    }

    /// `(level, slot, deadline)` of the next slot to process.
    fn next_expiration(&self) -> Option<(usize, usize, u64)> {
        for (level, lvl) in self.levels.iter().enumerate() {
            if lvl.occupied == 0 {
                continue;
            }
            let srange = slot_range(level);
            let lrange = level_range(level);
            let now_slot = self.elapsed / srange;
            let rotated = lvl.occupied.rotate_right((now_slot % SLOTS as u64) as u32);
            let zeros = u64::from(rotated.trailing_zeros());
            let slot = ((zeros + now_slot) % SLOTS as u64) as usize;
            let level_start = self.elapsed & !(lrange - 1);
            let mut deadline = level_start + slot as u64 * srange;
            if deadline <= self.elapsed {
                deadline += lrange;
            }
            return Some((level, slot, deadline));
        }
        None
    }

    /// The tick at which the wheel next needs processing (a lower bound of the earliest
    /// deadline), or `u64::MAX` when empty.
    pub(crate) fn next_deadline(&self) -> u64 {
        self.next_expiration().map_or(u64::MAX, |(_, _, d)| d)
    }

    /// Processes the wheel up to tick `now`, appending every item due at or before `now`
    /// to `fired`.
    pub(crate) fn poll(&mut self, now: u64, fired: &mut Vec<T>) {
        while let Some((level, slot, deadline)) = self.next_expiration() {
            if deadline > now {
                break;
            }
            debug_assert!(deadline >= self.elapsed);
            self.elapsed = deadline;
            let lvl = &mut self.levels[level];
            lvl.occupied &= !(1 << slot);
            let items = std::mem::take(&mut lvl.slots[slot]);
            for (when, item) in items {
                if when <= deadline {
                    self.len -= 1;
                    fired.push(item);
                } else {
                    self.place(when, item);
                }
            }
        }
        if now > self.elapsed {
            self.elapsed = now;
        }
    }

    /// Whether the wheel doubled since the last [`retain`](Self::retain) (amortised pruning).
    pub(crate) fn should_prune(&self) -> bool {
        self.len >= self.prune_at
    }

    /// Keeps only the items for which `keep` returns true.
    pub(crate) fn retain(&mut self, mut keep: impl FnMut(&T) -> bool) {
        let mut len = 0;
        for lvl in &mut self.levels {
            for (i, slot) in lvl.slots.iter_mut().enumerate() {
                slot.retain(|(_, t)| keep(t));
                if slot.is_empty() {
                    lvl.occupied &= !(1 << i);
                }
                len += slot.len();
            }
        }
        self.len = len;
        self.prune_at = (2 * len).max(MIN_PRUNE);
    }

    /// Removes every item.
    pub(crate) fn drain(&mut self) -> Vec<T> {
        let mut out = Vec::with_capacity(self.len);
        for lvl in &mut self.levels {
            lvl.occupied = 0;
            for slot in &mut lvl.slots {
                out.extend(slot.drain(..).map(|(_, t)| t));
            }
        }
        self.len = 0;
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn fires_in_order_and_not_early() {
        let mut w = Wheel::new();
        for when in [5u64, 1, 64, 63, 4096, 70, 100_000] {
            w.insert(when, when).unwrap();
        }
        let mut fired = Vec::new();
        let mut now = 0;
        let mut order = Vec::new();
        while w.len() > 0 {
            now = w.next_deadline().max(now);
            fired.clear();
            w.poll(now, &mut fired);
            for &f in &fired {
                assert!(f <= now, "fired {f} early at {now}");
                order.push(f);
            }
        }
        assert_eq!(order, vec![1, 5, 63, 64, 70, 4096, 100_000]);
    }

    #[test]
    fn due_item_is_returned() {
        let mut w = Wheel::new();
        let mut fired = Vec::new();
        w.poll(10, &mut fired);
        assert_eq!(w.insert(10, 'a'), Err('a'));
        assert_eq!(w.insert(11, 'b'), Ok(()));
        assert_eq!(w.elapsed(), 10);
    }

    #[test]
    fn far_future_is_clamped_and_recascaded() {
        let mut w = Wheel::new();
        let far = MAX_DURATION * 3 + 17;
        w.insert(far, ()).unwrap();
        let mut fired = Vec::new();
        w.poll(far - 1, &mut fired);
        assert!(fired.is_empty());
        w.poll(far, &mut fired);
        assert_eq!(fired.len(), 1);
    }

    #[test]
    fn retain_and_drain() {
        let mut w = Wheel::new();
        for i in 1..100u64 {
            w.insert(i * 7, i).unwrap();
        }
        w.retain(|&i| i % 2 == 0);
        assert_eq!(w.len(), 49);
        assert_eq!(w.drain().len(), 49);
        assert_eq!(w.len(), 0);
        assert_eq!(w.next_deadline(), u64::MAX);
    }

    proptest! {
        /// Model test: against a sorted reference, every item fires exactly once, at or after
        /// its deadline, and no later than the first poll past it.
        #[test]
        fn matches_reference(ops in proptest::collection::vec((0u64..300_000, 0u64..5000), 1..60)) {
            let mut w = Wheel::new();
            let mut now = 0u64;
            let mut pending: Vec<(u64, usize)> = Vec::new();
            let mut fired = Vec::new();
            for (id, (delay, step)) in ops.into_iter().enumerate() {
                let when = now + delay;
                match w.insert(when, (when, id)) {
                    Ok(()) => pending.push((when, id)),
                    Err((when, _)) => prop_assert!(when <= now),
                }
                now += step;
                fired.clear();
                w.poll(now, &mut fired);
                for &(when, id) in &fired {
                    prop_assert!(when <= now);
                    let pos = pending.iter().position(|&(_, i)| i == id).expect("fired twice");
                    pending.swap_remove(pos);
                }
                for &(when, _) in &pending {
                    prop_assert!(when > now, "item due at {} not fired at {}", when, now);
                }
            }
            prop_assert_eq!(w.len(), pending.len());
        }
    }
}
