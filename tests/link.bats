#!/usr/bin/env bats
# Each program links only the subsystems it uses (docs/architecture.md):
# the shared libraries it loads, and the modules of lib/ it carries,
# read with ldd(1) and nm(1) from the built programs.

bats_require_minimum_version 1.5.0

setup() {
	load '/usr/lib/bats/bats-support/load'
	load '/usr/lib/bats/bats-assert/load'
	BIN="$BATS_TEST_DIRNAME/../bin"
}

# loads PROGRAM LIBRARY: whether ldd lists the library (libjq, libseccomp...).
loads() {
	ldd "$BIN/$1" | awk '{print $1}' | grep -q "^$2\.so"
}

# carries PROGRAM FUNCTION: whether the program defines the function.
carries() {
	nm --defined-only "$BIN/$1" | awk '{print $3}' | grep -qx "$2"
}

@test "retryd loads neither jq nor seccomp and carries no judging or sandbox" {
	run ! loads retryd libjq
	run ! loads retryd libonig
	run ! loads retryd libseccomp
	run ! carries retryd cmp_init
	run ! carries retryd judging_line
	run ! carries retryd box_open
	carries retryd retry_mover_start
	loads retryd librdkafka
	loads retryd libhiredis
}

@test "pool-ctl loads neither seccomp, jq nor Kafka and carries no ns box" {
	run ! loads pool-ctl libseccomp
	run ! loads pool-ctl libjq
	run ! loads pool-ctl librdkafka
	run ! loads pool-ctl libhiredis
	run ! carries pool-ctl policy_load
	run ! carries pool-ctl box_open
	carries pool-ctl box_backend
	carries pool-ctl pool_create
}

@test "judge loads neither seccomp, Kafka nor Redis and carries no sandbox" {
	run ! loads judge libseccomp
	run ! loads judge librdkafka
	run ! loads judge libhiredis
	run ! carries judge box_open
	run ! carries judge kafka_client_new
	carries judge judging_line
}

@test "kcat-jobs loads no seccomp and carries no sandbox and no judging" {
	run ! loads kcat-jobs libseccomp
	run ! carries kcat-jobs box_open
	run ! carries kcat-jobs judging_line
	carries kcat-jobs kafka_client_new
}

@test "sandbox-exec loads neither Kafka nor Redis and carries no judging" {
	run ! loads sandbox-exec librdkafka
	run ! loads sandbox-exec libhiredis
	run ! carries sandbox-exec kafka_client_new
	run ! carries sandbox-exec judging_line
	carries sandbox-exec box_open
	carries sandbox-exec policy_load
}

@test "codex-agent is static and carries no judging, Kafka or telemetry" {
	run ldd "$BIN/codex-agent"
	assert_output --regexp 'not a dynamic executable|statically linked'
	run ! carries codex-agent judging_line
	run ! carries codex-agent otel_init
	run ! carries codex-agent kafka_client_new
	carries codex-agent policy_load
}
