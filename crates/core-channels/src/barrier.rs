//! Asymmetric memory barriers: a free one on the hot path, an expensive one on the waiting path.
//!
//! The waiter handshake (see `chan.rs`) is a Dekker pattern: the side that publishes a change
//! then checks for a waiter, and the waiter that registers then re-checks the change, each need
//! a store→load barrier between their two steps. A full fence per message is what made every
//! publish cost a locked instruction. The two sides are very unequal, though: publishing
//! happens for every message, registering a sleeper only when a side has nothing to do. So the
//! publishing side runs [`light`] (no instruction at all) and the registering side runs
//! [`heavy`], which on Linux is `membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED)`: the kernel
//! makes every running thread of the process execute a full barrier before the call returns,
//! which is exactly the missing half of each light barrier (liburcu, folly's
//! `asymmetricHeavyBarrier` and the JVM use the same system call for the same purpose).
//!
//! Where the system call is missing (other systems, old kernels, seccomp filters) there is no
//! asymmetric pair, and [`init`], which every channel constructor runs and which makes the
//! choice once per process, says so: the SPSC mode then runs on the sequence-stamped ring,
//! which publishes with a read-modify-write and needs no barrier of its own. So [`light`] is
//! only ever called by rings built after `init` reported the system call registered, and it is
//! a compiler-level ordering with no run-time check. Under `--cfg nimsync_loom` both halves
//! are `fence(SeqCst)`, which is the guarantee membarrier provides, so the loom models check
//! the handshake itself.
//!
//! # The compiler's half of the light barrier
//! The light side needs no instruction, only program order: the publishing store must be
//! emitted before the reads that follow it (the waiter word, the closed flag). A
//! `compiler_fence` gives that, but it also tells the compiler that any memory may have changed,
//! so every field of the handles and the ring was read again after each publish (measured:
//! about 1 % of a same-thread SPSC pair). So the reads that must follow a publish are
//! [`load_after_light`]: an `asm!` load declared `readonly` (it may read any memory, so every
//! earlier store is emitted before it; it writes none, so values stay in registers across it)
//! and not `pure` (it is never removed or merged). [`light`] marks the point and emits nothing.
//! That is x86_64 only; on aarch64 (`ldar` would do, but nothing here tests it) `light` stays
//! a compiler fence and the reads are plain SeqCst loads.

/// Linux on the two architectures whose `membarrier` system-call number is spelled out below.
#[cfg(all(
    target_os = "linux",
    any(target_arch = "x86_64", target_arch = "aarch64"),
    not(nimsync_loom)
))]
mod imp {
    use core::ffi::{c_int, c_long, c_uint};
    #[cfg(not(target_arch = "x86_64"))]
    use core::sync::atomic::compiler_fence;
    use core::sync::atomic::{AtomicU8, AtomicUsize, Ordering, fence};

    const UNKNOWN: u8 = 0;
    const AVAILABLE: u8 = 1;
    const UNAVAILABLE: u8 = 2;

    /// `__NR_membarrier` (`asm/unistd_64.h`; `asm-generic/unistd.h` on aarch64).
    #[cfg(target_arch = "x86_64")]
    const SYS_MEMBARRIER: c_long = 324;
    #[cfg(target_arch = "aarch64")]
    const SYS_MEMBARRIER: c_long = 283;

    // From `linux/membarrier.h`.
    const MEMBARRIER_CMD_QUERY: c_int = 0;
    const MEMBARRIER_CMD_PRIVATE_EXPEDITED: c_int = 1 << 3;
    const MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED: c_int = 1 << 4;

    unsafe extern "C" {
        /// The C library's variadic system-call entry (glibc and musl both export it); std
        /// links the C library on Linux already, so this adds no dependency.
        fn syscall(number: c_long, ...) -> c_long;
    }

    static STATE: AtomicU8 = AtomicU8::new(UNKNOWN);

    fn membarrier(cmd: c_int) -> c_long {
        // SAFETY: `membarrier(int cmd, unsigned int flags, int cpu_id)` takes integers only and
        // touches no user memory; an unsupported command or a kernel without the call returns
        // -1 with errno set, which the callers treat as "unavailable".
        unsafe { syscall(SYS_MEMBARRIER, cmd, 0 as c_uint, 0 as c_int) }
    }

