//! A pod's life as kubelet drives it: sandbox, containers, logs, exec,
//! statuses, stop, removal, and what must be gone afterwards.

use std::time::{Duration, Instant};

use k8s_cri::v1 as cri;

use crate::cri::{check, contains, eq, Cri, R};

/// Nothing of these containers is left on the host: no runtime state, no
/// cgroup, no process or mount naming them.
pub fn assert_nothing_left(c: &Cri, pod_config: &cri::PodSandboxConfig, ids: &[&str]) -> R<()> {
    // The shim reaps asynchronously: give it a moment.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let left = leftovers(c, pod_config, ids);
        if left.is_empty() {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!("left behind: {}", left.join("; ")));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn leftovers(c: &Cri, pod_config: &cri::PodSandboxConfig, ids: &[&str]) -> Vec<String> {
    let mut left = Vec::new();
    for id in ids {
        if c.state_root.join(id).exists() {
            left.push(format!("runtime state {}", c.state_root.join(id).display()));
        }
        let dir = c.cgroup_dir(pod_config, id);
        for h in std::fs::read_dir("/sys/fs/cgroup")
            .into_iter()
            .flatten()
            .flatten()
        {
            for base in [h.path(), "/sys/fs/cgroup".into()] {
                let d = base.join(&dir);
                if d.exists() {
                    left.push(format!("cgroup {}", d.display()));
                }
            }
        }
        for p in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
            if !p
                .file_name()
                .to_string_lossy()
                .bytes()
                .all(|b| b.is_ascii_digit())
            {
                continue;
            }
            let cmd = std::fs::read(p.path().join("cmdline")).unwrap_or_default();
            if String::from_utf8_lossy(&cmd).contains(id)
                && p.file_name() != std::process::id().to_string().as_str()
            {
                left.push(format!(
                    "process {} ({})",
                    p.file_name().to_string_lossy(),
                    String::from_utf8_lossy(&cmd).replace('\0', " ")
                ));
            }
        }
        let mi = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
        if let Some(l) = mi.lines().find(|l| l.contains(id)) {
            left.push(format!("mount {l}"));
        }
    }
    left.sort();
    left.dedup();
    left
}

pub async fn pod_and_container_basics(c: &mut Cri) -> R<()> {
    let host = c.work.join(format!("host-{}", c.handler));
    let (ro, rw) = (host.join("ro"), host.join("rw"));
    for d in [&ro, &rw] {
        std::fs::create_dir_all(d).map_err(|e| e.to_string())?;
    }
    std::fs::write(ro.join("f"), "from the host\n").map_err(|e| e.to_string())?;
    let _ = std::fs::remove_file(rw.join("out"));
    let pc = c.pod_config("basics");
    let pod = c.run_pod(&pc).await?;
    let st = c.pod_status(&pod).await?;
    eq(
        st.state,
        cri::PodSandboxState::SandboxReady as i32,
        "pod state",
    )?;
    let mut cc = c.container("main", &["sh", "-c"]);
    cc.args = vec!["echo FOO=$FOO; pwd; cat /ro/f; echo written >/rw/out; touch /ro/x 2>/dev/null || echo ro-refused".into()];
    cc.envs = vec![cri::KeyValue {
        key: "FOO".into(),
        value: "bar".into(),
    }];
    cc.working_dir = "/tmp".into();
    cc.mounts = vec![
        cri::Mount {
            container_path: "/ro".into(),
            host_path: ro.to_string_lossy().into(),
            readonly: true,
            ..Default::default()
        },
        cri::Mount {
            container_path: "/rw".into(),
            host_path: rw.to_string_lossy().into(),
            ..Default::default()
        },
    ];
    let id = c.run(&pod, &pc, cc).await?;
    let s = c.wait_exited(&id, 30).await?;
    eq(s.exit_code, 0, "exit code")?;
    eq(s.reason.as_str(), "Completed", "reason")?;
    let log = c.log(&pc, "main");
    eq(
        log.as_str(),
        "FOO=bar\n/tmp\nfrom the host\nro-refused",
        "the container's log",
    )?;
    eq(
        std::fs::read_to_string(rw.join("out"))
            .unwrap_or_default()
            .as_str(),
        "written\n",
        "file written through the rw hostPath",
    )?;
    c.remove_container(&id).await?;
    c.remove_pod(&pod).await?;
    assert_nothing_left(c, &pc, &[&id, &pod])
}

