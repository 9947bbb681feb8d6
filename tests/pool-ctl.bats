#!/usr/bin/env bats
# pool-ctl: the slots of this host, as a table and as JSON lines.
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
	[[ "$stderr" == *"usage: pool-ctl status"* ]]
	run -100 --separate-stderr "$POOL_CTL" status --slots 0
	[[ "$stderr" == *"--slots: '0' is not a number in 1..1024"* ]]
	run -100 --separate-stderr "$POOL_CTL" status --frobnicate
}

@test "commands of the Docker pool are not there yet and say so" {
	run -100 --separate-stderr "$POOL_CTL" up
	[[ "$stderr" == *"pool-ctl: fatal: up: not implemented yet (status is)"* ]]
}

@test "a broken language table is a permanent error" {
	echo "[python" > "$TABLE"
	run -100 --separate-stderr "$POOL_CTL" status
	[[ "$stderr" == *"bad section header"* ]]
}

@test "--help and --version" {
	run -0 "$POOL_CTL" --help
	assert_line --index 0 "usage: pool-ctl status [--slots N] [--languages FILE] [--json]"
	run -0 "$POOL_CTL" --version
	assert_output --regexp '^pool-ctl [0-9]+\.[0-9]+\.[0-9]+$'
}
