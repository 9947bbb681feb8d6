# Kafka helpers of the suites that talk to a broker: `load kafka-helpers`
# after `load helpers`.
#
# One broker per file (kafka_up in setup_file, kafka_down in
# teardown_file); every test takes topics and a consumer group of its own
# (kafka_lane), produces with kcat, reads topics back with `kcat -C -J`, and
# runs kcat-jobs in the background under `timeout` (bg_start, bg_stop,
# bg_wait), so no test sees another's messages or offsets.

KCJ=$ROOT/bin/kcat-jobs
SCRIPTS=$ROOT/scripts
KAFKA_TIMEOUT=120	# seconds any kcat-jobs of a test may live

# A cluster or names of the caller's environment would change what is under
# test: the broker is the suite's own (docs/test-infra.md).
unset KAFKA_BROKERS KAFKA_DLQ_TOPIC KAFKA_MAX_RETRIES REDIS_URL \
	KAFKA_SUBMISSION_JOBS_TOPIC KAFKA_SUBMISSION_RESULTS_TOPIC KAFKA_SUBMISSION_GROUP_ID \
	KAFKA_RUN_JOBS_TOPIC KAFKA_RUN_RESULTS_TOPIC KAFKA_RUN_GROUP_ID \
	KAFKA_CUSTOM_JOBS_TOPIC KAFKA_CUSTOM_RESULTS_TOPIC KAFKA_CUSTOM_GROUP_ID

# kafka_up PORT [TOPICS]: starts the file's broker in $BATS_FILE_TMPDIR/kafka
# (TOPICS, comma-separated, created with 3 partitions); exports BROKER and
# KDIR.
kafka_up() {
	export KDIR=$BATS_FILE_TMPDIR/kafka
	BROKER=$(timeout 900 "$SCRIPTS/kafka-up" --dir "$KDIR" --port "$1" ${2:+--topics "$2"}) ||
		return 1
	export BROKER
}

kafka_down() {
	timeout 60 "$SCRIPTS/kafka-down" --dir "$KDIR"
}

# kafka_lane LANE: the test's own names for LANE, in the environment
# kcat-jobs reads (lib/judge/lane.c) and in JOBS, RESULTS, GROUP, DLQ.
kafka_lane() {
	local env suffix=t$BATS_TEST_NUMBER-$RANDOM
	case $1 in
	submit) env=SUBMISSION ;;
	run) env=RUN ;;
	custom) env=CUSTOM ;;
	*) fail "kafka_lane: no lane $1" ;;
	esac
	LANE=$1
	JOBS=$1-jobs-$suffix RESULTS=$1-results-$suffix GROUP=$1-group-$suffix DLQ=dlq-$suffix
	export "KAFKA_${env}_JOBS_TOPIC=$JOBS" "KAFKA_${env}_RESULTS_TOPIC=$RESULTS" \
		"KAFKA_${env}_GROUP_ID=$GROUP" "KAFKA_DLQ_TOPIC=$DLQ"
}

# produce_jobs TOPIC [KCAT_OPTION...] < JOB_LINES: one message per job line,
# its key the job's id (submissionId or tempId).
produce_jobs() {
	local topic=$1
	shift
	jq -r '"\(.submissionId // .tempId)\t\(tojson)"' |
		timeout 30 kcat -P -b "$BROKER" -t "$topic" -K $'\t' "$@"
}

# produce_raw TOPIC KEY VALUE [KCAT_OPTION...]: one message whose value is
# exactly the bytes of VALUE (no newline added).
produce_raw() {
	local topic=$1 key=$2 file=$BATS_TEST_TMPDIR/raw-value
	printf '%s' "$3" > "$file"
	shift 3
	timeout 30 kcat -P -b "$BROKER" -t "$topic" -k "$key" "$@" "$file"
}

# topic_json TOPIC: every message of TOPIC as `kcat -J` prints it (topic,
# partition, offset, key, payload, headers as [name, value, ...]), one a
# line; nothing while the topic does not exist yet.
topic_json() {
	timeout 30 kcat -C -b "$BROKER" -t "$1" -o beginning -e -J -q 2> /dev/null || true
}

# topic_messages TOPIC: every message of TOPIC as {key, value (the payload
# parsed as JSON), headers (an object), partition, offset}.
topic_messages() {
	topic_json "$1" | jq -c '{key, partition, offset, value: (.payload | fromjson? // .),
		headers: ((.headers // []) as $h
			| [range(0; $h | length; 2) as $i | {key: $h[$i], value: $h[$i + 1]}]
			| from_entries)}'
}

