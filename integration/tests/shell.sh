# shellcheck shell=bash
# berth for a person at a shell: completions, man pages, --help, the
# installed layout, and errors that point to `berth check`.

# commands: the commands `berth --help` lists (not `help`).
commands() {
  "$BERTH" --help | sed -n '/^Commands:/,/^$/p' | awk 'NR > 1 && $1 != "help" && NF {print $1}'
}

test_completion_bash_lists_commands_and_flags() {
  berth_only "berth's own command"
  "$BERTH" completion bash >"$T_TMP/berth.bash" || fail "completion bash failed"
  local got
  got=$(bash -c '
    source "$1"
    complete -p berth || exit 1
    COMP_WORDS=(berth ex); COMP_CWORD=1; COMP_LINE="berth ex"; COMP_POINT=${#COMP_LINE}
    _berth berth ex berth; echo "words:${COMPREPLY[*]}"
    COMP_WORDS=(berth exec --); COMP_CWORD=2; COMP_LINE="berth exec --"; COMP_POINT=${#COMP_LINE}
    _berth berth -- exec; echo "flags:${COMPREPLY[*]}"
  ' _ "$T_TMP/berth.bash" 2>&1)
  assert_contains "$got" "complete -o bashdefault -o default -o nosort -F _berth berth" "complete -p berth"
  assert_contains "$got" "words:exec" "berth ex<TAB>"
  case $got in *"flags:"*--tty*--cwd*) ;; *) fail "berth exec --<TAB> lacks --tty and --cwd: $got" ;; esac
  "$BERTH" completion zsh | head -n1 | grep -qx '#compdef berth' || fail "zsh completion does not start with #compdef berth"
  "$BERTH" completion fish | grep -q '^complete -c berth' || fail "fish completion has no complete -c berth"
  "$BERTH" completion tcsh >/dev/null 2>&1
  assert_eq "$?" 2 "an unknown shell (clap's usage error)"
}

test_man_pages_render_without_warnings() {
  berth_only "berth's own command"
  command -v man >/dev/null || skip "no man here"
  "$BERTH" man "$T_TMP/man" || fail "berth man failed"
  local c want
  want=$(printf 'berth.8\n'; for c in $(commands); do echo "berth-$c.8"; done)
  assert_eq "$(cd "$T_TMP/man" && ls | sort)" "$(sort <<<"$want")" "the pages"
  for f in "$T_TMP"/man/*.8; do
    local warn
    warn=$(MANWIDTH=80 man --warnings -l "$f" 2>&1 >/dev/null)
    assert_eq "$warn" "" "man --warnings -l $(basename "$f")"
  done
  MANWIDTH=80 man -l "$T_TMP/man/berth-kill.8" 2>/dev/null | grep -q 'berth kill --all web KILL' ||
    fail "berth-kill.8 lacks its example"
}

test_help_says_what_with_an_example() {
  berth_only "berth's own command"
  local c out
  for c in $(commands); do
    out=$("$BERTH" "$c" --help 2>&1) || fail "berth $c --help failed"
    assert_contains "$out" "Example:" "berth $c --help"
    assert_contains "$out" "Options:" "berth $c --help"
  done
}

test_installed_layout_and_uninstall() {
  berth_only "berth's own files"
  local repo inst=$T_TMP/inst
  repo=$(cd "$(dirname "$BERTH")" && git rev-parse --show-toplevel 2>/dev/null)
  [ -x "$repo/scripts/stage.sh" ] || skip "not a build inside the repository"
  "$repo/scripts/stage.sh" "$BERTH" "$inst" /usr/local || fail "stage.sh failed"
  for f in bin/berth share/man/man8/berth.8 share/man/man8/berth-run.8 \
    share/bash-completion/completions/berth share/zsh/vendor-completions/_berth \
    share/fish/vendor_completions.d/berth.fish; do
    [ -s "$inst/usr/local/$f" ] || fail "make install left out $f"
  done
  make -s -C "$repo" uninstall DESTDIR="$inst" PREFIX=/usr/local || fail "make uninstall failed"
  assert_eq "$(find "$inst" -type f | wc -l)" 0 "files left after make uninstall"
}

test_host_errors_point_to_check() {
  berth_only "berth's own message"
  make_bundle a true
  if ! grep -qs '^Y' /sys/module/apparmor/parameters/enabled; then
    cfg "$B" 'c["process"]["apparmorProfile"] = "some-profile"'
  elif ! (((16#$(awk '/^CapBnd:/ {print $2}' /proc/self/status) >> 24) & 1)); then
    cfg "$B" 'c["process"]["oomScoreAdj"] = -999'
  else
    skip "this host has AppArmor and CAP_SYS_RESOURCE"
  fi
  bcreate "$B" "$(cid a)"
  assert_rc 1 "create that this host cannot do"
  assert_contains "$ERR" "berth check" "the error"
  assert_nothing_left "$(cid a)" a
  # A config error does not point there.
  make_bundle b true
  cfg "$B" 'c["process"]["args"] = []'
  bcreate "$B" "$(cid b)"
  assert_rc 1 "create with no args"
  case $ERR in *"berth check"*) fail "a config error points to berth check: $ERR" ;; esac
}
