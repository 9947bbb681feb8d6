#!/usr/bin/env bats
# pool-ctl with the ns backend (the default): the slots of this host, as a
# table and as JSON lines; `up` prepares the slot locks and the cgroup
# parent, `watch` and `down` have nothing to do. The docker backend's pool is
# in tests/docker.bats.
bats_require_minimum_version 1.5.0
load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'

setup() {
	POOL_CTL="$BATS_TEST_DIRNAME/../bin/pool-ctl"
	STATE="$BATS_TEST_TMPDIR/state"
	TABLE="$BATS_TEST_TMPDIR/languages.conf"
	sed "s|^state_dir = .*|state_dir = $STATE|" "$BATS_TEST_DIRNAME/../etc/languages.conf" > "$TABLE"
	export CODEX_LANGUAGES="$TABLE"
	mkdir -p "$STATE/slots"
}

@test "status prints one row per slot with its uid" {
	run -0 --separate-stderr "$POOL_CTL" status --slots 2
	assert_line --index 0 --regexp '^SLOT +UID +STATE$'
	assert_line --index 1 --regexp '^0 +61000 +free$'
	assert_line --index 2 --regexp '^1 +61001 +free$'
	[ "${#lines[@]}" -eq 3 ]
}

@test "status shows a slot whose lock is held as busy" {
	touch "$STATE/slots/1.lock"
	flock "$STATE/slots/1.lock" sleep 3 3>&- &
	holder=$!
	sleep 0.3
	run -0 --separate-stderr "$POOL_CTL" status --slots 2 --json
	[ "$(echo "${lines[0]}" | jq -r .state)" = free ]
	[ "$(echo "${lines[1]}" | jq -c .)" = '{"slot":1,"uid":61001,"state":"busy"}' ]
	kill "$holder" 2>/dev/null || true
}

@test "the number of slots defaults to the language table's" {
	run -0 --separate-stderr "$POOL_CTL" status --json
	[ "${#lines[@]}" -eq 4 ]
}

@test "bad usage exits 100 with the usage on stderr" {
	run -100 --separate-stderr "$POOL_CTL"
	assert_equal "$output" ""
	[[ "$stderr" == *"usage: pool-ctl [--backend ns|docker]"* ]]
	run -100 --separate-stderr "$POOL_CTL" status --slots 0
	[[ "$stderr" == *"--slots: '0' is not a number in 1..1024"* ]]
	run -100 --separate-stderr "$POOL_CTL" status --frobnicate
	assert_equal "$output" ""
	[[ "$stderr" == *"usage: pool-ctl [--backend ns|docker]"* ]]
	run -100 --separate-stderr "$POOL_CTL" status down
	[[ "$stderr" == *"usage: pool-ctl [--backend ns|docker]"* ]]
	run -100 --separate-stderr "$POOL_CTL" watch --interval 0
	[[ "$stderr" == *"--interval: '0' is not a number"* ]]
}

@test "an unknown command exits 100 with the usage on stderr and nothing on stdout" {
	run -100 --separate-stderr "$POOL_CTL" frobnicate
	assert_equal "$output" ""
	[[ "$stderr" == *"usage: pool-ctl [--backend ns|docker] [--slots N] [--languages FILE] [--json]"* ]]
	[[ "$stderr" == *"up | status | watch [--interval S] [--once] | down"* ]]
	[ ! -e "$STATE/slots/0.lock" ]
}

@test "--backend bogus exits 100 and names the backends there are" {
	run -100 --separate-stderr "$POOL_CTL" --backend bogus status
	assert_equal "$output" ""
	[[ "$stderr" == *"backend 'bogus' is not available (ns and docker are)"* ]]
	SANDBOX_BACKEND=bogus run -100 --separate-stderr "$POOL_CTL" status
	[[ "$stderr" == *"backend 'bogus' is not available"* ]]
}

@test "SANDBOX_BACKEND=ns and --backend ns are the default's status" {
	SANDBOX_BACKEND=ns run -0 --separate-stderr "$POOL_CTL" status --slots 1
	assert_line --index 1 --regexp '^0 +61000 +free$'
	run -0 --separate-stderr "$POOL_CTL" --backend ns status --slots 1 --json
	assert_output '{"slot":0,"uid":61000,"state":"free"}'
}

@test "up creates the lock file of every slot and exits 0; again, it changes nothing" {
	rm -rf "$STATE"
	run -0 --separate-stderr timeout 60 "$POOL_CTL" up
	assert_equal "$output" ""
	[[ "$stderr" == *"ns pool: 4 slots ready in $STATE"* ]]
	run -0 ls "$STATE/slots"
	assert_equal "${lines[*]}" "0.lock 1.lock 2.lock 3.lock"
	[ "$(stat -c %a "$STATE/slots")" = 700 ]
	run -0 --separate-stderr timeout 60 "$POOL_CTL" --backend ns up --slots 6
	run -0 ls "$STATE/slots"
	assert_equal "${lines[*]}" "0.lock 1.lock 2.lock 3.lock 4.lock 5.lock"
	run -0 --separate-stderr "$POOL_CTL" status --slots 6 --json
	[ "$(jq -r .state <<< "$output" | sort -u)" = free ]
}

