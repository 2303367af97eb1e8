//! Security settings of the container process: capabilities and seccomp.
//! The LSMs (AppArmor, SELinux) come with the security issue and are
//! refused by `spec::validate` until then.

pub mod caps;
pub mod seccomp;
