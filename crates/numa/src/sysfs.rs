//! The Linux sysfs backend: reads `devices/system/node` and `devices/system/cpu` under a root
//! directory (`/sys` on a live system, a captured tree in tests).
//!
//! What is read: `cpu/online`; `node/online`, `node/nodeN/{cpulist,distance,meminfo}`;
//! `cpu/cpuN/topology/core_cpus_list` (or the older `thread_siblings_list`) for cores;
//! `cpu/cpuN/cache/index*/{level,type,shared_cpu_list}` for L3 groups. Everything is restricted
//! to the allowed CPUs; nodes left without CPUs (memory-only nodes, or outside the affinity
//! mask) are dropped with their distance rows. Without a `node` directory (a kernel without
//! NUMA) all CPUs form node 0.

use crate::cpu_list::parse_cpu_list;
use crate::error::TopologyError;
use crate::spec::{LOCAL_DISTANCE, NodeSpec, TopologySpec};
use crate::topology::Topology;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Reads a topology from a sysfs tree.
///
/// ```
/// use nimsync_numa::SysfsReader;
/// let root = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/two-node");
/// let topo = SysfsReader::new(root).read()?;
/// assert_eq!(topo.node_count(), 2);
/// assert_eq!(topo.distance(0, 1)?, 21);
/// // Restricted to an affinity mask of CPUs 0 and 1 (both on node 0):
/// let topo = SysfsReader::new(root).allowed_cpus(vec![0, 1]).read()?;
/// assert_eq!(topo.node_count(), 1);
/// # Ok::<(), nimsync_numa::TopologyError>(())
/// ```
#[derive(Debug, Clone)]
pub struct SysfsReader {
    root: PathBuf,
    allowed: Option<Vec<usize>>,
}