pub async fn exec_sync(c: &mut Cri) -> R<()> {
    let pc = c.pod_config("exec");
    let pod = c.run_pod(&pc).await?;
    let id = c
        .run(&pod, &pc, c.container("main", &["sleep", "1000"]))
        .await?;
    let r = c
        .exec(&id, &["sh", "-c", "echo out; echo err >&2; exit 3"], 10)
        .await?;
    eq(
        String::from_utf8_lossy(&r.stdout).as_ref(),
        "out\n",
        "stdout",
    )?;
    eq(
        String::from_utf8_lossy(&r.stderr).as_ref(),
        "err\n",
        "stderr",
    )?;
    eq(r.exit_code, 3, "exit code")?;
    // A command over its timeout: an error, and within a few seconds.
    let t = Instant::now();
    let r = c.exec(&id, &["sleep", "30"], 1).await;
    check(
        r.is_err() || r.as_ref().is_ok_and(|r| r.exit_code != 0),
        || format!("ExecSync past its timeout: {r:?}"),
    )?;
    check(t.elapsed() < Duration::from_secs(15), || {
        format!("ExecSync's timeout took {:?}", t.elapsed())
    })?;
    c.remove_pod(&pod).await?;
    assert_nothing_left(c, &pc, &[&id, &pod])
}

pub async fn exit_reasons(c: &mut Cri) -> R<()> {
    let pc = c.pod_config("reasons");
    let pod = c.run_pod(&pc).await?;
    let ok = c.run(&pod, &pc, c.container("ok", &["true"])).await?;
    let bad = c
        .run(&pod, &pc, c.container("bad", &["sh", "-c", "exit 7"]))
        .await?;
    let mut oom = c.container(
        "oom",
        &[
            "sh",
            "-c",
            "x=$(head -c 67108864 /dev/zero | tr '\\0' a); echo ${#x}",
        ],
    );
    if let Some(r) = oom.linux.as_mut().and_then(|l| l.resources.as_mut()) {
        r.memory_limit_in_bytes = 16 << 20;
        r.memory_swap_limit_in_bytes = 16 << 20;
    }
    let oom = c.run(&pod, &pc, oom).await?;
    let s = c.wait_exited(&ok, 30).await?;
    eq(
        (s.exit_code, s.reason.as_str()),
        (0, "Completed"),
        "a container that exits 0",
    )?;
    let s = c.wait_exited(&bad, 30).await?;
    eq(
        (s.exit_code, s.reason.as_str()),
        (7, "Error"),
        "a container that exits 7",
    )?;
    let s = c.wait_exited(&oom, 60).await?;
    eq(
        (s.exit_code, s.reason.as_str()),
        (137, "OOMKilled"),
        "a container over its memory limit",
    )?;
    c.remove_pod(&pod).await?;
    assert_nothing_left(c, &pc, &[&ok, &bad, &oom, &pod])
}

pub async fn stop_with_grace_period(c: &mut Cri) -> R<()> {
    let pc = c.pod_config("stop");
    let pod = c.run_pod(&pc).await?;
    let id = c
        .run(
            &pod,
            &pc,
            c.container(
                "stubborn",
                &[
                    "sh",
                    "-c",
                    "trap '' TERM; echo ready; while :; do sleep 1; done",
                ],
            ),
        )
        .await?;
    let deadline = Instant::now() + Duration::from_secs(20);
    while !c.log(&pc, "stubborn").contains("ready") && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let t = Instant::now();
    c.stop_container(&id, 2).await?;
    let took = t.elapsed();
    let (s, _) = c.status(&id).await?;
    eq(
        s.state,
        cri::ContainerState::ContainerExited as i32,
        "state after StopContainer",
    )?;
    eq(
        s.exit_code,
        137,
        "exit code (SIGKILL after the grace period)",
    )?;
    check(
        took >= Duration::from_secs(2) && took < Duration::from_secs(15),
        || format!("StopContainer with a 2 s grace period took {took:?}"),
    )?;
    c.remove_container(&id).await?;
    c.remove_pod(&pod).await?;
    assert_nothing_left(c, &pc, &[&id, &pod])
}

pub async fn refused_config_reaches_client(c: &mut Cri) -> R<()> {
    // A cpuset no machine here has: the runtime refuses it, its words
    // come back through containerd, and the pod still goes cleanly.
    let pc = c.pod_config("refused");
    let pod = c.run_pod(&pc).await?;
    let mut cc = c.container("refused", &["true"]);
    if let Some(r) = cc.linux.as_mut().and_then(|l| l.resources.as_mut()) {
        r.cpuset_cpus = "1000-1001".into();
    }
    let err = match c.create(&pod, &pc, cc).await {
        Err(e) => e,
        Ok(id) => match c.start(&id).await {
            Err(e) => e,
            Ok(()) => return Err("a container with cpuset 1000-1001 started".into()),
        },
    };
    if c.handler == "berth" {
        contains(&err, "linux.resources.cpu", "the error containerd returns")?;
    }
    c.remove_pod(&pod).await?;
    assert_nothing_left(c, &pc, &[&pod])
}
