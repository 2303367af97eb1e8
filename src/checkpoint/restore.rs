//! `restore`: a container brought back from CRIU's images as a new
//! container of berth's (any id, any cgroup path): its state dir and
//! cgroup made as `create` makes them, CRIU put in that cgroup before it
//! restores (so the restored tree is born there), the rootfs given to
//! CRIU as a mount point in a mount namespace of berth's own, external
//! mounts and pipes handed back the way runc hands them. The hooks run
//! where runc runs them: prestart and createRuntime once CRIU has set up
//! the namespaces, poststart after. A failed restore leaves nothing.

use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::path::{Path, PathBuf};

use nix::mount::{mount, MsFlags};
use oci_spec::runtime::LinuxNamespaceType as T;

use super::criu::{self, Kind, Log};
use super::dump::{ext_mnt, DESCRIPTORS};
use super::opts::{self, Common};
use super::proto::Msg;
use crate::cgroups;
use crate::container::{hook_state, Status};
use crate::error::{Error, Result};
use crate::spec::Bundle;
use crate::state::{self, ContainerDir, Root, Saved};

pub struct RestoreOptions {
    pub common: Common,
    pub bundle: PathBuf,
    pub pid_file: Option<PathBuf>,
    pub console_socket: Option<PathBuf>,
    pub systemd_cgroup: bool,
    pub rootless: bool,
}

