//! Security settings of the container process. Capabilities live here;
//! seccomp and the LSMs (AppArmor, SELinux) come with the security issue
//! and are refused by `spec::validate` until then.

pub mod caps;
pub mod seccomp;
