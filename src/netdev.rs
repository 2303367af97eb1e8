//! `linux.netDevices` (runtime-spec 1.2+): host network interfaces moved
//! into the container's network namespace at `create` (renamed to `name`
//! when given), and moved back to the host under their own names at
//! `delete`, where the container's namespace is still there to take them
//! from. Done with one rtnetlink message per device (RTM_NEWLINK with
//! IFLA_NET_NS_FD and IFLA_IFNAME), as `ip link set DEV netns NS name N`.

use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};

use oci_spec::runtime::{Linux, LinuxNamespaceType as T};

use crate::error::{Error, Result};

const FIELD: &str = "config.json: linux.netDevices";

/// One device: its name on the host and in the container.
#[derive(Debug, Clone, PartialEq)]
pub struct NetDevice {
    pub host: String,
    pub container: String,
}

/// The config's devices, checked: names the kernel takes, each present on
/// the host, and a network namespace for them to go to.
pub fn plan(linux: Option<&Linux>) -> Result<Vec<NetDevice>> {
    let Some(devs) = linux.and_then(|l| l.net_devices().as_ref()) else {
        return Ok(Vec::new());
    };
    if devs.is_empty() {
        return Ok(Vec::new());
    }
    let has_netns = linux
        .and_then(|l| l.namespaces().as_ref())
        .is_some_and(|ns| ns.iter().any(|n| n.typ() == T::Network));
    if !has_netns {
        return Err(Error::InvalidConfig(format!(
            "{FIELD}: needs a network namespace in linux.namespaces (the devices would stay on the host)"
        )));
    }
    let mut out: Vec<NetDevice> = Vec::new();
    let mut names: Vec<(&String, &oci_spec::runtime::LinuxNetDevice)> = devs.iter().collect();
    names.sort_by(|a, b| a.0.cmp(b.0));
    for (host, d) in names {
        let container = d
            .name()
            .clone()
            .filter(|n| !n.is_empty())
            .unwrap_or(host.clone());
        for n in [host, &container] {
            check_name(n)?;
        }
        if !std::path::Path::new("/sys/class/net").join(host).exists() {
            return Err(Error::InvalidConfig(format!(
                "{FIELD}: {host:?}: no such network device on this host"
            )));
        }
        if out.iter().any(|o| o.container == container) {
            return Err(Error::InvalidConfig(format!(
                "{FIELD}: two devices would be named {container:?} in the container"
            )));
        }
        out.push(NetDevice {
            host: host.clone(),
            container,
        });
    }
    Ok(out)
}

/// The devices of a config snapshot, for `delete`: the names only (the
/// host devices are gone from the host by then).
pub fn plan_saved(linux: Option<&Linux>) -> Result<Vec<NetDevice>> {
    let Some(devs) = linux.and_then(|l| l.net_devices().as_ref()) else {
        return Ok(Vec::new());
    };
    Ok(devs
        .iter()
        .map(|(host, d)| NetDevice {
            host: host.clone(),
            container: d
                .name()
                .clone()
                .filter(|n| !n.is_empty())
                .unwrap_or(host.clone()),
        })
        .collect())
}

fn check_name(n: &str) -> Result<()> {
    let ok = !n.is_empty()
        && n.len() < 16
        && n != "."
        && n != ".."
        && !n.contains(|c: char| c == '/' || c == ':' || c.is_whitespace());
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidConfig(format!(
            "{FIELD}: {n:?} is not a valid interface name (1-15 characters, no '/', ':' or spaces)"
        )))
    }
}

/// Move every device from the host into the network namespace of `pid`.
pub fn move_into(devs: &[NetDevice], pid: i32) -> Result<()> {
    if devs.is_empty() {
        return Ok(());
    }
    let ns = std::fs::File::open(format!("/proc/{pid}/ns/net")).map_err(|e| {
        Error::sys(
            format!("{FIELD}: open the container's network namespace"),
            e,
        )
    })?;
    let sock = netlink_socket()?;
    for d in devs {
        let index = if_index(&d.host)?;
        set_link_netns(&sock, index, ns.as_fd(), &d.container).map_err(|e| {
            Error::sys(
                format!(
                    "{FIELD}: move {} into the container as {}",
                    d.host, d.container
                ),
                e,
            )
        })?;
    }
    Ok(())
}

/// Move every device back from the namespace `ns` to ours, under its host
/// name. Returns the devices that could not be moved, with why.
pub fn move_back(devs: &[NetDevice], ns: &OwnedFd) -> Vec<String> {
    let mut failed = Vec::new();
    let own = match std::fs::File::open("/proc/self/ns/net") {
        Ok(f) => f,
        Err(e) => return vec![format!("open our network namespace: {e}")],
    };
    // A netlink socket lives in the namespace it was made in: make one in
    // the container's (where the devices are), then come back.
    if let Err(e) = nix::sched::setns(ns, nix::sched::CloneFlags::CLONE_NEWNET) {
        return vec![format!("enter the container's network namespace: {e}")];
    }
    let inside = netlink_socket();
    let indexes: Vec<_> = devs.iter().map(|d| if_index(&d.container)).collect();
    if let Err(e) = nix::sched::setns(&own, nix::sched::CloneFlags::CLONE_NEWNET) {
        return vec![format!("return to our network namespace: {e}")];
    }
    let sock = match inside {
        Ok(s) => s,
        Err(e) => return vec![e.to_string()],
    };
    for (d, index) in devs.iter().zip(indexes) {
        let moved = index.and_then(|i| {
            set_link_netns(&sock, i, own.as_fd(), &d.host)
                .map_err(|e| Error::sys(format!("move {} back as {}", d.container, d.host), e))
        });
        if let Err(e) = moved {
            failed.push(e.to_string());
        }
    }
    failed
}

