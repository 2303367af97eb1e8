//! Facts about the user namespace berth itself runs in: whether it is the
//! host's (the initial one), and what an id of it is one level up. Under
//! rootless Podman berth runs as uid 0 of a namespace Podman made; it is
//! then no more privileged than the user who owns that namespace.

use std::sync::OnceLock;

/// One line of /proc/self/uid_map: (inside, outside, count).
type Extent = (u32, u32, u32);

fn parse_map(text: &str) -> Vec<Extent> {
    text.lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace().map(|x| x.parse::<u32>());
            match (f.next(), f.next(), f.next()) {
                (Some(Ok(a)), Some(Ok(b)), Some(Ok(c))) => Some((a, b, c)),
                _ => None,
            }
        })
        .collect()
}

/// The initial user namespace maps every id to itself, all 2^32-1 of
/// them; any other map is a namespace of its own.
fn is_initial(map: &[Extent]) -> bool {
    map == [(0, 0, u32::MAX)]
}

fn own_uid_map() -> &'static [Extent] {
    static MAP: OnceLock<Vec<Extent>> = OnceLock::new();
    MAP.get_or_init(|| {
        std::fs::read_to_string("/proc/self/uid_map")
            .map(|t| parse_map(&t))
            // No procfs to ask: take the host's namespace, as runc does.
            .unwrap_or_else(|_| vec![(0, 0, u32::MAX)])
    })
}

/// True when berth runs in a user namespace other than the host's.
/// Read once per process: call it before this process unshares one.
pub fn running_in() -> bool {
    !is_initial(own_uid_map())
}

/// `uid` of berth's namespace as its parent namespace sees it (the host's
/// for one level of nesting, as under rootless Podman).
pub fn outer_uid(uid: u32) -> Option<u32> {
    translate(own_uid_map(), uid)
}

fn translate(map: &[Extent], id: u32) -> Option<u32> {
    map.iter()
        .find(|(inside, _, n)| id >= *inside && id - inside < *n)
        .map(|(inside, outside, _)| outside + (id - inside))
}

/// Whether berth is unprivileged towards the host: not root, or root of a
/// user namespace of its own.
pub fn unprivileged() -> bool {
    !nix::unistd::geteuid().is_root() || running_in()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_host_namespace_is_the_identity_map() {
        assert!(is_initial(&parse_map("         0          0 4294967295\n")));
        assert!(!is_initial(&parse_map("0 1000 1\n1 100000 65536\n")));
        assert!(!is_initial(&parse_map("0 0 1\n")));
    }

    #[test]
    fn ids_translate_through_the_map() {
        let m = parse_map("0 1000 1\n1 100000 65536\n");
        assert_eq!(translate(&m, 0), Some(1000));
        assert_eq!(translate(&m, 1), Some(100000));
        assert_eq!(translate(&m, 65536), Some(165535));
        assert_eq!(translate(&m, 65537), None);
    }
}
