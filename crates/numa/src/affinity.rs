//! The OS facts the topology and the channels need, without `unsafe` here: the process's CPU
//! affinity mask (`sched_getaffinity` on the process id, which honours `taskset` and cgroup
//! cpusets) and the CPU the calling thread runs on (`sched_getcpu`), both through `nix` on
//! Linux. Elsewhere neither is known.

/// CPUs the process may run on (the main thread's affinity mask), sorted; `None` where the OS
/// does not say.
///
/// ```
/// if let Some(cpus) = nimsync_numa::process_allowed_cpus() {
///     assert!(!cpus.is_empty());
/// }
/// ```
pub fn process_allowed_cpus() -> Option<Vec<usize>> {
    #[cfg(target_os = "linux")]
    {
        use nix::sched::{CpuSet, sched_getaffinity};
        let set = sched_getaffinity(nix::unistd::Pid::this()).ok()?;
        Some(
            (0..CpuSet::count())
                .filter(|&cpu| set.is_set(cpu).unwrap_or(false))
                .collect(),
        )
    }
    #[cfg(not(target_os = "linux"))]
    {
        None
    }
}

/// The CPU the calling thread is running on right now (it may migrate right after), or `None`
/// where the OS does not say. On Linux this is glibc's `sched_getcpu` (a few nanoseconds: it
/// reads the kernel-maintained rseq area or the vDSO).
///
/// ```
/// if let Some(cpu) = nimsync_numa::current_cpu() {
///     assert!(cpu < 1 << 16);
/// }
/// ```
#[inline]
pub fn current_cpu() -> Option<usize> {
    #[cfg(target_os = "linux")]
    {
        nix::sched::sched_getcpu().ok()
    }
    #[cfg(not(target_os = "linux"))]
    {
        None
    }
}
