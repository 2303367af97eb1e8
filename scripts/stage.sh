#!/bin/bash
# stage.sh BERTH DESTDIR PREFIX: berth's files, as installed under PREFIX,
# into DESTDIR: the binary, its man pages (made by the binary itself, from
# the same definitions as its parser) and its bash, zsh and fish
# completions. `make install` and scripts/deb.sh both use it.
set -euo pipefail
berth=$1 dest=$2 prefix=$3
zsh_dir=${ZSH_COMPLETIONS_DIR:-$prefix/share/zsh/vendor-completions}
install -D -m 0755 "$berth" "$dest$prefix/bin/berth"
man=$dest$prefix/share/man/man8
mkdir -p "$man"
"$berth" man "$man"
chmod 0644 "$man"/*.8
install -d "$dest$prefix/share/bash-completion/completions" "$dest$zsh_dir" \
	"$dest$prefix/share/fish/vendor_completions.d"
"$berth" completion bash >"$dest$prefix/share/bash-completion/completions/berth"
"$berth" completion zsh >"$dest$zsh_dir/_berth"
"$berth" completion fish >"$dest$prefix/share/fish/vendor_completions.d/berth.fish"
chmod 0644 "$dest$prefix/share/bash-completion/completions/berth" "$dest$zsh_dir/_berth" \
	"$dest$prefix/share/fish/vendor_completions.d/berth.fish"
