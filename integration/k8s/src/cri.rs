//! A small kubelet: the CRI calls the scenarios make, and the pod and
//! container configs as kubelet fills them in.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use hyper_util::rt::TokioIo;
use k8s_cri::v1 as cri;
use k8s_cri::v1::runtime_service_client::RuntimeServiceClient;
use tonic::transport::{Channel, Endpoint, Uri};

pub type R<T> = Result<T, String>;

/// The label on every pod the tests make, for the clean-up.
pub const LABEL: &str = "berth-cri-test";

pub struct Cri {
    pub rt: RuntimeServiceClient<Channel>,
    /// The runtime handler under test (`berth`, or `runc` as the control).
    pub handler: String,
    /// The busybox image's reference.
    pub image: String,
    /// Pods' cgroup parents go below this (cgroupfs driver), or
    /// "systemd": pods get kubelet's slices (`SystemdCgroup = true`).
    pub cg_prefix: String,
    /// Host directories of the scenarios (logs, hostPath mounts).
    pub work: PathBuf,
    /// The runtime's --root as the shim passes it: state left there after
    /// a pod is removed is a leak.
    pub state_root: PathBuf,
    seq: u32,
}

pub async fn connect(socket: &str) -> R<Channel> {
    let path = socket.to_string();
    Endpoint::try_from("http://[::]:0")
        .map_err(|e| e.to_string())?
        .connect_with_connector(tower::service_fn(move |_: Uri| {
            let path = path.clone();
            async move {
                Ok::<_, std::io::Error>(TokioIo::new(tokio::net::UnixStream::connect(path).await?))
            }
        }))
        .await
        .map_err(|e| format!("connect to {socket}: {e}"))
}

fn status_text(s: tonic::Status) -> String {
    format!("{:?}: {}", s.code(), s.message())
}

impl Cri {
    pub fn new(
        rt: RuntimeServiceClient<Channel>,
        handler: &str,
        image: &str,
        cg_prefix: &str,
        work: &Path,
        state_root: &Path,
    ) -> Cri {
        Cri {
            rt,
            handler: handler.into(),
            image: image.into(),
            cg_prefix: cg_prefix.into(),
            work: work.into(),
            state_root: state_root.into(),
            seq: 0,
        }
    }