    /// Decides, once per process, whether the heavy barrier is the system call.
    #[cold]
    fn probe() -> u8 {
        let supported = membarrier(MEMBARRIER_CMD_QUERY);
        let state = if supported >= 0
            && supported & c_long::from(MEMBARRIER_CMD_PRIVATE_EXPEDITED) != 0
            && membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) == 0
        {
            AVAILABLE
        } else {
            UNAVAILABLE
        };
        // Registration happened before this store: a thread that reads AVAILABLE may issue the
        // expedited command.
        STATE.store(state, Ordering::Release);
        state
    }

    /// Makes the choice before the first channel exists; `true` if the asymmetric pair is
    /// available (the process is registered for the expedited system call).
    #[inline]
    pub(crate) fn init() -> bool {
        let state = match STATE.load(Ordering::Acquire) {
            UNKNOWN => probe(),
            known => known,
        };
        state == AVAILABLE
    }

    /// The publishing side's half. Only for rings built after [`init`] returned `true`: the
    /// registration happened before the ring existed, so every later `heavy` is the system
    /// call, which supplies the full barrier this side omits. On x86_64 it emits nothing: the
    /// reads it orders after the publish are [`load_after_light`]s (see the module doc).
    #[inline(always)]
    pub(crate) fn light() {
        #[cfg(not(target_arch = "x86_64"))]
        compiler_fence(Ordering::SeqCst);
    }

    /// A SeqCst load of `word` that stays after every earlier store of this thread in program
    /// order: a read that follows a [`light`] barrier (and the waiter word after any publish).
    #[inline(always)]
    pub(crate) fn load_after_light(word: &AtomicUsize) -> usize {
        #[cfg(target_arch = "x86_64")]
        {
            let value: usize;
            // SAFETY: one aligned word-sized load of an atomic that `word` keeps alive, with
            // the instruction the compiler emits for a SeqCst load on x86_64 (`mov`), so it is
            // an atomic read. `readonly` and not `pure`: see the module doc.
            unsafe {
                core::arch::asm!(
                    "mov {value}, qword ptr [{word}]",
                    word = in(reg) word.as_ptr(),
                    value = lateout(reg) value,
                    options(nostack, readonly, preserves_flags),
                );
            }
            value
        }
        // Elsewhere (aarch64) `light` is a compiler fence, which keeps this load after the
        // publish.
        #[cfg(not(target_arch = "x86_64"))]
        word.load(Ordering::SeqCst)
    }

    /// The waiting side's half.
    #[inline]
    pub(crate) fn heavy() {
        match STATE.load(Ordering::Acquire) {
            AVAILABLE => {
                if membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED) != 0 {
                    // Cannot fail once registered; if it ever does, a light barrier running
                    // concurrently may be unpaired, which no fallback here can repair.
                    std::process::abort();
                }
            }
            _ => fence(Ordering::SeqCst),
        }
    }
}

#[cfg(not(all(
    target_os = "linux",
    any(target_arch = "x86_64", target_arch = "aarch64"),
    not(nimsync_loom)
)))]
mod imp {
    #[cfg(not(nimsync_loom))]
    use core::sync::atomic::{Ordering, fence};
    #[cfg(nimsync_loom)]
    use loom::sync::atomic::{Ordering, fence};

    /// `true` under loom (both halves are full fences there, so the pair holds); `false`
    /// elsewhere: no system call, so no asymmetric ring is built.
    #[inline]
    pub(crate) fn init() -> bool {
        cfg!(nimsync_loom)
    }

    /// The publishing side's half: a full fence (only loom models reach it).
    #[inline(always)]
    pub(crate) fn light() {
        fence(Ordering::SeqCst);
    }

    /// A SeqCst load (a full fence orders it where [`light`] is one).
    #[inline(always)]
    pub(crate) fn load_after_light(word: &crate::sync::AtomicUsize) -> usize {
        word.load(Ordering::SeqCst)
    }

    /// The waiting side's half.
    #[inline]
    pub(crate) fn heavy() {
        fence(Ordering::SeqCst);
    }
}

pub(crate) use imp::{heavy, init, light, load_after_light};
