//! Security settings of the container process: capabilities, seccomp and
//! the LSM labels (AppArmor, SELinux), which are written through a
//! verified procfs (procattr.rs).

pub mod apparmor;
pub mod caps;
pub mod procattr;
pub mod seccomp;
pub mod selinux;

use oci_spec::runtime::Process;

use crate::error::Result;

/// Request the process's LSM labels for its next execve. Done while berth
/// is still root with every capability and before seccomp: the writes use
/// open/write, which the container's filter may deny, and an unconfined
/// task may switch to any profile only before no_new_privs.
pub fn apply_lsm_labels(p: &Process) -> Result<()> {
    if let Some(profile) = p.apparmor_profile().as_deref().filter(|s| !s.is_empty()) {
        apparmor::apply_on_exec(profile, "process.apparmorProfile")?;
    }
    if let Some(label) = p.selinux_label().as_deref().filter(|s| !s.is_empty()) {
        selinux::apply_on_exec(label, "process.selinuxLabel")?;
    }
    Ok(())
}