/// The restored init's pid.
pub fn restore(root: &Root, id: &str, o: &RestoreOptions) -> Result<i32> {
    state::validate_id(id)?;
    if o.rootless {
        return Err(Error::Other(
            "restore needs root: CRIU restores no container for an ordinary user".into(),
        ));
    }
    if o.common.lazy_pages {
        // The pages come from a `criu lazy-pages` daemon the caller runs
        // beside the images (its socket is in the work directory).
        super::criu::require_feature(
            super::criu::Feature::LazyPages,
            "--lazy-pages",
            "cannot restore pages lazily (its lazy_pages feature, userfaultfd, is missing)",
        )?;
    }
    let bundle = Bundle::load(&o.bundle)?;
    let rootfs = bundle.rootfs()?;
    let spec = &bundle.spec;
    if !o.common.image_path.join("inventory.img").is_file() {
        return Err(Error::InvalidConfig(format!(
            "--image-path {}: no checkpoint there (no inventory.img)",
            o.common.image_path.display()
        )));
    }
    let terminal = spec
        .process()
        .as_ref()
        .and_then(|p| p.terminal())
        .unwrap_or(false);
    if terminal != o.console_socket.is_some() {
        return Err(Error::InvalidConfig(if terminal {
            "config.json: process.terminal is true: give --console-socket to receive the restored pty".into()
        } else {
            "--console-socket was given but config.json: process.terminal is false".into()
        }));
    }
    // Checked here, before anything is made; opened again below.
    drop(opts::open_dir(&o.common.image_path, "--image-path")?);
    let descriptors: Vec<String> = std::fs::read(o.common.image_path.join(DESCRIPTORS))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default();
    let linux = spec.linux().as_ref();
    let plan = crate::namespaces::Plan::from_spec(linux)?;
    let layout = cgroups::Layout::detect()?;
    let placement = cgroups::place_container(
        &layout,
        linux.and_then(|l| l.cgroups_path().as_deref()),
        id,
        &cgroups::Driver {
            systemd: o.systemd_cgroup,
            rootless: false,
        },
        linux.and_then(|l| l.resources().as_ref()),
    )?;
    let annotations = spec.annotations().clone().unwrap_or_default();
    let mgr = cgroups::manager_for_create(&placement, &annotations)?;

    let dir = root.create(id)?;
    let mut made_cgroup = false;
    let mut restored: Option<i32> = None;
    let result = (|| -> Result<i32> {
        state::write_atomic(&dir.file(state::CONFIG_FILE), &bundle.raw)?;
        mgr.create()?;
        made_cgroup = true;
        // CRIU's mounts (the rootfs as a mount point, binds under it) in a
        // mount namespace of this process's own: nothing reaches the host,
        // and all of it goes when berth exits. Slaves, not private: a bind
        // mount that was a slave of the host's gets that back from its
        // source's mount, which CRIU (mount-v2) refuses to copy from a
        // private one.
        nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNS)
            .map_err(|e| Error::sys("unshare a mount namespace for criu", e))?;
        mount(
            None::<&str>,
            "/",
            None::<&str>,
            MsFlags::MS_REC | MsFlags::MS_SLAVE,
            None::<&str>,
        )
        .map_err(|e| Error::sys("make the mounts slaves", e))?;
        let criu_root = dir.path.join("criu-root");
        std::fs::create_dir(&criu_root).map_err(|e| Error::sys("mkdir criu-root", e))?;
        mount(
            Some(&rootfs),
            &criu_root,
            None::<&str>,
            MsFlags::MS_BIND | MsFlags::MS_REC,
            None::<&str>,
        )
        .map_err(|e| Error::sys(format!("bind {} for criu", rootfs.display()), e))?;
        prepare_mountpoints(&criu_root, spec, &bundle.dir)?;

        // Opened in the new mount namespace: CRIU works in this directory
        // (the default work directory) and mounts its cgroup yard there,
        // which the kernel refuses (EINVAL) on a mount of another namespace.
        let images = opts::open_dir(&o.common.image_path, "--image-path")?;
        let work = o.common.open_work_dir()?;
        let mut m = Msg::default();
        m.int(1, images.as_raw_fd())
            .bool(6, true)
            .bool(26, true)
            .str(13, &criu_root.to_string_lossy());
        o.common.encode(
            &mut m,
            "restore.log",
            work.as_ref().map(|w| w.as_raw_fd()),
            spec,
        )?;
        for (dest, src) in opts::bind_mounts(spec) {
            let src = if src.is_absolute() {
                src
            } else {
                bundle.dir.join(src)
            };
            ext_mnt(&mut m, &dest, &src.to_string_lossy());
        }
        if linux.is_some_and(|l| l.masked_paths().as_ref().is_some_and(|v| !v.is_empty())) {
            ext_mnt(&mut m, "/dev/null", "/dev/null");
        }
        for d in opts::device_paths(spec) {
            ext_mnt(&mut m, &d, &d);
        }
        // The init's pipes come back as this process's own stdio (CRIU's
        // fds 0-2 are ours).
        for (i, d) in descriptors.iter().enumerate() {
            if d.contains("pipe:") {
                let mut f = Msg::default();
                f.str(1, d).int(2, i as i32);
                m.msg(27, &f);
            }
        }
        let (inherit_keys, inherit) = external_namespaces(spec)?;
        for (i, key) in inherit_keys.iter().enumerate() {
            let mut f = Msg::default();
            f.str(1, key).int(2, 4 + i as i32);
            m.msg(27, &f);
        }
        let inherit_fds: Vec<RawFd> = inherit.iter().map(|f| f.as_raw_fd()).collect();
        let log_dir = o.common.log_dir();
        let hooks = spec.hooks().as_ref();
        let reply = criu::call(
            Kind::Restore,
            Some(m),
            None,
            &inherit_fds,
            Some(&Log {
                dir: log_dir,
                file: "restore.log",
            }),
            &mut |n| match n.script.as_str() {
                "setup-namespaces" => {
                    let st = hook_state(id, n.pid, Status::Created, &bundle.dir, &annotations);
                    #[allow(deprecated)]
                    let prestart = hooks.and_then(|h| h.prestart().as_ref());
                    crate::hooks::run_all_in_bundle("prestart", prestart, &st, &bundle.dir)?;
                    crate::hooks::run_all_in_bundle(
                        "createRuntime",
                        hooks.and_then(|h| h.create_runtime().as_ref()),
                        &st,
                        &bundle.dir,
                    )
                }
                "orphan-pts-master" => {
                    let (Some(sock), Some(master)) = (&o.console_socket, n.fds.first()) else {
                        return Err(Error::Other(
                            "criu sent the restored pty, and there is no --console-socket for it"
                                .into(),
                        ));
                    };
                    crate::tty::send_to_console_socket(sock, master.as_raw_fd(), "console")
                }
                "post-restore" => {
                    restored = Some(n.pid);
                    Ok(())
                }
                _ => Ok(()),
            },
            &mut |criu_pid, extra| {
                // CRIU in the container's cgroup first: the tree it
                // restores is born there, and CRIU restores the cgroups
                // of the image below it (a new cgroupsPath too).
                mgr.adopt(criu_pid, linux.and_then(|l| l.resources().as_ref()))?;
                join_pid(&placement, criu_pid)?;
                if let Some(r) = linux.and_then(|l| l.resources().as_ref()) {
                    mgr.apply(r)?;
                }
                cgroup_roots(criu_pid, extra)
            },
        )?;
        // CRIU is done with the root: the bind goes, so that delete can
        // remove the state dir.
        let _ = nix::mount::umount2(&criu_root, nix::mount::MntFlags::MNT_DETACH);
        let _ = std::fs::remove_dir(&criu_root);
        let pid = reply
            .restored_pid
            .or(restored)
            .ok_or_else(|| Error::Other("criu restored no process".into()))?;
        restored = Some(pid);
        let saved = Saved {
            id: id.to_string(),
            pid,
            pid_start_time: crate::container::proc_stat(pid).map(|s| s.1).unwrap_or(0),
            bundle: bundle.dir.clone(),
            rootfs: rootfs.clone(),
            created: crate::logging::now_rfc3339(),
            owner: "root".into(),
            annotations: annotations.clone(),
            cgroup: placement.clone(),
            own_pid_ns: plan.has(T::Pid),
            own_mount_ns: plan.has(T::Mount),
            created_ok: true,
            no_new_keyring: false,
            rdt: None,
        };
        dir.save(&saved)?;
        if let Some(p) = &o.pid_file {
            state::write_atomic(p, pid.to_string().as_bytes())?;
        }
        let st = hook_state(id, pid, Status::Running, &bundle.dir, &annotations);
        crate::hooks::run_all_logged(
            "poststart",
            hooks.and_then(|h| h.poststart().as_ref()),
            &st,
            &bundle.dir,
        );
        Ok(pid)
    })();
    if result.is_err() {
        undo(&dir, &*mgr, made_cgroup, restored);
    }
    result
}

