use std::path::PathBuf;

use anyhow::{bail, Result};
use berth::checkpoint::{self, CgroupsMode, Common, DumpOptions};
use berth::state::Root;

/// The flags `checkpoint` and `restore` share, as runc names them.
#[derive(clap::Args, Debug)]
pub struct Shared {
    /// Directory for the images (default ./checkpoint).
    #[arg(long)]
    pub image_path: Option<PathBuf>,
    /// Directory for CRIU's log and work files (default: the image path).
    #[arg(long)]
    pub work_path: Option<PathBuf>,
    /// Allow established TCP connections.
    #[arg(long)]
    pub tcp_established: bool,
    /// Allow external unix sockets.
    #[arg(long)]
    pub ext_unix_sk: bool,
    /// Allow a shell job (a process on the caller's terminal).
    #[arg(long)]
    pub shell_job: bool,
    /// Handle file locks.
    #[arg(long)]
    pub file_locks: bool,
    /// How CRIU handles cgroups: soft, full, strict or ignore.
    #[arg(long)]
    pub manage_cgroups_mode: Option<String>,
    /// A namespace CRIU makes empty instead of restoring (network).
    #[arg(long)]
    pub empty_ns: Vec<String>,
    /// Deduplicate images against the parent's.
    #[arg(long)]
    pub auto_dedup: bool,
    /// Migrate memory pages lazily: checkpoint serves them (with
    /// --page-server) until a restore with --lazy-pages, fed by a `criu
    /// lazy-pages` daemon, has taken them all.
    #[arg(long)]
    pub lazy_pages: bool,
}

impl Shared {
    pub fn common(&self) -> Result<Common> {
        let image_path = match &self.image_path {
            Some(p) => p.clone(),
            None => std::env::current_dir()?.join("checkpoint"),
        };
        Ok(Common {
            image_path,
            work_path: self.work_path.clone(),
            tcp_established: self.tcp_established,
            ext_unix_sk: self.ext_unix_sk,
            shell_job: self.shell_job,
            file_locks: self.file_locks,
            manage_cgroups_mode: self
                .manage_cgroups_mode
                .as_deref()
                .map(CgroupsMode::parse)
                .transpose()?,
            empty_ns: checkpoint::empty_ns_flags(&self.empty_ns)?,
            auto_dedup: self.auto_dedup,
            lazy_pages: self.lazy_pages,
        })
    }
}

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub shared: Shared,
    /// The previous (pre-dump) images, relative to the image path.
    #[arg(long)]
    pub parent_path: Option<PathBuf>,
    /// Leave the container running after the dump.
    #[arg(long)]
    pub leave_running: bool,
    /// Skip in-flight TCP connections.
    #[arg(long)]
    pub tcp_skip_in_flight: bool,
    /// Allow to link unlinked files back when possible.
    #[arg(long)]
    pub link_remap: bool,
    /// Dump the memory only, and leave the container running.
    #[arg(long)]
    pub pre_dump: bool,
    /// ADDRESS:PORT of a CRIU page server to send the pages to.
    #[arg(long)]
    pub page_server: Option<String>,
    /// With --lazy-pages: an fd berth writes \0 to once the pages are
    /// served, and then closes.
    #[arg(long)]
    pub status_fd: Option<i32>,
    /// The container's id.
    pub id: String,
}

pub fn run(root: &Root, a: Args, g: &super::Globals) -> Result<u8> {
    if g.rootless {
        bail!("checkpoint needs root: CRIU dumps no container for an ordinary user");
    }
    let page_server = match &a.page_server {
        Some(s) => {
            let Some((addr, port)) = s.rsplit_once(':') else {
                bail!("--page-server {s:?}: want ADDRESS:PORT");
            };
            let port: i32 = port
                .parse()
                .map_err(|_| anyhow::anyhow!("--page-server {s:?}: {port:?} is not a port"))?;
            Some((addr.to_string(), port))
        }
        None => None,
    };
    let o = DumpOptions {
        common: a.shared.common()?,
        parent_path: a.parent_path.clone(),
        leave_running: a.leave_running,
        tcp_skip_in_flight: a.tcp_skip_in_flight,
        link_remap: a.link_remap,
        pre_dump: a.pre_dump,
        page_server,
        status_fd: a.status_fd,
    };
    let c = berth::container::Container::open(root, &a.id)?;
    checkpoint::checkpoint(&c, &o)?;
    drop(c);
    // As runc: a container dumped for good is gone; delete what is left.
    if !a.leave_running && !a.pre_dump {
        berth::container::delete::delete(root, &a.id, true)?;
    }
    Ok(0)
}
