#!/usr/bin/env bats
# The test infrastructure: scripts/kafka-up and redis-up start a real Kafka
# broker and a real Redis on 127.0.0.1; kafka-down and redis-down stop them.
# This file starts its own pair on ports away from the defaults (29092,
# 26379, or the next free ones), in its BATS_FILE_TMPDIR, so a developer's
# running broker or server is never touched.
bats_require_minimum_version 1.5.0
load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'

SCRIPTS=$(cd "$BATS_TEST_DIRNAME/../scripts" && pwd)
# These tests are about the scripts' own servers, not an existing cluster.
unset KAFKA_BROKERS REDIS_URL

setup_file() {
	export KDIR=$BATS_FILE_TMPDIR/kafka RDIR=$BATS_FILE_TMPDIR/redis
	# The first run on a machine installs packages and fetches the jars.
	KADDR=$(timeout 900 "$SCRIPTS/kafka-up" --dir "$KDIR" --port 29092 \
		--topics infra-a,infra-b)
	RURL=$(timeout 300 "$SCRIPTS/redis-up" --dir "$RDIR" --port 26379)
	export KADDR RURL KPORT=${KADDR##*:} RPORT=${RURL##*:}
}

teardown_file() {
	timeout 60 "$SCRIPTS/kafka-down" --dir "$KDIR"
	timeout 60 "$SCRIPTS/redis-down" --dir "$RDIR"
}

# listeners PID: the local addresses that process listens on, one a line.
listeners() {
	ss -Hltnp | awk -v p="pid=$1," 'index($0, p) { print $4 }'
}

# gone PID: no such process, or a zombie not yet reaped (no command line).
gone() {
	[ -z "$(tr -d '\0' 2>/dev/null < "/proc/$1/cmdline")" ]
}

@test "kafka-up: the broker answers metadata, on 127.0.0.1 only" {
	assert_regex "$KADDR" '^127\.0\.0\.1:[0-9]+$'
	run -0 timeout 30 kcat -b "$KADDR" -L
	assert_line "  broker 1 at $KADDR (controller)"
	# The PLAINTEXT and CONTROLLER listeners, and nothing on any address.
	run -0 listeners "$(cat "$KDIR/kafka.pid")"
	assert_equal "${#lines[@]}" 2
	refute_line --regexp '^(0\.0\.0\.0|\*|\[::\]):'
	assert_line "$KADDR"
	run -0 ss -Hltn "sport = :$KPORT"
	assert_equal "${#lines[@]}" 1
}

@test "kafka: a message produced with kcat is consumed back with its key" {
	msg="job $$ $RANDOM"
	run -0 timeout 60 sh -c 'printf "%s\n" "$1" |
		kcat -P -b "$2" -t t1 -k key' sh "$msg" "$KADDR"
	run -0 --separate-stderr timeout 60 kcat -C -b "$KADDR" -t t1 -o beginning -c 1 -f '%k %s\n'
	assert_output "key $msg"
}

@test "kafka-up --topics: the topics exist with 3 partitions" {
	for t in infra-a infra-b; do
		run -0 timeout 30 kcat -b "$KADDR" -L -t "$t"
		assert_line "  topic \"$t\" with 3 partitions:"
	done
}

@test "kafka-up twice: the same address and one broker process" {
	pid=$(cat "$KDIR/kafka.pid")
	run -0 --separate-stderr timeout 120 "$SCRIPTS/kafka-up" --dir "$KDIR" \
		--port 29092 --topics infra-a,infra-c
	assert_output "$KADDR"
	assert_equal "$(cat "$KDIR/kafka.pid")" "$pid"
	run -0 pgrep -fc "$KDIR/server.properties"
	assert_output 1
	run -0 timeout 30 kcat -b "$KADDR" -L -t infra-c
	assert_line '  topic "infra-c" with 3 partitions:'
}

@test "kafka-up: a broker that cannot start exits 111 with its log on stderr" {
	mkdir -p "$BATS_TEST_TMPDIR/jdk/bin"
	printf '#!/bin/sh\necho "no JVM here" >&2\nexit 1\n' \
		> "$BATS_TEST_TMPDIR/jdk/bin/java"
	chmod +x "$BATS_TEST_TMPDIR/jdk/bin/java"
	JAVA_HOME=$BATS_TEST_TMPDIR/jdk run -111 --separate-stderr \
		timeout 120 "$SCRIPTS/kafka-up" --dir "$BATS_TEST_TMPDIR/k"
	assert_output ""
	[[ "$stderr" == *"no JVM here"* ]]
	run -0 timeout 30 "$SCRIPTS/kafka-down" --dir "$BATS_TEST_TMPDIR/k"
}

@test "KAFKA_BROKERS and REDIS_URL: an existing cluster is used as is" {
	KAFKA_BROKERS=kafka.example:9092 run -0 --separate-stderr \
		"$SCRIPTS/kafka-up" --dir "$BATS_TEST_TMPDIR/k"
	assert_output kafka.example:9092
	REDIS_URL=redis://redis.example:6379 run -0 --separate-stderr \
		"$SCRIPTS/redis-up" --dir "$BATS_TEST_TMPDIR/r"
	assert_output redis://redis.example:6379
	assert [ ! -e "$BATS_TEST_TMPDIR/k" ]
	assert [ ! -e "$BATS_TEST_TMPDIR/r" ]
	# The down scripts leave a running server alone then.
	KAFKA_BROKERS=$KADDR run -0 "$SCRIPTS/kafka-down" --dir "$KDIR"
	REDIS_URL=$RURL run -0 "$SCRIPTS/redis-down" --dir "$RDIR"
	run -0 timeout 30 kcat -b "$KADDR" -L
	run -0 timeout 10 redis-cli -p "$RPORT" ping
	assert_output PONG
}

@test "redis-up: PING, SET and GET answer, on 127.0.0.1 only" {
	assert_regex "$RURL" '^redis://127\.0\.0\.1:[0-9]+$'
	run -0 timeout 10 redis-cli -u "$RURL" ping
	assert_output PONG
	run -0 timeout 10 redis-cli -u "$RURL" set infra:key "v $$"
	assert_output OK
	run -0 timeout 10 redis-cli -u "$RURL" get infra:key
	assert_output "v $$"
	run -0 listeners "$(cat "$RDIR/redis.pid")"
	assert_output "127.0.0.1:$RPORT"
	# No persistence.
	run -0 timeout 10 redis-cli -u "$RURL" config get save
	assert_line --index 1 ""
	run -0 timeout 10 redis-cli -u "$RURL" config get appendonly
	assert_line --index 1 no
}

@test "redis-up twice: the same address and one server" {
	pid=$(cat "$RDIR/redis.pid")
	run -0 --separate-stderr timeout 60 "$SCRIPTS/redis-up" --dir "$RDIR" --port 26379
	assert_output "$RURL"
	assert_equal "$(cat "$RDIR/redis.pid")" "$pid"
	run -0 pgrep -fc "redis-server 127.0.0.1:$RPORT"
	assert_output 1
}

# Last: it stops the servers of this file (teardown_file then finds none).
@test "kafka-down and redis-down leave no process and no directory behind" {
	kpid=$(cat "$KDIR/kafka.pid") rpid=$(cat "$RDIR/redis.pid")
	run -0 timeout 60 "$SCRIPTS/kafka-down" --dir "$KDIR"
	run -0 timeout 60 "$SCRIPTS/redis-down" --dir "$RDIR"
	run -1 pgrep -f "$KDIR/server.properties"
	run -1 pgrep -f "redis-server 127.0.0.1:$RPORT"
	gone "$kpid"
	gone "$rpid"
	run -0 ss -Hltn "( sport = :$KPORT or sport = :$RPORT )"
	assert_output ""
	assert [ ! -e "$KDIR" ]
	assert [ ! -e "$RDIR" ]
}