fn if_index(name: &str) -> Result<u32> {
    let c = std::ffi::CString::new(name)
        .map_err(|_| Error::InvalidConfig(format!("{FIELD}: {name:?} has a NUL byte")))?;
    // SAFETY: a NUL-terminated name.
    let index = unsafe { libc::if_nametoindex(c.as_ptr()) };
    if index == 0 {
        return Err(Error::sys(
            format!("{FIELD}: network device {name}"),
            std::io::Error::last_os_error(),
        ));
    }
    Ok(index)
}

fn netlink_socket() -> Result<OwnedFd> {
    // SAFETY: socket(2) with constant arguments.
    let fd = unsafe {
        libc::socket(
            libc::AF_NETLINK,
            libc::SOCK_RAW | libc::SOCK_CLOEXEC,
            libc::NETLINK_ROUTE,
        )
    };
    if fd < 0 {
        return Err(Error::sys(
            "netlink socket",
            std::io::Error::last_os_error(),
        ));
    }
    // SAFETY: a new fd we own.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

const RTM_NEWLINK: u16 = 16;
const NLMSG_ERROR: u16 = 2;
const IFLA_IFNAME: u16 = 3;
const IFLA_NET_NS_FD: u16 = 28;

/// The bytes of one RTM_NEWLINK request: device `index` goes to the
/// namespace `ns_fd`, named `name` there.
fn setlink_message(index: u32, ns_fd: u32, name: &str) -> Vec<u8> {
    fn attr(out: &mut Vec<u8>, typ: u16, data: &[u8]) {
        let len = 4 + data.len();
        out.extend_from_slice(&(len as u16).to_ne_bytes());
        out.extend_from_slice(&typ.to_ne_bytes());
        out.extend_from_slice(data);
        while out.len() % 4 != 0 {
            out.push(0);
        }
    }
    let mut body = Vec::new();
    // struct ifinfomsg: family, pad, type, index, flags, change.
    body.extend_from_slice(&[libc::AF_UNSPEC as u8, 0, 0, 0]);
    body.extend_from_slice(&(index as i32).to_ne_bytes());
    body.extend_from_slice(&0u32.to_ne_bytes());
    body.extend_from_slice(&0u32.to_ne_bytes());
    attr(&mut body, IFLA_NET_NS_FD, &ns_fd.to_ne_bytes());
    let mut n = name.as_bytes().to_vec();
    n.push(0);
    attr(&mut body, IFLA_IFNAME, &n);
    let mut msg = Vec::with_capacity(16 + body.len());
    msg.extend_from_slice(&((16 + body.len()) as u32).to_ne_bytes());
    msg.extend_from_slice(&RTM_NEWLINK.to_ne_bytes());
    let flags = (libc::NLM_F_REQUEST | libc::NLM_F_ACK) as u16;
    msg.extend_from_slice(&flags.to_ne_bytes());
    msg.extend_from_slice(&1u32.to_ne_bytes()); // seq
    msg.extend_from_slice(&0u32.to_ne_bytes()); // pid: the kernel's
    msg.extend_from_slice(&body);
    msg
}

fn set_link_netns(
    sock: &OwnedFd,
    index: u32,
    ns: std::os::fd::BorrowedFd,
    name: &str,
) -> std::io::Result<()> {
    let msg = setlink_message(index, ns.as_raw_fd() as u32, name);
    // SAFETY: a valid socket and buffer; the kernel is the default peer.
    let sent = unsafe { libc::send(sock.as_raw_fd(), msg.as_ptr().cast(), msg.len(), 0) };
    if sent < 0 {
        return Err(std::io::Error::last_os_error());
    }
    let mut buf = [0u8; 4096];
    // SAFETY: receive into a local buffer of the size given.
    let n = unsafe { libc::recv(sock.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
    if n < 0 {
        return Err(std::io::Error::last_os_error());
    }
    let n = n as usize;
    if n >= 20 && u16::from_ne_bytes([buf[4], buf[5]]) == NLMSG_ERROR {
        let err = i32::from_ne_bytes([buf[16], buf[17], buf[18], buf[19]]);
        if err != 0 {
            return Err(std::io::Error::from_raw_os_error(-err));
        }
        return Ok(());
    }
    Err(std::io::Error::other("unexpected netlink answer"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_layout() {
        let m = setlink_message(7, 9, "eth1");
        assert_eq!(
            u32::from_ne_bytes(m[0..4].try_into().unwrap()) as usize,
            m.len()
        );
        assert_eq!(u16::from_ne_bytes([m[4], m[5]]), RTM_NEWLINK);
        // ifinfomsg index
        assert_eq!(i32::from_ne_bytes(m[20..24].try_into().unwrap()), 7);
        // first attribute: IFLA_NET_NS_FD = 9
        assert_eq!(u16::from_ne_bytes([m[34], m[35]]), IFLA_NET_NS_FD);
        assert_eq!(u32::from_ne_bytes(m[36..40].try_into().unwrap()), 9);
        // then IFLA_IFNAME "eth1\0", padded
        assert_eq!(u16::from_ne_bytes([m[42], m[43]]), IFLA_IFNAME);
        assert_eq!(&m[44..49], b"eth1\0");
        assert_eq!(m.len() % 4, 0);
    }

    #[test]
    fn names_checked() {
        assert!(check_name("eth0").is_ok());
        for bad in ["", "a/b", "x:y", "sixteen-chars-xx", ".."] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
    }
}
