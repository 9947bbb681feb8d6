#!/usr/bin/env bats
# The ns backend on a pure cgroup v2 host. Runs only inside the guest of
# scripts/vm (scripts/run-tests runs it there twice: from the root cgroup,
# and from a delegated child as a systemd unit with Delegate=yes would be).
bats_require_minimum_version 1.5.0
load ../helpers

setup_file() {
	[ -f /sys/fs/cgroup/cgroup.controllers ] && ! grep -q ' cgroup ' /proc/mounts ||
		{ echo "not a pure cgroup v2 host: run through scripts/vm" >&2; return 1; }
}

# own_group: the group this test runs in, as /proc/self/cgroup names it.
own_group() {
	sed -n 's/^0:://p' /proc/self/cgroup
}

# sandbox_parent: where sandbox-exec puts the instance's groups: the
# group it was started in, or that group's parent when it is the
# supervisor leaf a start before moved everything into.
sandbox_parent() {
	local own
	own=$(own_group)
	own=${own%/supervisor}
	echo "/sys/fs/cgroup${own%/}"
}

teardown() {
	assert_no_box_process
}

@test "judged from where it was started: a right answer, a memory hog, a fork bomb, a CPU loop, a sleep, a daemon" {
	sbx_run -j 2 -- "$EXAMPLES/python/stdio-accepted.json" \
		"$HOSTILE/python/memory-bomb.json" "$HOSTILE/javascript/fork-bomb.json" \
		"$HOSTILE/python/infinite-loop.json" "$HOSTILE/python/sleep-forever.json" \
		"$HOSTILE/python/background.json"
	assert_job 20c4ddf3-d2c5-5c66-a761-7c308b2cbf9d \
		'.exec.runs | all(.exitCode == 0 and .limit == null and .memoryKb > 0 and .timeMs >= 0)'
	assert_job hostile-memory-bomb '.exec.runs[0] | .limit == "memory" and .memoryKb <= '"$(($(table_value memory_mb) * 1024))"
	assert_job hostile-fork-bomb '.exec.runs[0] | .limit != null or .exitCode != 0'
	assert_job hostile-infinite-loop '.exec.runs[0] | .limit == "time" and .signal == "SIGKILL" and .timeMs >= '"$(table_value time_ms)"
	assert_job hostile-sleep-forever '.exec.runs[0] | .limit == "wall" and .timeMs < 2000'
	assert_job hostile-background '.exec.runs[0] | .exitCode == 0 and (.stdout | test("^spawned a daemon"))'
}

@test "the groups: <own group>/codex-sandbox with memory and pids for its children, empty once the jobs are done" {
	sbx_run "$EXAMPLES/python/stdio-accepted.json"
	local base
	base=$(sandbox_parent)/codex-sandbox
	assert [ -d "$base" ]
	run -0 cat "$base/cgroup.subtree_control"
	assert_output --partial memory
	assert_output --partial pids
	run -0 find "$base" -mindepth 1 -type d
	assert_output ''
}

@test "a delegated group with processes of its own: they move into its supervisor leaf; a start from there does not nest" {
	local g=/sys/fs/cgroup/codex-v2-$$
	mkdir "$g"
	# A process of the service's, there before sandbox-exec starts.
	sh -c 'echo $$ > "$1/cgroup.procs"; exec sleep 120' sh "$g" &
	local sleeper=$!
	local i
	for ((i = 0; i < 100; i++)); do
		! grep -q "^$sleeper\$" "$g/cgroup.procs" || break
		sleep 0.1
	done
	sh -c 'echo $$ > "$1/cgroup.procs"; exec "$2" < "$3" > "$4"' sh "$g" "$SBX" \
		"$EXAMPLES/python/stdio-accepted.json" "$BATS_TEST_TMPDIR/first"
	run -0 cat "/proc/$sleeper/cgroup"
	assert_output "0::${g#/sys/fs/cgroup}/supervisor"
	# A stage restarted by its supervisor is born in the leaf.
	sh -c 'echo $$ > "$1/supervisor/cgroup.procs"; exec "$2" < "$3" > "$4"' sh "$g" "$SBX" \
		"$EXAMPLES/python/stdio-accepted.json" "$BATS_TEST_TMPDIR/second"
	kill "$sleeper"
	wait "$sleeper" || true
	run -0 jq -c '[.exec.runs[] | .exitCode] | unique' "$BATS_TEST_TMPDIR/first" "$BATS_TEST_TMPDIR/second"
	assert_output $'[0]\n[0]'
	assert [ ! -e "$g/supervisor/supervisor" ]
	assert [ ! -e "$g/supervisor/codex-sandbox" ]
	run -0 cat "$g/cgroup.procs"
	assert_output ''
	rmdir "$g/codex-sandbox" "$g/supervisor" "$g"
}

@test "a group without memory and pids delegated: exit 100 and a message that says what is missing" {
	local g=/sys/fs/cgroup/codex-v2-bare-$$
	mkdir -p "$g/unit"
	run --separate-stderr sh -c 'echo $$ > "$1/unit/cgroup.procs"; exec "$2" < "$3"' sh "$g" "$SBX" \
		"$EXAMPLES/python/stdio-accepted.json"
	assert_equal "$status" 100
	assert_stderr_has "memory and pids are not delegated to $g/unit"
	assert_stderr_has "Delegate=yes"
	rmdir "$g/unit" "$g"
}

@test "pool-ctl up says what it found: cgroup v2, where the boxes go, and what each step gets" {
	local own
	run -0 --separate-stderr "$ROOT/bin/pool-ctl" --slots 1 up
	run -0 jq -r 'select(.msg | startswith("ns pool: cgroup")) | .msg' <<< "$stderr"
	assert_output --partial "ns pool: cgroup v2, boxes in $(sandbox_parent)/codex-sandbox ("
	own=$(own_group)
	if [ "${own%/supervisor}" = / ] || [ -z "${own%/supervisor}" ]; then
		assert_output --partial "(the root group)"
	else
		assert_output --partial "(a group delegated to the service, the service's processes in its supervisor leaf)"
	fi
	# Debian 12's kernel (6.1) has every one of these.
	assert_output --partial "memory.max with memory.swap.max 0, pids.max, CPU from cpu.stat, peak memory from memory.peak, cgroup.kill ends it, its init born in it (clone3 CLONE_INTO_CGROUP)"
}
