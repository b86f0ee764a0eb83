//! An append-only list kept in chunks that never move: where a group keeps its children's
//! join handles, in spawn order, until `join` takes them.
//!
//! A `Vec` that grows by doubling copies every handle into a fresh, twice as large buffer at
//! each growth: for 100 000 children that is about 1 MB of copies and freshly mapped pages
//! (page faults) on the spawner's path. Here a full chunk stays where it is and a new one is
//! appended; chunks grow like a `Vec` would (4, 4, 8, 16, …) up to [`MAX_CHUNK`] items, so a
//! group with few children allocates no more than before, and a large one allocates fixed
//! chunks that are never copied.

use std::vec;

/// The first chunk's capacity.
const FIRST_CHUNK: usize = 4;

/// The largest chunk, in items (8 KiB of join handles).
const MAX_CHUNK: usize = 1024;

/// An append-only list of `H` in chunks; see the module docs.
pub(crate) struct Chunks<H> {
    chunks: Vec<Vec<H>>,
    len: usize,
}

impl<H> Chunks<H> {
    /// An empty list (allocates nothing).
    pub(crate) const fn new() -> Self {
        Chunks {
            chunks: Vec::new(),
            len: 0,
        }
    }

    /// Items in the list.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Whether the list is empty.
    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Appends `item` (into the last chunk, or a new one when it is full; nothing moves).
    #[inline]
    pub(crate) fn push(&mut self, item: H) {
        match self.chunks.last_mut() {
            Some(chunk) if chunk.len() < chunk.capacity() => chunk.push(item),
            _ => self.push_to_new_chunk(item),
        }
        self.len += 1;
    }

    /// Appends a chunk as large as the list so far (within `FIRST_CHUNK..=MAX_CHUNK`) and puts
    /// `item` in it.
    #[cold]
    fn push_to_new_chunk(&mut self, item: H) {
        let mut chunk = Vec::with_capacity(self.len.clamp(FIRST_CHUNK, MAX_CHUNK));
        chunk.push(item);
        self.chunks.push(chunk);
    }

    /// Takes the items out in order, freeing each chunk once it is drained.
    pub(crate) fn into_drain(self) -> Drain<H> {
        Drain {
            current: Vec::new().into_iter(),
            rest: self.chunks.into_iter(),
        }
    }
}

impl<H> Default for Chunks<H> {
    fn default() -> Self {
        Self::new()
    }
}

/// The items of a [`Chunks`] in order; the front one can be borrowed before it is taken.
pub(crate) struct Drain<H> {
    /// The chunk being drained.
    current: vec::IntoIter<H>,
    /// The chunks after it.
    rest: vec::IntoIter<Vec<H>>,
}

impl<H> Drain<H> {
    /// The next item, left in place (`None` once every item is taken).
    #[inline]
    pub(crate) fn front_mut(&mut self) -> Option<&mut H> {
        while self.current.as_slice().is_empty() {
            self.current = self.rest.next()?.into_iter();
        }
        self.current.as_mut_slice().first_mut()
    }
}

impl<H> Default for Drain<H> {
    fn default() -> Self {
        Chunks::new().into_drain()
    }
}

impl<H> Iterator for Drain<H> {
    type Item = H;

    #[inline]
    fn next(&mut self) -> Option<H> {
        loop {
            if let Some(item) = self.current.next() {
                return Some(item);
            }
            self.current = self.rest.next()?.into_iter();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_order_across_chunks() {
        for n in [0, 1, 3, 4, 5, 8, 9, 1000, 1024, 3000, 5000] {
            let mut list = Chunks::new();
            for i in 0..n {
                list.push(i);
            }
            assert_eq!(list.len(), n);
            assert_eq!(list.is_empty(), n == 0);
            let items: Vec<usize> = list.into_drain().collect();
            assert_eq!(items, (0..n).collect::<Vec<_>>());
        }
    }

    #[test]
    fn chunks_grow_then_stay_fixed_and_never_move() {
        let mut list = Chunks::new();
        let mut first_item = std::ptr::null();
        for i in 0..10_000usize {
            list.push(i);
            if i == 0 {
                first_item = &list.chunks[0][0] as *const usize;
            }
        }
        // The first item was never moved by later pushes.
        assert_eq!(&list.chunks[0][0] as *const usize, first_item);
        let caps: Vec<usize> = list.chunks.iter().map(|c| c.capacity()).collect();
        assert_eq!(caps[..4], [4, 4, 8, 16]);
        assert!(caps.iter().all(|&c| c <= MAX_CHUNK));
        assert_eq!(caps.iter().filter(|&&c| c == MAX_CHUNK).count(), 9);
    }

    #[test]
    fn front_mut_peeks_without_taking() {
        let mut list = Chunks::new();
        for i in 0..10 {
            list.push(i);
        }
        let mut drain = list.into_drain();
        let mut seen = Vec::new();
        while let Some(front) = drain.front_mut() {
            *front *= 10;
            let again = *drain.front_mut().unwrap();
            assert_eq!(drain.next(), Some(again));
            seen.push(again);
        }
        assert_eq!(seen, (0..10).map(|i| i * 10).collect::<Vec<_>>());
        assert_eq!(drain.next(), None);
        assert!(Drain::<u8>::default().front_mut().is_none());
    }

    #[test]
    fn drops_untaken_items() {
        let counter = std::sync::Arc::new(());
        let mut list = Chunks::new();
        for _ in 0..100 {
            list.push(counter.clone());
        }
        let mut drain = list.into_drain();
        drain.nth(49);
        assert_eq!(std::sync::Arc::strong_count(&counter), 51);
        drop(drain);
        assert_eq!(std::sync::Arc::strong_count(&counter), 1);
    }
}
