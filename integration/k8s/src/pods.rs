//! What a pod shares: its process namespace (shareProcessNamespace),
//! IPC and UTS with the sandbox, and a network namespace of its own
//! through CNI (the loopback plugin).

use k8s_cri::v1 as cri;

use crate::cri::{check, contains, eq, Cri, R};
use crate::lifecycle::assert_nothing_left;

fn set_pid_mode(ns: &mut Option<cri::NamespaceOption>, mode: cri::NamespaceMode) {
    ns.get_or_insert_with(Default::default).pid = mode as i32;
}

pub async fn shared_process_namespace(c: &mut Cri) -> R<()> {
    let mut pc = c.pod_config("sharepid");
    if let Some(s) = pc.linux.as_mut().and_then(|l| l.security_context.as_mut()) {
        set_pid_mode(&mut s.namespace_options, cri::NamespaceMode::Pod);
    }
    let pod = c.run_pod(&pc).await?;
    let mut a = c.container("a", &["sleep", "1001"]);
    let mut b = c.container("b", &["sleep", "1002"]);
    for cc in [&mut a, &mut b] {
        if let Some(s) = cc.linux.as_mut().and_then(|l| l.security_context.as_mut()) {
            set_pid_mode(&mut s.namespace_options, cri::NamespaceMode::Pod);
        }
    }
    let a = c.run(&pod, &pc, a).await?;
    let b = c.run(&pod, &pc, b).await?;
    // b sees a's process and the sandbox's pause as pid 1.
    let procs = c
        .sh(
            &b,
            "for p in /proc/[0-9]*; do tr '\\0' ' ' <$p/cmdline; echo; done",
        )
        .await?;
    contains(
        &procs,
        "sleep 1001",
        "processes seen from the pod's second container",
    )?;
    eq(
        c.sh(&b, "tr '\\0' ' ' </proc/1/cmdline").await?,
        "/pause".into(),
        "pid 1 in a shared pod pid namespace",
    )?;
    c.remove_pod(&pod).await?;
    assert_nothing_left(c, &pc, &[&a, &b, &pod])
}

pub async fn ipc_and_uts_from_the_sandbox(c: &mut Cri) -> R<()> {
    let mut pc = c.pod_config("ipcuts");
    Cri::set_pod_network(&mut pc, "berth-pod");
    let pod = c.run_pod(&pc).await?;
    let a = c
        .run(&pod, &pc, c.container("a", &["sleep", "1000"]))
        .await?;
    let b = c
        .run(&pod, &pc, c.container("b", &["sleep", "1000"]))
        .await?;
    eq(
        c.sh(&a, "hostname").await?,
        "berth-pod".into(),
        "hostname from the pod",
    )?;
    let ipc_a = c.sh(&a, "readlink /proc/self/ns/ipc").await?;
    let ipc_b = c.sh(&b, "readlink /proc/self/ns/ipc").await?;
    eq(ipc_a.clone(), ipc_b, "the two containers' ipc namespaces")?;
    let host_ipc = std::fs::read_link("/proc/self/ns/ipc")
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_default();
    check(ipc_a != host_ipc, || {
        "the pod's ipc namespace is the host's".into()
    })?;
    c.remove_pod(&pod).await?;
    assert_nothing_left(c, &pc, &[&a, &b, &pod])
}

pub async fn pod_network_namespace(c: &mut Cri) -> R<()> {
    let mut pc = c.pod_config("netns");
    Cri::set_pod_network(&mut pc, "netns-pod");
    let pod = c.run_pod(&pc).await?;
    let mut cc = c.container("net", &["sleep", "1000"]);
    if let Some(s) = cc.linux.as_mut().and_then(|l| l.security_context.as_mut()) {
        s.namespace_options
            .get_or_insert_with(Default::default)
            .network = cri::NamespaceMode::Pod as i32;
    }
    let id = c.run(&pod, &pc, cc).await?;
    // The pod's own devices: CNI's loopback (up) and the network's eth0.
    let devs = c
        .sh(
            &id,
            "tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' ' | sort | tr '\\n' ' '",
        )
        .await?;
    eq(devs, "eth0 lo".into(), "network devices in the pod")?;
    let flags = c.sh(&id, "cat /sys/class/net/lo/flags").await?;
    check(
        u32::from_str_radix(flags.trim_start_matches("0x"), 16).unwrap_or(0) & 1 == 1,
        || format!("lo is not up (flags {flags})"),
    )?;
    let host_net = std::fs::read_link("/proc/self/ns/net")
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_default();
    check(
        c.sh(&id, "readlink /proc/self/ns/net").await? != host_net,
        || "the pod is in the host's network namespace".into(),
    )?;
    c.remove_pod(&pod).await?;
    assert_nothing_left(c, &pc, &[&id, &pod])
}