/// Put `pid` in each of the placement's directories (CRIU, before it
/// restores; the systemd driver's unit has it already).
fn join_pid(p: &cgroups::Placement, pid: i32) -> Result<()> {
    let dirs = p.unified.iter().chain(p.v1.iter().map(|(_, d)| d));
    for d in dirs {
        let procs = d.join("cgroup.procs");
        std::fs::write(&procs, pid.to_string())
            .map_err(|e| Error::sys(format!("put criu in {}", procs.display()), e))?;
    }
    Ok(())
}

/// criu_opts.cg_root: each controller's cgroup of CRIU's (the
/// container's), as /proc/PID/cgroup names them (v2's controller "").
fn cgroup_roots(pid: i32, m: &mut Msg) -> Result<()> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/cgroup"))
        .map_err(|e| Error::sys("read criu's /proc/PID/cgroup", e))?;
    for line in text.lines() {
        let mut f = line.splitn(3, ':');
        let (Some(_), Some(ctrls), Some(path)) = (f.next(), f.next(), f.next()) else {
            continue;
        };
        for ctrl in ctrls.split(',') {
            let mut r = Msg::default();
            r.str(1, ctrl).str(2, path);
            m.msg(25, &r);
        }
    }
    Ok(())
}

/// Mount points CRIU needs under the rootfs: each mount's destination
/// (a directory, or a file for a bind of a file), except what lies on a
/// tmpfs of the container's (CRIU brings its whole content back) and the
/// cgroup mounts (under /sys).
fn prepare_mountpoints(root: &Path, spec: &oci_spec::runtime::Spec, bundle: &Path) -> Result<()> {
    let mounts: Vec<_> = spec.mounts().iter().flatten().collect();
    let tmpfs: Vec<PathBuf> = mounts
        .iter()
        .filter(|m| m.typ().as_deref() == Some("tmpfs"))
        .map(|m| crate::rootfs::inner(m.destination()))
        .collect();
    let binds = opts::bind_mounts(spec);
    let r = pathrs::Root::open(root)
        .map_err(|e| Error::Other(format!("open {}: {e}", root.display())))?;
    for m in &mounts {
        let typ = m.typ().as_deref().unwrap_or("");
        if typ == "cgroup" || typ == "cgroup2" {
            continue;
        }
        let dest = crate::rootfs::inner(m.destination());
        if tmpfs.iter().any(|t| dest != *t && dest.starts_with(t)) {
            continue;
        }
        let bind_file = binds.iter().any(|(d, s)| {
            Path::new(d) == Path::new("/").join(&dest) && {
                let s = if s.is_absolute() {
                    s.clone()
                } else {
                    bundle.join(s)
                };
                std::fs::metadata(s).is_ok_and(|md| !md.is_dir())
            }
        });
        crate::rootfs::mounts::ensure_target(&r, &dest, !bind_file)?;
    }
    Ok(())
}

/// Namespaces the config joins by path that CRIU left out of the image:
/// the keys CRIU knows them by, and the namespace files to hand it.
fn external_namespaces(spec: &oci_spec::runtime::Spec) -> Result<(Vec<String>, Vec<OwnedFd>)> {
    let mut keys = Vec::new();
    let mut files = Vec::new();
    for n in spec
        .linux()
        .as_ref()
        .and_then(|l| l.namespaces().as_ref())
        .into_iter()
        .flatten()
    {
        let Some(path) = n.path() else { continue };
        let key = match n.typ() {
            T::Network => "extRootNetNS",
            T::Pid => "extRootPidNS",
            _ => continue,
        };
        let f = std::fs::File::open(path)
            .map_err(|e| Error::sys(format!("linux.namespaces: {}", path.display()), e))?;
        keys.push(key.to_string());
        files.push(OwnedFd::from(f));
    }
    Ok((keys, files))
}

fn undo(dir: &ContainerDir, mgr: &dyn cgroups::Manager, made_cgroup: bool, pid: Option<i32>) {
    let criu_root = dir.path.join("criu-root");
    let _ = nix::mount::umount2(&criu_root, nix::mount::MntFlags::MNT_DETACH);
    if let Some(pid) = pid {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGKILL,
        );
        let _ = nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(pid), None);
    }
    if made_cgroup {
        if let Err(e) = mgr.destroy() {
            crate::logging::warn(&format!("cleanup after failed restore: {e}"));
        }
    }
    let _ = dir.remove();
}
