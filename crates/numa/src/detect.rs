//! [`Topology::detect`]: the running machine's topology, restricted to the CPUs this process
//! may use.
//!
//! Backends: Linux sysfs (the default, [`SysfsReader`] on `/sys`); hwloc with the `hwloc`
//! feature (`Topology::detect_hwloc`); on other systems, one node holding
//! `available_parallelism()` CPUs numbered from 0. The backend is the one you call: nothing
//! switches backends behind your back.

use crate::affinity::process_allowed_cpus;
use crate::error::TopologyError;
use crate::sysfs::SysfsReader;
use crate::topology::Topology;

impl Topology {
    /// Detects the machine's topology, restricted to the process's CPU affinity mask
    /// (`taskset`, cgroup cpusets). On Linux it reads sysfs; elsewhere it returns one node of
    /// `available_parallelism()` CPUs. Each call reads the system afresh (see the `numa`
    /// benchmark for its cost); keep the result rather than calling it per operation.
    ///
    /// ```
    /// let topo = nimsync_numa::Topology::detect().expect("topology");
    /// assert!(topo.node_count() >= 1);
    /// assert!(!topo.cpus().is_empty());
    /// println!("{topo}");
    /// ```
    pub fn detect() -> Result<Topology, TopologyError> {
        if cfg!(target_os = "linux") {
            Self::detect_sysfs("/sys")
        } else {
            let n = std::thread::available_parallelism().map_or(1, |n| n.get());
            Topology::builder().node(0, 0..n).build()
        }
    }

    /// Reads the sysfs tree under `root` (normally `/sys`), restricted to the process's CPU
    /// affinity mask when the OS reports one.
    ///
    /// ```
    /// let root = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/one-node");
    /// // The captured machine has CPUs 0-1; this process may run on other CPUs.
    /// match nimsync_numa::Topology::detect_sysfs(root) {
    ///     Ok(topo) => assert_eq!(topo.node_count(), 1),
    ///     Err(e) => assert_eq!(e, nimsync_numa::TopologyError::NoAllowedCpu),
    /// }
    /// ```
    pub fn detect_sysfs(root: impl Into<std::path::PathBuf>) -> Result<Topology, TopologyError> {
        let mut reader = SysfsReader::new(root);
        if let Some(allowed) = process_allowed_cpus() {
            reader = reader.allowed_cpus(allowed);
        }
        reader.read()
    }
}