@test "up says when no cgroup hierarchy has favordynmods (each job's cgroup move may wait for RCU)" {
	run -0 --separate-stderr timeout 60 "$POOL_CTL" up
	if awk '$3 == "cgroup" || $3 == "cgroup2" { print $4 }' /proc/mounts | tr , '\n' | grep -qx favordynmods; then
		[[ "$stderr" != *favordynmods* ]] || fail "a warning although favordynmods is on: $stderr"
	else
		[[ "$stderr" == *"no cgroup hierarchy has favordynmods"*"mount -o remount,favordynmods"* ]] ||
			fail "no warning: $stderr"
	fi
}

@test "up prepares the cgroup parent (SANDBOX_CGROUP_ROOT names it)" {
	export SANDBOX_CGROUP_ROOT="codex-bats-pool-ctl-$$"
	run -0 --separate-stderr timeout 60 "$POOL_CTL" up --slots 1
	if [ -e /sys/fs/cgroup/cgroup.controllers ]; then
		dirs=("/sys/fs/cgroup/$SANDBOX_CGROUP_ROOT")
	else
		dirs=(/sys/fs/cgroup/{memory,pids,cpuacct}/"$SANDBOX_CGROUP_ROOT")
	fi
	for d in "${dirs[@]}"; do
		[ -d "$d" ] || fail "no cgroup $d"
		rmdir "$d"
	done
	[ -e "$STATE/slots/0.lock" ]
}

@test "up leaves a busy slot alone without waiting for it and exits 0" {
	touch "$STATE/slots/1.lock"
	flock "$STATE/slots/1.lock" sleep 3 3>&- &
	holder=$!
	sleep 0.3
	start=$SECONDS
	run -0 --separate-stderr timeout 10 "$POOL_CTL" up --slots 2
	[ $((SECONDS - start)) -le 1 ]
	run -0 --separate-stderr "$POOL_CTL" status --slots 2 --json
	[ "$(echo "${lines[1]}" | jq -r .state)" = busy ]
	kill "$holder" 2>/dev/null || true
}

@test "watch and down have nothing to do for ns: they say so and exit 0" {
	run -0 --separate-stderr timeout 10 "$POOL_CTL" watch
	assert_equal "$output" ""
	[[ "$stderr" == *"ns pool: boxes live only as long as their job; nothing to watch"* ]]
	run -0 --separate-stderr timeout 10 "$POOL_CTL" watch --once --interval 1
	run -0 --separate-stderr timeout 10 "$POOL_CTL" --backend ns down
	assert_equal "$output" ""
	[[ "$stderr" == *"nothing to down"* ]]
}

@test "a broken language table is a permanent error" {
	echo "[python" > "$TABLE"
	run -100 --separate-stderr "$POOL_CTL" status
	[[ "$stderr" == *"bad section header"* ]]
}

@test "--help and --version" {
	run -0 "$POOL_CTL" --help
	assert_line --index 0 "usage: pool-ctl [--backend ns|docker] [--slots N] [--languages FILE] [--json]"
	assert_line --index 1 --regexp '^ +up \| status \| watch \[--interval S\] \[--once\] \| down$'
	run -0 "$POOL_CTL" --version
	assert_output --regexp '^pool-ctl [0-9]+\.[0-9]+\.[0-9]+$'
}

@test "the service tree runs pool-ctl up then watch when SANDBOX_BACKEND=docker, and not otherwise" {
	local scripts=$BATS_TEST_DIRNAME/../scripts
	run -0 --separate-stderr "$scripts/service-tree" "$BATS_TEST_TMPDIR/docker" SANDBOX_BACKEND=docker
	[[ "$stderr" == *"codex-pool"* ]]
	run -0 cat "$BATS_TEST_TMPDIR/docker/sv/codex-pool/run"
	assert_output --regexp "/bin/codex-service' pool$"
	# ... which is pool-ctl up, then watch.
	run -0 grep '^pool)' "$BATS_TEST_DIRNAME/../bin/codex-service"
	assert_output --regexp 'pool-ctl" up && exec "[^ ]*/pool-ctl" watch'
	[ -x "$BATS_TEST_TMPDIR/docker/sv/codex-pool/log/run" ]
	run -0 --separate-stderr "$scripts/service-tree" "$BATS_TEST_TMPDIR/ns"
	[[ "$stderr" != *"codex-pool"* ]]
	[ ! -e "$BATS_TEST_TMPDIR/ns/sv/codex-pool" ]
}