impl SysfsReader {
    /// A reader of the tree under `root` (which contains `devices/system/...`), with every
    /// online CPU allowed.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        SysfsReader {
            root: root.into(),
            allowed: None,
        }
    }

    /// Restricts the topology to these CPUs (e.g. the process's affinity mask).
    pub fn allowed_cpus(mut self, cpus: Vec<usize>) -> Self {
        self.allowed = Some(cpus);
        self
    }

    /// Reads and validates the topology.
    pub fn read(&self) -> Result<Topology, TopologyError> {
        Topology::from_spec(self.read_spec()?)
    }

    fn system(&self) -> PathBuf {
        self.root.join("devices/system")
    }

    fn read_spec(&self) -> Result<TopologySpec, TopologyError> {
        let system = self.system();
        let online = read_cpu_list(&system.join("cpu/online"))?;
        let cpus: BTreeSet<usize> = match &self.allowed {
            Some(allowed) => online.into_iter().filter(|c| allowed.contains(c)).collect(),
            None => online.into_iter().collect(),
        };
        if cpus.is_empty() {
            return Err(TopologyError::NoAllowedCpu);
        }
        let node_dir = system.join("node");
        let (nodes, distances) = if node_dir.is_dir() {
            self.read_nodes(&node_dir, &cpus)?
        } else {
            let only = NodeSpec {
                id: 0,
                cpus: cpus.iter().copied().collect(),
                memory_bytes: None,
            };
            (vec![only], vec![vec![LOCAL_DISTANCE]])
        };
        let cores = self.read_cores(&cpus)?;
        let l3_groups = self.read_l3(&cpus)?;
        Ok(TopologySpec {
            nodes,
            distances: Some(distances),
            cores: Some(cores),
            l3_groups: Some(l3_groups),
        })
    }

    fn read_nodes(
        &self,
        node_dir: &Path,
        cpus: &BTreeSet<usize>,
    ) -> Result<(Vec<NodeSpec>, Vec<Vec<u32>>), TopologyError> {
        let online = read_cpu_list(&node_dir.join("online"))?;
        let mut all = Vec::with_capacity(online.len());
        let mut rows = Vec::with_capacity(online.len());
        for &id in &online {
            let dir = node_dir.join(format!("node{id}"));
            let node_cpus: Vec<usize> = read_cpu_list(&dir.join("cpulist"))?
                .into_iter()
                .filter(|c| cpus.contains(c))
                .collect();
            let path = dir.join("distance");
            let text = read(&path)?;
            let row: Vec<u32> = text
                .split_whitespace()
                .map(str::parse)
                .collect::<Result<_, _>>()
                .map_err(|_| parse_error(&path, &text))?;
            if row.len() != online.len() {
                return Err(parse_error(&path, &text));
            }
            all.push(NodeSpec {
                id,
                cpus: node_cpus,
                memory_bytes: read_mem_total(&dir.join("meminfo"))?,
            });
            rows.push(row);
        }
        // Keep nodes with allowed CPUs, and their rows/columns of the matrix.
        let keep: Vec<usize> = (0..all.len())
            .filter(|&i| !all[i].cpus.is_empty())
            .collect();
        if keep.is_empty() {
            return Err(TopologyError::NoAllowedCpu);
        }
        let distances = keep
            .iter()
            .map(|&i| keep.iter().map(|&j| rows[i][j]).collect())
            .collect();
        let nodes = keep.iter().map(|&i| all[i].clone()).collect();
        Ok((nodes, distances))
    }

    fn read_cores(&self, cpus: &BTreeSet<usize>) -> Result<Vec<Vec<usize>>, TopologyError> {
        let mut cores: Vec<Vec<usize>> = Vec::new();
        for &cpu in cpus {
            if cores.iter().any(|c| c.contains(&cpu)) {
                continue; // a sibling already listed this core: one read per core
            }
            let dir = self.system().join(format!("cpu/cpu{cpu}/topology"));
            let listed = match read_cpu_list_if_present(&dir.join("core_cpus_list"))? {
                Some(list) => Some(list),
                None => read_cpu_list_if_present(&dir.join("thread_siblings_list"))?,
            };
            // Unknown: the CPU becomes a one-PU core.
            let Some(list) = listed else { continue };
            let core: Vec<usize> = list.into_iter().filter(|c| cpus.contains(c)).collect();
            if !core.is_empty() {
                cores.push(core);
            }
        }
        Ok(cores)
    }

    fn read_l3(&self, cpus: &BTreeSet<usize>) -> Result<Vec<Vec<usize>>, TopologyError> {
        let mut groups: Vec<Vec<usize>> = Vec::new();
        for &cpu in cpus {
            if groups.iter().any(|g| g.contains(&cpu)) {
                continue; // one read per L3, not per CPU
            }
            let cache = self.system().join(format!("cpu/cpu{cpu}/cache"));
            let Some(dir) = self.find_l3(&cache)? else {
                continue; // no L3 information for this CPU
            };
            let group: Vec<usize> = read_cpu_list(&dir.join("shared_cpu_list"))?
                .into_iter()
                .filter(|c| cpus.contains(c))
                .collect();
            if !group.is_empty() {
                groups.push(group);
            }
        }
        Ok(groups)
    }

    /// The cache directory of the CPU's unified or data L3: `index3` on common machines
    /// (checked first, sysfs reads are not free), else the first `index*` of level 3.
    fn find_l3(&self, cache: &Path) -> Result<Option<PathBuf>, TopologyError> {
        let is_l3 = |dir: &Path| -> Result<bool, TopologyError> {
            Ok(read(&dir.join("level"))?.trim() == "3"
                && read(&dir.join("type"))?.trim() != "Instruction")
        };
        let common = cache.join("index3");
        if common.join("level").exists() && is_l3(&common)? {
            return Ok(Some(common));
        }
        let Ok(entries) = std::fs::read_dir(cache) else {
            return Ok(None);
        };
        for entry in entries.flatten() {
            let dir = entry.path();
            if entry.file_name().to_string_lossy().starts_with("index") && is_l3(&dir)? {
                return Ok(Some(dir));
            }
        }
        Ok(None)
    }
}

fn read(path: &Path) -> Result<String, TopologyError> {
    std::fs::read_to_string(path).map_err(|e| TopologyError::Io {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}

fn parse_error(path: &Path, text: &str) -> TopologyError {
    TopologyError::Parse {
        path: path.to_path_buf(),
        content: text.trim().chars().take(200).collect(),
    }
}

/// Like [`read_cpu_list`], with `None` when the file does not exist.
fn read_cpu_list_if_present(path: &Path) -> Result<Option<Vec<usize>>, TopologyError> {
    match std::fs::read_to_string(path) {
        Ok(text) => parse_cpu_list(&text)
            .map(Some)
            .ok_or_else(|| parse_error(path, &text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(TopologyError::Io {
            path: path.to_path_buf(),
            message: e.to_string(),
        }),
    }
}

fn read_cpu_list(path: &Path) -> Result<Vec<usize>, TopologyError> {
    let text = read(path)?;
    parse_cpu_list(&text).ok_or_else(|| parse_error(path, &text))
}

/// `Node N MemTotal:  5596960 kB` → bytes; `None` when the file is absent.
fn read_mem_total(path: &Path) -> Result<Option<u64>, TopologyError> {
    if !path.exists() {
        return Ok(None);
    }
    let text = read(path)?;
    for line in text.lines() {
        if let Some((_, rest)) = line.split_once("MemTotal:") {
            let kib = rest
                .trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<u64>()
                .map_err(|_| parse_error(path, line))?;
            return Ok(Some(kib * 1024));
        }
    }
    Err(parse_error(path, &text))
}
