#!/usr/bin/env bats
# retryd is not built yet: it must say so and never pass for a stage that ran.
bats_require_minimum_version 1.5.0
load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'

BIN="$BATS_TEST_DIRNAME/../bin"

@test "retryd: every command exits 100 and says it is not built" {
	run -100 --separate-stderr "$BIN/retryd" run
	[[ "$stderr" == *"retryd: fatal: run: not implemented yet"* ]]
	assert_equal "$output" ""
}

@test "retryd answers --help and --version" {
	run -0 "$BIN/retryd" --help
	assert_line --index 0 --partial "usage: retryd"
	run -0 "$BIN/retryd" --version
	assert_output --regexp "^retryd [0-9]+\.[0-9]+\.[0-9]+$"
}
