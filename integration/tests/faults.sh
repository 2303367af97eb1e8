# shellcheck shell=bash
# Fault injection: berth (create, start, exec, delete) SIGKILLed at random
# moments, then `list` + `delete --force` of what it shows must leave
# nothing: no state dir, no cgroup, no process, no mount, no fifo or
# socket. `make test` runs a short form (FAULT_CYCLES, default 25);
# `make soak` runs 1,000 cycles.

# fault_step ID DELAY_MS CMD...: run `berth CMD` in the background and
# SIGKILL it after DELAY_MS (if still running). Sets STEP_RC: the status,
# or 137 when it was killed.
fault_step() {
  local delay=$1 pid
  shift
  # berth itself in the background (not lib.sh's `b` function, whose
  # subshell would take the SIGKILL and leave berth running).
  "$BERTH" --root "$ROOT" "$@" </dev/null >/dev/null 2>>"$T_TMP/faults.err" &
  pid=$!
  if [ "$delay" -ge 0 ]; then
    sleep "$(printf '0.%03d' "$delay")"
    kill -9 "$pid" 2>/dev/null
  fi
  wait "$pid"
  STEP_RC=$?
}

# fault_leaks ID: print what is left of container ID after the clean-up.
fault_leaks() {
  local id=$1 h p arg
  [ -n "$(ls -A "$ROOT" 2>/dev/null)" ] && echo "state: $(ls -A "$ROOT")"
  for h in $(cg_roots); do
    [ -e "$h$T_CG/a" ] && echo "cgroup: $h$T_CG/a"
  done
  for p in /proc/[0-9]*; do
    [ "${p#/proc/}" == "$$" ] || [ "${p#/proc/}" == "$BASHPID" ] && continue
    while IFS= read -r -d '' arg; do
      [[ "$arg" == *fault-marker* ]] && echo "process: ${p#/proc/} ($(tr '\0' ' ' <"$p/cmdline" 2>/dev/null))" && break
    done 2>/dev/null <"$p/cmdline"
  done
  awk -v p="$B/" 'index($5, p) == 1 { print "mount: " $5 }' /proc/self/mountinfo
  find "$T_TMP" "$B" -maxdepth 3 \( -type p -o -type s \) 2>/dev/null | sed 's/^/fifo or socket: /'
}

test_faults_sigkill_anywhere() {
  make_bundle a sh -c 'exec sleep 1000 # fault-marker'
  local cycles=${FAULT_CYCLES:-25} n victim delay id leaks=0 left killed=0 x
  RANDOM=${FAULT_SEED:-$$}
  echo "seed ${FAULT_SEED:-$$}, $cycles cycles" >>"$T_TMP/faults.log"
  for ((n = 1; n <= cycles; n++)); do
    id=$(cid "f$n")
    victim=$((RANDOM % 4)) # which step is killed: create, start, exec, delete
    delay=$((RANDOM % 60)) # after this many ms
    local d=(-1 -1 -1 -1)
    d[victim]=$delay
    fault_step "${d[0]}" create --bundle "$B" "$id"
    [ "$STEP_RC" == 137 ] && killed=$((killed + 1))
    if [ "$STEP_RC" == 0 ]; then
      fault_step "${d[1]}" start "$id"
      [ "$STEP_RC" == 137 ] && killed=$((killed + 1))
      fault_step "${d[2]}" exec "$id" sh -c 'sleep 0.05'
      [ "$STEP_RC" == 137 ] && killed=$((killed + 1))
      fault_step "${d[3]}" delete --force "$id"
      [ "$STEP_RC" == 137 ] && killed=$((killed + 1))
    fi
    # The recovery an engine would do: whatever `list` shows, delete it.
    for x in $(b list -q 2>>"$T_TMP/faults.err"); do
      b delete --force "$x" </dev/null >/dev/null 2>>"$T_TMP/faults.err" ||
        echo "cycle $n: delete --force $x failed" >>"$T_TMP/faults.log"
    done
    left=$(fault_leaks "$id")
    if [ -n "$left" ]; then
      leaks=$((leaks + 1))
      echo "cycle $n (step $victim killed after $delay ms): $left" >>"$T_TMP/faults.log"
      cleanup_test "" "$ROOT" "$T_CG" # clear it so the next cycle starts clean
      mkdir -p "$ROOT"
    fi
  done
  echo "$killed berth processes killed mid-way in $cycles cycles; $leaks cycles leaked" >>"$T_TMP/faults.log"
  echo "note: seed ${FAULT_SEED:-$$}: $killed berth processes killed mid-way in $cycles cycles, $leaks cycles leaked"
  grep -q panicked "$T_TMP/faults.err" && fail "berth panicked: $(grep -m3 panicked "$T_TMP/faults.err")"
  [ "$leaks" == 0 ] || fail "$leaks of $cycles cycles left something behind: $(head -c 2000 "$T_TMP/faults.log")"
  cat "$T_TMP/faults.log"
}