# topic_count TOPIC: how many messages TOPIC holds.
topic_count() {
	topic_json "$1" | grep -c . || true
}

# topic_keys TOPIC: how many distinct keys TOPIC's messages have.
topic_keys() {
	topic_json "$1" | jq -r .key | sort -u | grep -c . || true
}

# wait_until SECONDS COMMAND...: runs COMMAND every 0.3 s until it
# succeeds; fails after SECONDS.
wait_until() {
	local deadline=$((SECONDS + $1))
	shift
	until "$@"; do
		[ "$SECONDS" -lt "$deadline" ] || fail "not true after the time allowed: $*"
		sleep 0.3
	done
}

# has_messages TOPIC N: TOPIC holds at least N messages.
has_messages() {
	[ "$(topic_count "$1")" -ge "$2" ]
}

# has_keys TOPIC N: TOPIC's messages have at least N distinct keys.
has_keys() {
	[ "$(topic_keys "$1")" -ge "$2" ]
}

# log_count NAME TEXT: how many log lines of the background NAME's stderr
# have a message starting with TEXT.
log_count() {
	jq -r .msg "$BATS_TEST_TMPDIR/$1.err" 2> /dev/null | grep -c "^$2" || true
}

# has_logged NAME TEXT N: NAME logged at least N messages starting with TEXT.
has_logged() {
	[ "$(log_count "$1" "$2")" -ge "$3" ]
}

# consumed_ids NAME: the ids of the jobs NAME logged as consumed, one a line.
consumed_ids() {
	jq -r 'select(.msg | startswith("consumed ")) | .submissionId // .tempId' \
		"$BATS_TEST_TMPDIR/$1.err"
}

# bg_start NAME COMMAND...: COMMAND under `timeout $KAFKA_TIMEOUT` in the
# background, stdout in $BATS_TEST_TMPDIR/NAME.out, stderr in NAME.err, pid
# (of timeout, which passes SIGTERM on) in NAME.pid.
bg_start() {
	local name=$1
	shift
	timeout "$KAFKA_TIMEOUT" "$@" > "$BATS_TEST_TMPDIR/$name.out" \
		2> "$BATS_TEST_TMPDIR/$name.err" 3>&- &
	echo $! > "$BATS_TEST_TMPDIR/$name.pid"
}

# bg_start_session NAME COMMAND...: bg_start in a session of its own, for
# bg_kill_session.
bg_start_session() {
	local name=$1
	shift
	bg_start "$name" setsid "$@"
}

# bg_wait NAME: waits for NAME to end; its exit status in BG_STATUS.
bg_wait() {
	BG_STATUS=0
	wait "$(cat "$BATS_TEST_TMPDIR/$1.pid")" || BG_STATUS=$?
	rm -f "$BATS_TEST_TMPDIR/$1.pid"
}

# bg_stop NAME: SIGTERM, then bg_wait.
bg_stop() {
	kill -TERM "$(cat "$BATS_TEST_TMPDIR/$1.pid")"
	bg_wait "$1"
}

# bg_kill_session NAME: SIGKILL to every process of the session NAME was
# started in (bg_start_session: timeout's child is setsid's exec), as a
# crash of the machine would; bg_wait after it.
bg_kill_session() {
	local sid
	sid=$(pgrep -P "$(cat "$BATS_TEST_TMPDIR/$1.pid")") || fail "no session leader for $1"
	# shellcheck disable=SC2046
	kill -KILL $(ps -eo pid=,sid= | awk -v s="$sid" '$2 == s { print $1 }') 2> /dev/null || true
	bg_wait "$1"
}

# bg_cleanup: stops whatever a failed test left running (SIGTERM, 5 s,
# SIGKILL): for teardown.
bg_cleanup() {
	local f pid i
	for f in "$BATS_TEST_TMPDIR"/*.pid; do
		[ -e "$f" ] || continue
		pid=$(cat "$f")
		kill -TERM "$pid" 2> /dev/null || continue
		for ((i = 0; i < 50; i++)); do
			kill -0 "$pid" 2> /dev/null || break
			sleep 0.1
		done
		kill -KILL "$pid" $(pgrep -P "$pid") 2> /dev/null || true
		wait "$pid" 2> /dev/null || true
	done
}

# pipeline_start NAME [OPTION...] -- COMMAND...: `kcat-jobs pipeline` of
# the test's lane in the background (bg_start).
pipeline_start() {
	local name=$1
	shift
	bg_start "$name" "$KCJ" pipeline --lane "$LANE" -b "$BROKER" "$@"
}
