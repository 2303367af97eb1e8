//! berth's CRI test client: each scenario as kubelet would send it, over
//! containerd's CRI socket, with one runtime handler.
//!
//!   berth-cri-tests SOCKET HANDLER IMAGE CGROUP_PREFIX WORK STATE_ROOT [FILTER]
//!
//! Prints `ok NAME (HANDLER)` or `FAIL NAME (HANDLER): reason` per
//! scenario, then `N passed, N failed`; exits 1 if any failed. FILTER: a
//! substring of the scenario names to run.

mod cri;
mod lifecycle;
mod pods;
mod resources;
mod security;

use std::future::Future;
use std::pin::Pin;

use k8s_cri::v1::runtime_service_client::RuntimeServiceClient;

type Scenario = for<'a> fn(&'a mut cri::Cri) -> Pin<Box<dyn Future<Output = cri::R<()>> + 'a>>;

macro_rules! scenarios {
    ($($f:path),* $(,)?) => {
        vec![$((stringify!($f), (|c| Box::pin($f(c))) as Scenario)),*]
    };
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let a: Vec<String> = std::env::args().collect();
    if a.len() < 7 {
        eprintln!(
            "usage: {} SOCKET HANDLER IMAGE CGROUP_PREFIX WORK STATE_ROOT [FILTER]",
            a[0]
        );
        std::process::exit(2);
    }
    let filter = a.get(7).cloned().unwrap_or_default();
    let channel = match cri::connect(&a[1]).await {
        Ok(ch) => ch,
        Err(e) => {
            println!("FAIL connect ({}): {e}\n0 passed, 1 failed", a[2]);
            std::process::exit(1);
        }
    };
    let mut c = cri::Cri::new(
        RuntimeServiceClient::new(channel),
        &a[2],
        &a[3],
        &a[4],
        std::path::Path::new(&a[5]),
        std::path::Path::new(&a[6]),
    );
    let all = scenarios![
        lifecycle::pod_and_container_basics,
        lifecycle::exec_sync,
        lifecycle::exit_reasons,
        lifecycle::stop_with_grace_period,
        lifecycle::refused_config_reaches_client,
        resources::limits_update_and_stats,
        security::users_groups_readonly_caps_nnp,
        security::privileged,
        security::seccomp_unconfined_and_localhost,
        pods::shared_process_namespace,
        pods::ipc_and_uts_from_the_sandbox,
        pods::pod_network_namespace,
    ];
    let (mut passed, mut failed) = (0, 0);
    for (name, f) in all {
        let name = name.rsplit("::").next().unwrap_or(name);
        if !name.contains(&filter) {
            continue;
        }
        let r = tokio::time::timeout(std::time::Duration::from_secs(180), f(&mut c)).await;
        // Whatever the scenario left (it failed half-way): gone before the
        // next one starts.
        c.remove_all_pods().await;
        match r {
            Ok(Ok(())) => {
                println!("ok {name} ({})", c.handler);
                passed += 1;
            }
            Ok(Err(e)) => {
                println!("FAIL {name} ({}): {e}", c.handler);
                failed += 1;
            }
            Err(_) => {
                println!("FAIL {name} ({}): timed out after 180 s", c.handler);
                failed += 1;
            }
        }
    }
    println!("{passed} passed, {failed} failed");
    std::process::exit(i32::from(failed > 0));
}
