//! Security contexts as kubelet sends them: users and groups, read-only
//! root, capabilities, privileged, no_new_privs, seccomp, masked and
//! read-only paths.

use k8s_cri::v1 as cri;

use crate::cri::{check, contains, eq, Cri, R};
use crate::lifecycle::assert_nothing_left;

/// kubelet's default masked and read-only paths (what the API server's
/// default proc mount gives every unprivileged container).
const MASKED: &[&str] = &[
    "/proc/asound",
    "/proc/acpi",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/sys/firmware",
];
const READONLY: &[&str] = &[
    "/proc/bus",
    "/proc/fs",
    "/proc/irq",
    "/proc/sys",
    "/proc/sysrq-trigger",
];

fn security(cc: &mut cri::ContainerConfig) -> &mut cri::LinuxContainerSecurityContext {
    cc.linux
        .get_or_insert_with(Default::default)
        .security_context
        .get_or_insert_with(Default::default)
}

fn profile(kind: cri::security_profile::ProfileType, path: &str) -> Option<cri::SecurityProfile> {
    Some(cri::SecurityProfile {
        profile_type: kind as i32,
        localhost_ref: path.into(),
    })
}

/// A field of /proc/self/status, as the container sees it.
async fn status_field(c: &mut Cri, id: &str, field: &str) -> R<String> {
    c.sh(id, &format!("grep '^{field}:' /proc/self/status | cut -f2"))
        .await
}

pub async fn users_groups_readonly_caps_nnp(c: &mut Cri) -> R<()> {
    let pc = c.pod_config("security");
    let pod = c.run_pod(&pc).await?;
    let mut cc = c.container("restricted", &["sleep", "1000"]);
    let s = security(&mut cc);
    s.run_as_user = Some(cri::Int64Value { value: 1000 });
    s.run_as_group = Some(cri::Int64Value { value: 1001 });
    s.supplemental_groups = vec![2000, 3000];
    s.readonly_rootfs = true;
    s.no_new_privs = true;
    s.capabilities = Some(cri::Capability {
        add_capabilities: vec!["NET_ADMIN".into()],
        drop_capabilities: vec!["ALL".into()],
        ..Default::default()
    });
    s.masked_paths = MASKED.iter().map(|s| s.to_string()).collect();
    s.readonly_paths = READONLY.iter().map(|s| s.to_string()).collect();
    s.seccomp = profile(cri::security_profile::ProfileType::RuntimeDefault, "");
    let id = c.run(&pod, &pc, cc).await?;
    eq(
        c.sh(&id, "id -u; id -g").await?,
        "1000\n1001".into(),
        "uid and gid",
    )?;
    let groups = c.sh(&id, "id -G").await?;
    contains(&groups, "2000", "groups")?;
    contains(&groups, "3000", "groups")?;
    let r = c.exec(&id, &["touch", "/rootfs-file"], 10).await?;
    contains(
        &String::from_utf8_lossy(&r.stderr),
        "Read-only file system",
        "touch on the read-only root",
    )?;
    // CAP_NET_ADMIN (12) alone, in the bounding set too (it is a non-root
    // user: effective stays empty, as kubelet's users see it).
    eq(
        status_field(c, &id, "CapBnd").await?,
        "0000000000001000".into(),
        "CapBnd",
    )?;
    eq(
        status_field(c, &id, "NoNewPrivs").await?,
        "1".into(),
        "NoNewPrivs",
    )?;
    eq(
        status_field(c, &id, "Seccomp").await?,
        "2".into(),
        "Seccomp (RuntimeDefault)",
    )?;
    // Masked files read as empty (those this kernel has).
    let sizes = c.sh(&id, "for f in /proc/keys /proc/timer_list /proc/sched_debug /proc/kcore; do [ -e $f ] && wc -c <$f; done; true").await?;
    check(
        !sizes.is_empty() && sizes.lines().all(|l| l.trim() == "0"),
        || format!("sizes of masked /proc files: {sizes:?}"),
    )?;
    let r = c
        .exec(
            &id,
            &[
                "sh",
                "-c",
                "d=$(cat /proc/sys/kernel/domainname); echo $d >/proc/sys/kernel/domainname",
            ],
            10,
        )
        .await?;
    contains(
        &String::from_utf8_lossy(&r.stderr),
        "Read-only file system",
        "writing under read-only /proc/sys",
    )?;
    c.remove_pod(&pod).await?;
    assert_nothing_left(c, &pc, &[&id, &pod])
}

pub async fn privileged(c: &mut Cri) -> R<()> {
    let mut pc = c.pod_config("privileged");
    if let Some(s) = pc.linux.as_mut().and_then(|l| l.security_context.as_mut()) {
        s.privileged = true;
    }
    let pod = c.run_pod(&pc).await?;
    let mut cc = c.container("priv", &["sleep", "1000"]);
    security(&mut cc).privileged = true;
    let id = c.run(&pod, &pc, cc).await?;
    let host_bnd = std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("CapBnd:").map(|v| v.trim().to_string()))
        .unwrap_or_default();
    eq(
        status_field(c, &id, "CapEff").await?,
        host_bnd,
        "CapEff of a privileged container (the host's bounding set)",
    )?;
    eq(
        status_field(c, &id, "Seccomp").await?,
        "0".into(),
        "Seccomp of a privileged container",
    )?;
    // Every host device, not the default few.
    let n: usize = c
        .sh(&id, "ls /dev | wc -l")
        .await?
        .trim()
        .parse()
        .unwrap_or(0);
    check(n > 20, || {
        format!("{n} entries in a privileged container's /dev")
    })?;
    c.remove_pod(&pod).await?;
    assert_nothing_left(c, &pc, &[&id, &pod])
}

pub async fn seccomp_unconfined_and_localhost(c: &mut Cri) -> R<()> {
    let profile_path = c.work.join("deny-mkdir.json");
    std::fs::write(
        &profile_path,
        r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]}"#,
    )
    .map_err(|e| e.to_string())?;
    let pc = c.pod_config("seccomp");
    let pod = c.run_pod(&pc).await?;
    let mut free = c.container("unconfined", &["sleep", "1000"]);
    security(&mut free).seccomp = profile(cri::security_profile::ProfileType::Unconfined, "");
    let free = c.run(&pod, &pc, free).await?;
    let mut local = c.container("localhost", &["sleep", "1000"]);
    security(&mut local).seccomp = profile(
        cri::security_profile::ProfileType::Localhost,
        &profile_path.to_string_lossy(),
    );
    let local = c.run(&pod, &pc, local).await?;
    eq(
        status_field(c, &free, "Seccomp").await?,
        "0".into(),
        "Seccomp (Unconfined)",
    )?;
    eq(
        status_field(c, &local, "Seccomp").await?,
        "2".into(),
        "Seccomp (Localhost)",
    )?;
    let r = c.exec(&local, &["mkdir", "/tmp/d"], 10).await?;
    contains(
        &String::from_utf8_lossy(&r.stderr),
        "Operation not permitted",
        "mkdir under the localhost profile",
    )?;
    eq(
        c.sh(&free, "mkdir /tmp/d && echo made").await?,
        "made".into(),
        "mkdir unconfined",
    )?;
    c.remove_pod(&pod).await?;
    assert_nothing_left(c, &pc, &[&free, &local, &pod])
}
