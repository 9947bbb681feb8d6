#!/usr/bin/env bats
# kcat-jobs and retryd are not built yet: they must say so and never pass
# for a stage that ran.
bats_require_minimum_version 1.5.0
load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'

BIN="$BATS_TEST_DIRNAME/../bin"

@test "kcat-jobs: every command exits 100 and says it is not built" {
	run -100 --separate-stderr "$BIN/kcat-jobs" consume
	[[ "$stderr" == *"kcat-jobs: fatal: consume: not implemented yet"* ]]
	assert_equal "$output" ""
	run -100 --separate-stderr "$BIN/kcat-jobs"
}

@test "retryd: every command exits 100 and says it is not built" {
	run -100 --separate-stderr "$BIN/retryd" run
	[[ "$stderr" == *"retryd: fatal: run: not implemented yet"* ]]
}

@test "kcat-jobs and retryd answer --help and --version" {
	for p in kcat-jobs retryd; do
		run -0 "$BIN/$p" --help
		assert_line --index 0 --partial "usage: $p"
		run -0 "$BIN/$p" --version
		assert_output --regexp "^$p [0-9]+\.[0-9]+\.[0-9]+$"
	done
}
