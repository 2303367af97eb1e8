//! `pause` and `resume`: freeze or thaw every process in the container's
//! cgroup. Only a running container can be paused, only a paused one
//! resumed.

use super::{Container, Status};
use crate::cgroups::freezer::Freezer;
use crate::error::{Error, Result};
use crate::state::Root;

fn wrong(id: &str, status: Status, msg: &str) -> Error {
    Error::WrongState {
        id: id.into(),
        status: status.to_string(),
        msg: msg.into(),
    }
}

fn freezer_of(c: &Container, what: &str) -> Result<Freezer> {
    Freezer::of(&c.saved.cgroup)
        .map_err(|e| Error::Other(format!("cannot {what} container {:?}: {e}", c.saved.id)))
}

pub fn pause(root: &Root, id: &str) -> Result<()> {
    let c = Container::open(root, id)?;
    let status = c.status();
    if status != Status::Running {
        return Err(wrong(id, status, "only a running container can be paused"));
    }
    let f = freezer_of(&c, "pause")?;
    crate::logging::debug(&format!("pause {id}: freezing {f:?}"));
    f.freeze()
        .map_err(|e| Error::Other(format!("pause {id:?}: {e}")))
}

pub fn resume(root: &Root, id: &str) -> Result<()> {
    let c = Container::open(root, id)?;
    let status = c.status();
    if status != Status::Paused {
        return Err(wrong(id, status, "only a paused container can be resumed"));
    }
    let f = freezer_of(&c, "resume")?;
    crate::logging::debug(&format!("resume {id}: thawing {f:?}"));
    f.thaw()
        .map_err(|e| Error::Other(format!("resume {id:?}: {e}")))
}