    /// A pod as kubelet configures one: host network (unless changed),
    /// its own cgroup parent, a log directory.
    pub fn pod_config(&mut self, name: &str) -> cri::PodSandboxConfig {
        self.seq += 1;
        let uid = format!("{}-{}-{}", self.handler, name, self.seq);
        let logs = self.work.join("logs").join(&uid);
        let _ = std::fs::create_dir_all(&logs);
        cri::PodSandboxConfig {
            metadata: Some(cri::PodSandboxMetadata {
                name: format!("{name}-{}", self.seq),
                uid: uid.clone(),
                namespace: "berth-test".into(),
                attempt: 0,
            }),
            // kubelet names only pods off the host's network (which share
            // the host's UTS namespace); set_pod_network gives one.
            hostname: String::new(),
            log_directory: logs.to_string_lossy().into(),
            labels: HashMap::from([(LABEL.to_string(), "1".to_string())]),
            linux: Some(cri::LinuxPodSandboxConfig {
                cgroup_parent: self.pod_cgroup_parent(&uid),
                security_context: Some(cri::LinuxSandboxSecurityContext {
                    namespace_options: Some(cri::NamespaceOption {
                        network: cri::NamespaceMode::Node as i32,
                        pid: cri::NamespaceMode::Container as i32,
                        ipc: cri::NamespaceMode::Pod as i32,
                        ..Default::default()
                    }),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    fn systemd(&self) -> bool {
        self.cg_prefix == "systemd"
    }

    /// A pod's cgroup parent as kubelet writes it: a path under the test
    /// prefix, or with the systemd driver the pod's slice below
    /// kubepods.slice (a '-' in the uid is '_' there, as kubelet escapes
    /// it).
    fn pod_cgroup_parent(&self, uid: &str) -> String {
        if self.systemd() {
            format!("kubepods-besteffort-pod{}.slice", uid.replace('-', "_"))
        } else {
            format!("{}/{uid}", self.cg_prefix)
        }
    }

    /// Container `id`'s cgroup directory below a hierarchy's root:
    /// PARENT/ID, or with the systemd driver containerd's scope
    /// `cri-containerd-ID.scope` in the pod's slice.
    pub fn cgroup_dir(&self, pod_config: &cri::PodSandboxConfig, id: &str) -> String {
        let parent = pod_config
            .linux
            .as_ref()
            .map(|l| l.cgroup_parent.clone())
            .unwrap_or_default();
        if !self.systemd() {
            return format!("{}/{id}", parent.trim_start_matches('/'));
        }
        // a-b-c.slice lives at a.slice/a-b.slice/a-b-c.slice.
        let stem = parent.trim_end_matches(".slice");
        let mut dirs = Vec::new();
        let mut prefix = String::new();
        for part in stem.split('-') {
            if !prefix.is_empty() {
                prefix.push('-');
            }
            prefix.push_str(part);
            dirs.push(format!("{prefix}.slice"));
        }
        format!("{}/cri-containerd-{id}.scope", dirs.join("/"))
    }

    /// Put a pod (and later its containers) on a network namespace of its
    /// own, through CNI, with a hostname of its own.
    pub fn set_pod_network(pod: &mut cri::PodSandboxConfig, hostname: &str) {
        pod.hostname = hostname.into();
        if let Some(s) = pod.linux.as_mut().and_then(|l| l.security_context.as_mut()) {
            s.namespace_options
                .get_or_insert_with(Default::default)
                .network = cri::NamespaceMode::Pod as i32;
        }
    }

    /// A container of the busybox image running `argv`, its log in the
    /// pod's log directory as `name.log`.
    pub fn container(&self, name: &str, argv: &[&str]) -> cri::ContainerConfig {
        cri::ContainerConfig {
            metadata: Some(cri::ContainerMetadata {
                name: name.into(),
                attempt: 0,
            }),
            image: Some(cri::ImageSpec {
                image: self.image.clone(),
                ..Default::default()
            }),
            command: argv.iter().map(|s| s.to_string()).collect(),
            log_path: format!("{name}.log"),
            linux: Some(cri::LinuxContainerConfig {
                resources: Some(cri::LinuxContainerResources::default()),
                security_context: Some(cri::LinuxContainerSecurityContext {
                    namespace_options: Some(cri::NamespaceOption {
                        network: cri::NamespaceMode::Node as i32,
                        pid: cri::NamespaceMode::Container as i32,
                        ipc: cri::NamespaceMode::Pod as i32,
                        ..Default::default()
                    }),
                    ..Default::default()
                }),
            }),
            ..Default::default()
        }
    }

    pub async fn run_pod(&mut self, config: &cri::PodSandboxConfig) -> R<String> {
        let r = self
            .rt
            .run_pod_sandbox(cri::RunPodSandboxRequest {
                config: Some(config.clone()),
                runtime_handler: self.handler.clone(),
            })
            .await
            .map_err(|s| format!("RunPodSandbox: {}", status_text(s)))?;
        Ok(r.into_inner().pod_sandbox_id)
    }

    pub async fn pod_status(&mut self, id: &str) -> R<cri::PodSandboxStatus> {
        self.rt
            .pod_sandbox_status(cri::PodSandboxStatusRequest {
                pod_sandbox_id: id.into(),
                verbose: false,
            })
            .await
            .map_err(|s| format!("PodSandboxStatus: {}", status_text(s)))?
            .into_inner()
            .status
            .ok_or_else(|| "PodSandboxStatus: no status".into())
    }

    pub async fn create(
        &mut self,
        pod: &str,
        pod_config: &cri::PodSandboxConfig,
        config: cri::ContainerConfig,
    ) -> R<String> {
        let r = self
            .rt
            .create_container(cri::CreateContainerRequest {
                pod_sandbox_id: pod.into(),
                config: Some(config),
                sandbox_config: Some(pod_config.clone()),
            })
            .await
            .map_err(|s| format!("CreateContainer: {}", status_text(s)))?;
        Ok(r.into_inner().container_id)
    }

    pub async fn start(&mut self, id: &str) -> R<()> {
        self.rt
            .start_container(cri::StartContainerRequest {
                container_id: id.into(),
            })
            .await
            .map_err(|s| format!("StartContainer: {}", status_text(s)))?;
        Ok(())
    }

    /// Create and start.
    pub async fn run(
        &mut self,
        pod: &str,
        pod_config: &cri::PodSandboxConfig,
        config: cri::ContainerConfig,
    ) -> R<String> {
        let id = self.create(pod, pod_config, config).await?;
        self.start(&id).await?;
        Ok(id)
    }

    pub async fn status(&mut self, id: &str) -> R<(cri::ContainerStatus, HashMap<String, String>)> {
        let r = self
            .rt
            .container_status(cri::ContainerStatusRequest {
                container_id: id.into(),
                verbose: true,
            })
            .await
            .map_err(|s| format!("ContainerStatus: {}", status_text(s)))?
            .into_inner();
        Ok((r.status.ok_or("ContainerStatus: no status")?, r.info))
    }

    /// The container's init pid on the host (from the verbose status).
    pub async fn pid(&mut self, id: &str) -> R<i32> {
        let (_, info) = self.status(id).await?;
        let v: serde_json::Value = serde_json::from_str(info.get("info").ok_or("no verbose info")?)
            .map_err(|e| e.to_string())?;
        v["pid"]
            .as_i64()
            .map(|p| p as i32)
            .ok_or_else(|| format!("no pid in {v}"))
    }

    /// Wait for the container to exit; its status then.
    pub async fn wait_exited(&mut self, id: &str, secs: u64) -> R<cri::ContainerStatus> {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let (s, _) = self.status(id).await?;
            if s.state == cri::ContainerState::ContainerExited as i32 {
                return Ok(s);
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "container {id} still in state {} after {secs} s",
                    s.state
                ));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    pub async fn exec(&mut self, id: &str, cmd: &[&str], timeout: i64) -> R<cri::ExecSyncResponse> {
        Ok(self
            .rt
            .exec_sync(cri::ExecSyncRequest {
                container_id: id.into(),
                cmd: cmd.iter().map(|s| s.to_string()).collect(),
                timeout,
            })
            .await
            .map_err(|s| format!("ExecSync: {}", status_text(s)))?
            .into_inner())
    }

    /// ExecSync's stdout as text, failing on a non-zero status.
    pub async fn sh(&mut self, id: &str, script: &str) -> R<String> {
        let r = self.exec(id, &["sh", "-c", script], 30).await?;
        if r.exit_code != 0 {
            return Err(format!(
                "exec {script:?}: status {}: {}",
                r.exit_code,
                String::from_utf8_lossy(&r.stderr)
            ));
        }
        Ok(String::from_utf8_lossy(&r.stdout).trim_end().to_string())
    }

    pub async fn stop_container(&mut self, id: &str, grace: i64) -> R<()> {
        self.rt
            .stop_container(cri::StopContainerRequest {
                container_id: id.into(),
                timeout: grace,
            })
            .await
            .map_err(|s| format!("StopContainer: {}", status_text(s)))?;
        Ok(())
    }

    pub async fn remove_container(&mut self, id: &str) -> R<()> {
        self.rt
            .remove_container(cri::RemoveContainerRequest {
                container_id: id.into(),
            })
            .await
            .map_err(|s| format!("RemoveContainer: {}", status_text(s)))?;
        Ok(())
    }

    /// StopPodSandbox then RemovePodSandbox, as kubelet does.
    pub async fn remove_pod(&mut self, id: &str) -> R<()> {
        self.rt
            .stop_pod_sandbox(cri::StopPodSandboxRequest {
                pod_sandbox_id: id.into(),
            })
            .await
            .map_err(|s| format!("StopPodSandbox: {}", status_text(s)))?;
        self.rt
            .remove_pod_sandbox(cri::RemovePodSandboxRequest {
                pod_sandbox_id: id.into(),
            })
            .await
            .map_err(|s| format!("RemovePodSandbox: {}", status_text(s)))?;
        Ok(())
    }

    /// Remove every pod of the tests that is still there.
    pub async fn remove_all_pods(&mut self) {
        let Ok(r) = self
            .rt
            .list_pod_sandbox(cri::ListPodSandboxRequest {
                filter: Some(cri::PodSandboxFilter {
                    label_selector: HashMap::from([(LABEL.to_string(), "1".to_string())]),
                    ..Default::default()
                }),
            })
            .await
        else {
            return;
        };
        for p in r.into_inner().items {
            let _ = self.remove_pod(&p.id).await;
        }
    }

    /// The container's log as containerd wrote it, without the CRI
    /// prefix (`TIME STREAM TAG `) of each line.
    pub fn log(&self, pod_config: &cri::PodSandboxConfig, name: &str) -> String {
        let f = Path::new(&pod_config.log_directory).join(format!("{name}.log"));
        std::fs::read_to_string(f)
            .unwrap_or_default()
            .lines()
            .map(|l| l.splitn(4, ' ').nth(3).unwrap_or(""))
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// A cgroup file of container `id` in pod `pod_config` on the host:
    /// the v1 hierarchy that has `controller`, or the cgroup2 one.
    pub fn cgroup_file(
        &self,
        pod_config: &cri::PodSandboxConfig,
        id: &str,
        controller: &str,
        file: &str,
    ) -> R<String> {
        let rel = format!("{}/{file}", self.cgroup_dir(pod_config, id));
        let bases = [
            format!("/sys/fs/cgroup/{controller}"),
            "/sys/fs/cgroup".into(),
            "/sys/fs/cgroup/unified".into(),
        ];
        for base in bases {
            let p = Path::new(&base).join(&rel);
            if let Ok(s) = std::fs::read_to_string(&p) {
                return Ok(s.trim().to_string());
            }
        }
        Err(format!("no cgroup file {file} for {controller} of {id}"))
    }
}

/// `cond` or an error saying what was expected.
pub fn check(cond: bool, what: impl FnOnce() -> String) -> R<()> {
    if cond {
        Ok(())
    } else {
        Err(what())
    }
}

pub fn eq<T: PartialEq + std::fmt::Debug>(got: T, want: T, what: &str) -> R<()> {
    check(got == want, || {
        format!("{what}: expected {want:?}, got {got:?}")
    })
}

pub fn contains(hay: &str, needle: &str, what: &str) -> R<()> {
    check(hay.contains(needle), || {
        format!("{what}: expected to contain {needle:?}, got {hay:?}")
    })
}
