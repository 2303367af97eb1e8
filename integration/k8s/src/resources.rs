//! Resources as kubelet sets them, read back from the container's
//! cgroup; UpdateContainerResources; the stats calls.

use std::time::Duration;

use k8s_cri::v1 as cri;

use crate::cri::{check, eq, Cri, R};
use crate::lifecycle::assert_nothing_left;

fn v2() -> bool {
    std::path::Path::new("/sys/fs/cgroup/cgroup.controllers").exists()
}

/// 2 MiB huge pages, and a hugetlb controller containerd finds: a v1
/// hierarchy, or pure v2's. (On a hybrid host with hugetlb only on
/// cgroup2, containerd drops kubelet's hugepage limits.)
fn has_2m_hugepages() -> bool {
    let ctrl = std::path::Path::new("/sys/fs/cgroup/hugetlb").exists()
        || std::fs::read_to_string("/sys/fs/cgroup/cgroup.controllers")
            .is_ok_and(|s| s.contains("hugetlb"));
    ctrl && std::path::Path::new("/sys/kernel/mm/hugepages/hugepages-2048kB").exists()
}

pub async fn limits_update_and_stats(c: &mut Cri) -> R<()> {
    let pc = c.pod_config("resources");
    let pod = c.run_pod(&pc).await?;
    let mut cc = c.container(
        "limited",
        &[
            "sh",
            "-c",
            "i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done; exec sleep 1000",
        ],
    );
    let r = cc
        .linux
        .as_mut()
        .and_then(|l| l.resources.as_mut())
        .ok_or("no resources")?;
    r.cpu_period = 100_000;
    r.cpu_quota = 50_000;
    r.cpu_shares = 512;
    r.memory_limit_in_bytes = 64 << 20;
    r.cpuset_cpus = "0".into();
    r.oom_score_adj = 500;
    if has_2m_hugepages() {
        r.hugepage_limits = vec![cri::HugepageLimit {
            page_size: "2MB".into(),
            limit: 4 << 20,
        }];
    }
    let id = c.run(&pod, &pc, cc).await?;
    let f = |ctrl: &str, file: &str| c.cgroup_file(&pc, &id, ctrl, file);
    if v2() {
        eq(f("cpu", "cpu.max")?, "50000 100000".into(), "cpu.max")?;
        eq(
            f("memory", "memory.max")?,
            (64u64 << 20).to_string(),
            "memory.max",
        )?;
        eq(f("cpuset", "cpuset.cpus")?, "0".into(), "cpuset.cpus")?;
    } else {
        eq(
            f("cpu", "cpu.cfs_quota_us")?,
            "50000".into(),
            "cpu.cfs_quota_us",
        )?;
        eq(
            f("cpu", "cpu.cfs_period_us")?,
            "100000".into(),
            "cpu.cfs_period_us",
        )?;
        eq(f("cpu", "cpu.shares")?, "512".into(), "cpu.shares")?;
        eq(
            f("memory", "memory.limit_in_bytes")?,
            (64u64 << 20).to_string(),
            "memory.limit_in_bytes",
        )?;
        eq(f("cpuset", "cpuset.cpus")?, "0".into(), "cpuset.cpus")?;
    }
    if has_2m_hugepages() {
        // v1's file, or v2's (a hybrid host may have hugetlb on cgroup2).
        let limit = f("hugetlb", "hugetlb.2MB.limit_in_bytes")
            .or_else(|_| f("hugetlb", "hugetlb.2MB.max"))?;
        eq(limit, (4u64 << 20).to_string(), "the 2MB hugetlb limit")?;
    }
    let pid = c.pid(&id).await?;
    eq(
        std::fs::read_to_string(format!("/proc/{pid}/oom_score_adj"))
            .unwrap_or_default()
            .trim()
            .to_string(),
        "500".into(),
        "oom_score_adj",
    )?;

    // kubelet's in-place resize.
    c.rt.update_container_resources(cri::UpdateContainerResourcesRequest {
        container_id: id.clone(),
        linux: Some(cri::LinuxContainerResources {
            cpu_period: 100_000,
            cpu_quota: 20_000,
            cpu_shares: 256,
            memory_limit_in_bytes: 32 << 20,
            ..Default::default()
        }),
        ..Default::default()
    })
    .await
    .map_err(|s| format!("UpdateContainerResources: {}", s.message()))?;
    let f = |ctrl: &str, file: &str| c.cgroup_file(&pc, &id, ctrl, file);
    if v2() {
        eq(
            f("cpu", "cpu.max")?,
            "20000 100000".into(),
            "cpu.max after update",
        )?;
        eq(
            f("memory", "memory.max")?,
            (32u64 << 20).to_string(),
            "memory.max after update",
        )?;
    } else {
        eq(
            f("cpu", "cpu.cfs_quota_us")?,
            "20000".into(),
            "cpu.cfs_quota_us after update",
        )?;
        eq(
            f("cpu", "cpu.shares")?,
            "256".into(),
            "cpu.shares after update",
        )?;
        eq(
            f("memory", "memory.limit_in_bytes")?,
            (32u64 << 20).to_string(),
            "memory.limit_in_bytes after update",
        )?;
    }

    // Stats: the loop above used some CPU; memory is in use.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let s =
        c.rt.container_stats(cri::ContainerStatsRequest {
            container_id: id.clone(),
        })
        .await
        .map_err(|s| format!("ContainerStats: {}", s.message()))?
        .into_inner()
        .stats
        .ok_or("ContainerStats: no stats")?;
    let cpu = s
        .cpu
        .as_ref()
        .and_then(|c| c.usage_core_nano_seconds.as_ref())
        .map_or(0, |v| v.value);
    let mem = s
        .memory
        .as_ref()
        .and_then(|m| m.working_set_bytes.as_ref())
        .map_or(0, |v| v.value);
    check(cpu > 0, || format!("ContainerStats: cpu usage {cpu}"))?;
    check(mem > 0, || {
        format!("ContainerStats: memory working set {mem}")
    })?;
    let list =
        c.rt.list_container_stats(cri::ListContainerStatsRequest { filter: None })
            .await
            .map_err(|s| format!("ListContainerStats: {}", s.message()))?
            .into_inner()
            .stats;
    let mine = list
        .iter()
        .find(|s| s.attributes.as_ref().is_some_and(|a| a.id == id));
    check(
        mine.is_some_and(|s| s.cpu.is_some() && s.memory.is_some()),
        || format!("ListContainerStats has no cpu and memory for {id}"),
    )?;
    c.remove_pod(&pod).await?;
    assert_nothing_left(c, &pc, &[&id, &pod])
}
