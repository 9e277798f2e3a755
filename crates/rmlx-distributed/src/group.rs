//! Groups of processes: [`init`], [`Group`].

use crate::backend::Comm;
use rmlx_core::{Error, Result};
use std::fmt;
use std::sync::{Arc, Mutex, OnceLock};

/// A group of processes that communicate (MLX's `mx.distributed.Group`). Cloning is cheap.
#[derive(Clone)]
pub struct Group {
    pub(crate) comm: Option<Arc<Comm>>,
}

impl fmt::Debug for Group {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Group(rank={}, size={})", self.rank(), self.size())
    }
}

impl Group {
    /// The group of one process: what [`init`] gives without a backend.
    pub fn singleton() -> Group {
        Group { comm: None }
    }

    /// This process's rank in the group, `0..size`.
    pub fn rank(&self) -> usize {
        self.comm.as_ref().map_or(0, |c| c.rank())
    }

    /// The number of processes in the group.
    pub fn size(&self) -> usize {
        self.comm.as_ref().map_or(1, |c| c.size())
    }

    /// Splits the group (MLX's `Group.split(color, key=-1)`): processes passing the same `color`
    /// form a new group, ranked by `key` (by their rank here when `key` is `None`). Every process
    /// of the group must call it.
    pub fn split(&self, color: u32, key: Option<usize>) -> Result<Group> {
        match &self.comm {
            None => Ok(Group::singleton()),
            Some(c) => Ok(Group {
                comm: Some(Arc::new(c.split(color, key.unwrap_or(c.rank()))?)),
            }),
        }
    }
}

static WORLD: OnceLock<Group> = OnceLock::new();

/// Whether a communication backend is compiled in (the `mpi` feature).
pub fn is_available() -> bool {
    cfg!(feature = "mpi")
}

/// The group of every process (MLX's `mx.distributed.init()`): over MPI when the `mpi` feature
/// is on (a process started without `mpirun` is a group of its own), otherwise a group of size 1.
/// Later calls return the same group.
pub fn init() -> Result<Group> {
    if let Some(g) = WORLD.get() {
        return Ok(g.clone());
    }
    // one initialisation, whichever thread comes first
    static INIT: Mutex<()> = Mutex::new(());
    let _once = INIT.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(g) = WORLD.get() {
        return Ok(g.clone());
    }
    let g = match Comm::world()? {
        Some(c) => Group {
            comm: Some(Arc::new(c)),
        },
        None => Group::singleton(),
    };
    Ok(WORLD.get_or_init(|| g).clone())
}

/// [`init`], but an error when no backend is compiled in (MLX's `init(strict=True)`).
pub fn init_strict() -> Result<Group> {
    if !is_available() {
        return Err(Error::Value(
            "[distributed] Couldn't initialize any backend (build rmlx with the `mpi` feature)"
                .into(),
        ));
    }
    init()
}

/// `group`, or the world group.
pub(crate) fn resolve(group: Option<&Group>) -> Result<Group> {
    match group {
        Some(g) => Ok(g.clone()),
        None => init(),
    }
}
