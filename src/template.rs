//! The config.json that `berth spec` writes: a busybox-friendly default
//! shaped like runc's, and its `--rootless` variant. As runc's, it asks for
//! a cgroup namespace only on a pure cgroup v2 host (`cgroup_ns`).

use serde_json::{json, Value};

pub fn default_config(rootless: bool, cgroup_ns: bool) -> Value {
    let caps = json!(["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]);
    let mut mounts = vec![
        json!({"destination": "/proc", "type": "proc", "source": "proc"}),
        json!({"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
               "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]}),
        json!({"destination": "/dev/pts", "type": "devpts", "source": "devpts",
        "options": if rootless {
            json!(["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"])
        } else {
            json!(["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"])
        }}),
        json!({"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
               "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]}),
        json!({"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
               "options": ["nosuid", "noexec", "nodev"]}),
    ];
    if rootless {
        mounts.push(
            json!({"destination": "/sys", "type": "none", "source": "/sys",
                           "options": ["rbind", "nosuid", "noexec", "nodev", "ro"]}),
        );
    } else {
        mounts.push(
            json!({"destination": "/sys", "type": "sysfs", "source": "sysfs",
                           "options": ["nosuid", "noexec", "nodev", "ro"]}),
        );
    }
    mounts.push(
        json!({"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
                       "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]}),
    );
    let mut namespaces = vec![
        json!({"type": "pid"}),
        json!({"type": "ipc"}),
        json!({"type": "uts"}),
        json!({"type": "mount"}),
    ];
    if rootless {
        namespaces.push(json!({"type": "user"}));
    } else {
        namespaces.insert(1, json!({"type": "network"}));
    }
    if cgroup_ns {
        namespaces.push(json!({"type": "cgroup"}));
    }
    let mut linux = json!({
        "namespaces": namespaces,
        "maskedPaths": [
            "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
            "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware",
            "/proc/scsi"
        ],
        "readonlyPaths": [
            "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"
        ]
    });
    if rootless {
        // SAFETY: getuid/getgid cannot fail.
        let (uid, gid) = unsafe { (libc::getuid(), libc::getgid()) };
        linux["uidMappings"] = json!([{"containerID": 0, "hostID": uid, "size": 1}]);
        linux["gidMappings"] = json!([{"containerID": 0, "hostID": gid, "size": 1}]);
    } else {
        linux["resources"] = json!({"devices": [{"allow": false, "access": "rwm"}]});
    }
    json!({
        "ociVersion": crate::OCI_VERSION,
        "process": {
            "terminal": true,
            "user": {"uid": 0, "gid": 0},
            "args": ["sh"],
            "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"],
            "cwd": "/",
            "capabilities": {
                "bounding": caps, "effective": caps, "permitted": caps
            },
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
            "noNewPrivileges": true
        },
        "root": {"path": "rootfs", "readonly": true},
        "hostname": "berth",
        "mounts": mounts,
        "linux": linux
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_configs_parse_and_validate() {
        for (rootless, cgroup_ns) in [(false, false), (false, true), (true, false), (true, true)] {
            let raw = serde_json::to_vec(&default_config(rootless, cgroup_ns)).unwrap();
            let spec = crate::spec::parse(&raw, std::path::Path::new("config.json")).unwrap();
            crate::spec::validate(&spec).unwrap();
        }
    }
}
