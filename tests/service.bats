#!/usr/bin/env bats
# The service as it runs (DESIGN.md section 3, docs/pipeline.md "Retries",
# docs/running.md): a lane pipeline with `retryd schedule` in it and the
# `retryd run` mover beside it retries an infrastructure failure once its
# backoff is over, and dead-letters a job out of attempts with an
# internal_error result; the runit service tree (scripts/service-tree
# under runsvdir) loses no job while its programs are killed and the
# broker and Redis restart, and drains on SIGTERM.
# One Kafka broker (port 39692 or the next free one) and one Redis (36479)
# of the file's own in BATS_FILE_TMPDIR. Every test has its own topics and
# consumer group; retryd takes a sorted set of the test's (--key) where the
# test starts it, the tree's services use RETRY_QUEUE: Redis is flushed
# before each test. Fixtures are in tests/fixtures/service/. Needs root
# (sandbox-exec, runsvdir, the codex user), runit, and bin/* built.
bats_require_minimum_version 1.5.0
load helpers
load kafka-helpers

SFIX=$ROOT/tests/fixtures/service
RETRYD=$ROOT/bin/retryd
LANE_TOPICS=SUBMISSION_JOBS,SUBMISSION_RESULTS,RUN_JOBS,RUN_RESULTS,CUSTOM_JOBS,CUSTOM_RESULTS,DLQ_QUEUE
# The retry settings under test are the tests' own.
unset KAFKA_RETRY_BASE_SECONDS KAFKA_RETRY_MAX_SECONDS KAFKA_RETRY_QUEUE_CAP \
	KAFKA_IDEMPOTENCY_KEY_EXPIRY LOG_LEVEL LOG_FORMAT

setup_file() {
	kafka_up 39692 "$LANE_TOPICS" || return 1
	export RDIR=$BATS_FILE_TMPDIR/redis
	# Trees running ("DIR PID" of their timeout), and every runsvdir pid
	# ever started, for the last test.
	export TREES=$BATS_FILE_TMPDIR/trees RUNSVDIRS=$BATS_FILE_TMPDIR/runsvdirs
	RURL=$(timeout 60 "$SCRIPTS/redis-up" --dir "$RDIR" --port 36479) || return 1
	export RURL RPORT=${RURL##*:}
	: > "$TREES"
	: > "$RUNSVDIRS"
}

teardown_file() {
	local dir pid
	while read -r dir pid; do
		tree_stop "$dir"
	done < <(cat "$TREES")
	kafka_down
	timeout 60 "$SCRIPTS/redis-down" --dir "$RDIR"
}

setup() {
	cd "$ROOT"
	# A test before may have stopped them (the chaos test restarts both).
	timeout 120 "$SCRIPTS/kafka-up" --dir "$KDIR" --port "${BROKER##*:}" --topics "$LANE_TOPICS" > /dev/null
	timeout 60 "$SCRIPTS/redis-up" --dir "$RDIR" --port "$RPORT" > /dev/null
	rcli FLUSHALL > /dev/null
	KEY=RQ$BATS_TEST_NUMBER
	TREE=''
}

teardown() {
	bg_cleanup
	[ -n "$TREE" ] || return 0
	tree_stop "$TREE"
	[ -n "$BATS_TEST_COMPLETED" ] || keep_logs
}

rcli() {
	timeout 10 redis-cli -p "$RPORT" "$@"
}

now_ms() {
	date +%s%3N
}

# hello_jobs PREFIX FIRST LAST: quick custom python jobs PREFIX-FIRST ..
# PREFIX-LAST, one a line, each printing its id.
hello_jobs() {
	jq -cn --arg p "$1" --argjson a "$2" --argjson b "$3" 'range($a; $b + 1) | "\($p)-\(.)" as $id
		| {tempId: $id, language: "python", userCode: ("print(\"\($id)\")\n" | tojson)}'
}

# sleepy_jobs PREFIX FIRST LAST: hello_jobs that sleep 0.3 s first.
sleepy_jobs() {
	jq -cn --arg p "$1" --argjson a "$2" --argjson b "$3" 'range($a; $b + 1) | "\($p)-\(.)" as $id
		| {tempId: $id, language: "python",
		   userCode: ("import time\ntime.sleep(0.3)\nprint(\"\($id)\")\n" | tojson)}'
}

# topic_json TOPIC: kafka-helpers' topic_json, at a fraction of the cost:
# kcat -e waits a whole fetch (fetch.wait.max.ms, 500 ms) at the end of
# each partition, and the retry test looks at topics within a backoff.
topic_json() {
	timeout 30 kcat -C -b "$BROKER" -t "$1" -o beginning -e -J -q -X fetch.wait.max.ms=10 \
		2> /dev/null || true
}

# result_keys: the keys of the results topic's messages, sorted, repeats kept.
result_keys() {
	topic_json "$RESULTS" | jq -r .key | sort
}

# log_of NAME: the JSON log lines of the background NAME (bg_start), by
# every stage of its pipeline.
log_of() {
	jq -c . "$BATS_TEST_TMPDIR/$1.err" 2> /dev/null
}

# --- retries through Redis ---------------------------------------------------

# retry_pipeline [OPTION...]: the test's run lane as `kcat-jobs pipeline`,
# its middle `sandbox-exec | judge | jq -f $INJECT | retryd schedule`
# (OPTIONs, the test's set) in the background (p), and the mover of the
# set (mover), claiming every 200 ms.
retry_pipeline() {
	pipeline_start p -r "$RURL" -- sh -c "bin/sandbox-exec | bin/judge |
		jq -c --unbuffered -f '$INJECT' | bin/retryd schedule --redis '$RURL' --key '$KEY' $*"
	bg_start mover "$RETRYD" run -b "$BROKER" --redis "$RURL" --key "$KEY" --interval 200
}

# stored: the test's set holds an entry.
stored() {
	[ "$(rcli ZCARD "$KEY")" -ge 1 ]
}

# sets_empty: the test's set and its in-flight set are empty.
sets_empty() {
	[ "$(rcli ZCARD "$KEY")" = 0 ] && [ "$(rcli ZCARD "$KEY:inflight")" = 0 ]
}

# jobs_topic: the job topic's messages (topic_messages) plus ts, in order.
jobs_topic() {
	topic_json "$JOBS" | jq -c '{key, partition, offset, ts, payload,
		headers: ((.headers // []) as $h | [range(0; $h | length; 2) as $i
			| {key: $h[$i], value: $h[$i + 1]}] | from_entries)}' | jq -s -c 'sort_by(.ts) | .[]'
}

@test "an infrastructure failure is retried after its backoff, not before, then succeeds" {
	kafka_lane run
	INJECT=$SFIX/fail-first-attempt.jq
	local slack=1000 job
	job=$(jq -c . "$SFIX/run-job.json")
	retry_pipeline --base 2
	produce_jobs "$JOBS" <<< "$job"

	# Attempt 1 fails; retryd stores it, due in 2 s (+0-10 %).
	wait_until 60 stored
	run -0 rcli ZRANGE "$KEY" 0 -1 WITHSCORES
	assert_equal "${#lines[@]}" 2
	local entry=${lines[0]} score=${lines[1]} due_ms
	due_ms=$(jq -n "$score * 1000 | floor")
	# Not before it is due: 0.8 s before, still stored, no re-publish, no
	# result (all looked at before the due time).
	local wait_ms=$((due_ms - 800 - $(now_ms))) early
	[ "$wait_ms" -le 0 ] || sleep "$(jq -n "$wait_ms / 1000")"
	early=$(rcli ZCARD "$KEY"):$(rcli ZCARD "$KEY:inflight"):$(topic_count "$JOBS"):$(topic_count "$RESULTS")
	[ "$(now_ms)" -lt "$due_ms" ] || fail "too slow to look before the due time"
	assert_equal "$early" 1:0:1:0

	local failed consumed
	failed=$(log_of p | jq -c 'select(.name == "retryd" and (.msg | startswith("retry scheduled: attempt 1 failed")))')
	consumed=$(log_of p | jq -c 'select(.name == "kcat-jobs" and (.msg | startswith("consumed ")))')
	assert_equal "$(jq -r .tempId <<< "$failed")" run-retried
	assert_equal "$(grep -c . <<< "$consumed")" 1
	# The score is the due time: base 2 s to 2.2 s after the failure, as
	# logged ("retry 2 in S s").
	jq -en --argjson f "$failed" --argjson due "$due_ms" '
		($due - $f.time) as $d
		| ($f.msg | capture("retry 2 in (?<s>[0-9.]+) s").s | tonumber * 1000) as $said
		| $d >= 2000 - 50 and $d <= 2200 and ($d - $said | fabs) <= 50' > /dev/null ||
		fail "score $score, failure logged: $failed"
	jq -en --argjson e "$entry" --argjson c "$consumed" --arg jobs "$JOBS" --argjson job "$job" '
		$e.topic == $jobs and $e.key == "run-retried" and ($e.value | fromjson) == $job
		and $e.headers["x-retry-count"] == "1"
		and ($e.headers["x-first-seen"] | tonumber) == ($c.time / 1000 | floor)' > /dev/null ||
		fail "entry $entry (consumed: $consumed)"
	run -0 "$SCRIPTS/validate-schema" retry-entry <<< "$entry"

	# Then re-published with x-retry-count 1, run again, accepted.
	wait_until 60 has_messages "$RESULTS" 1
	wait_until 10 sets_empty
	run -0 jobs_topic
	assert_equal "${#lines[@]}" 2
	local first=${lines[0]} again=${lines[1]}
	jq -en --argjson a "$first" --argjson b "$again" --argjson e "$entry" '
		$b.key == "run-retried" and $b.payload == $a.payload and $b.partition == $a.partition
		and $b.headers == {"x-retry-count": "1", "x-first-seen": $e.headers["x-first-seen"]}' > /dev/null ||
		fail "first $first, again $again"
	# The delay: from the first attempt (consumed) to the re-publish.
	local delay
	delay=$(jq -n --argjson b "$again" --argjson c "$consumed" '$b.ts - $c.time')
	echo "# backoff 2 s: re-published $delay ms after the first attempt, due after $((due_ms - $(jq .time <<< "$consumed"))) ms" >&3
	[ "$(jq -n --argjson b "$again" '$b.ts')" -ge "$due_ms" ] || fail "re-published at $(jq .ts <<< "$again"), due $due_ms"
	[ "$delay" -ge 2000 ] && [ "$delay" -le $((2200 + slack)) ] || fail "re-published after $delay ms"

	# The second attempt is the one with the result.
	run -0 jq -r 'select(.name == "kcat-jobs" and (.msg | startswith("consumed "))) | .msg' < <(log_of p)
	assert_equal "${lines[1]}" "consumed ${JOBS}[$(jq .partition <<< "$again")]@$(jq .offset <<< "$again")"
	run -0 topic_messages "$RESULTS"
	assert_equal "${#lines[@]}" 1
	jq -e '.key == "run-retried" and .value.tempId == "run-retried"
		and .value.executionResult.verdict == "accepted"
		and .value.executionResult.testResults[0].output == "42\n"' <<< "${lines[0]}" > /dev/null ||
		fail "result: $(short <<< "${lines[0]}")"
	jq -c .value <<< "${lines[0]}" | "$SCRIPTS/validate-schema" run-result
	# No result before the re-publish, so none within 2 s of the first attempt.
	[ "$(jq .ts < <(topic_json "$RESULTS"))" -ge "$(jq .ts <<< "$again")" ]
	assert_equal "$(log_of p | grep -c '"msg":"retry scheduled: attempt ')" 1
	bg_stop p
	assert_equal "$BG_STATUS" 0
	bg_stop mover
	assert_equal "$BG_STATUS" 0
}

@test "a job that keeps failing ends in the DLQ with an internal_error result after the maximum attempts" {
	kafka_lane run
	INJECT=$SFIX/fail-every-attempt.jq
	export KAFKA_MAX_RETRIES=2
	local job
	job=$(jq -c '.tempId = "run-doomed"' "$SFIX/run-job.json")
	retry_pipeline --base 0.5
	produce_jobs "$JOBS" <<< "$job"
	wait_until 60 has_messages "$DLQ" 1
	wait_until 30 has_messages "$RESULTS" 1
	sleep 1	# anything more would come now
	bg_stop p
	assert_equal "$BG_STATUS" 0
	bg_stop mover
	assert_equal "$BG_STATUS" 0

	# Attempts 1, 2 and 3 on the jobs topic: the job as produced, then
	# re-published with x-retry-count 1 and 2.
	run -0 jobs_topic
	assert_equal "${#lines[@]}" 3
	assert_equal "$(printf '%s\n' "${lines[@]}" | jq -c '[.key, .headers["x-retry-count"]]' | tr '\n' ' ')" \
		'["run-doomed",null] ["run-doomed","1"] ["run-doomed","2"] '
	local last=${lines[2]}
	run -0 jq -e -s 'map(.payload | fromjson) | unique | length == 1' < <(printf '%s\n' "${lines[@]}")
	assert_equal "$(log_of p | jq -r 'select(.name == "kcat-jobs") | .msg' | grep -c '^consumed ')" 3
	assert_equal "$(log_of p | jq -r 'select(.name == "retryd") | .msg' | grep -c '^retry scheduled: attempt [12] failed')" 2

	# The DLQ: the job, max-retries-reached, x-retry-count 2, naming attempt 3.
	run -0 topic_messages "$DLQ"
	assert_equal "${#lines[@]}" 1
	jq -e --argjson job "$job" --argjson last "$last" --arg jobs "$JOBS" '.key == "run-doomed"
		and .value == $job
		and .headers["x-error"] == "max-retries-reached" and .headers["x-retry-count"] == "2"
		and .headers["x-original-topic"] == $jobs
		and .headers["x-original-partition"] == ($last.partition | tostring)
		and .headers["x-original-offset"] == ($last.offset | tostring)' <<< "${lines[0]}" > /dev/null ||
		fail "dead letter: ${lines[0]}"

	# Exactly one result: internal_error in the run lane's shape.
	run -0 topic_messages "$RESULTS"
	assert_equal "${#lines[@]}" 1
	jq -e '.key == "run-doomed" and .value.tempId == "run-doomed"
		and .value.executionResult.verdict == "internal_error"
		and (.value.executionResult.stats | (.executionTimeMs | type) == "number"
			and (.memoryMB | type) == "number" and .totalTestCase == 1 and .passedTestCase == 0)
		and (.value.executionResult.failedTestCase.output | contains("injected"))' <<< "${lines[0]}" > /dev/null ||
		fail "result: ${lines[0]}"
	jq -c .value <<< "${lines[0]}" | "$SCRIPTS/validate-schema" run-result
	run -0 sets_empty
}

@test "the result of a retried job says which attempt produced it" {
	# DESIGN.md section 2 ("What we add": attempt), docs/schemas/common.json:
	# the result says which attempt produced it, 1 + x-retry-count.
	kafka_lane run
	INJECT=$SFIX/fail-first-attempt.jq
	retry_pipeline --base 0.5
	jq -c '.tempId = "run-attempt"' "$SFIX/run-job.json" | produce_jobs "$JOBS"
	wait_until 60 has_messages "$RESULTS" 1
	bg_stop p
	assert_equal "$BG_STATUS" 0
	bg_stop mover
	assert_equal "$BG_STATUS" 0
	assert_equal "$(topic_count "$JOBS")" 2
	run -0 topic_messages "$RESULTS"
	assert_equal "${#lines[@]}" 1
	assert_equal "$(jq -c '.value.executionResult.verdict' <<< "${lines[0]}")" '"accepted"'
	assert_equal "$(jq -c '.value.executionResult.attempt' <<< "${lines[0]}")" 2
}

# --- the service tree --------------------------------------------------------

# tree_start [KEY=VALUE...]: the service tree (scripts/service-tree) in
# $BATS_TEST_TMPDIR/tree, its envdir naming our broker and Redis, the
# test's topics and group for its lane (kafka_lane) and the KEY=VALUEs,
# under runsvdir in a session of its own, in `timeout`; TREE is its
# directory. The other lanes run too, on the platform's topics, idle.
tree_start() {
	local env
	case $LANE in
	submit) env=SUBMISSION ;;
	run) env=RUN ;;
	custom) env=CUSTOM ;;
	esac
	TREE=$BATS_TEST_TMPDIR/tree
	"$SCRIPTS/service-tree" "$TREE" "KAFKA_BROKERS=$BROKER" "REDIS_URL=$RURL" \
		"KAFKA_${env}_JOBS_TOPIC=$JOBS" "KAFKA_${env}_RESULTS_TOPIC=$RESULTS" \
		"KAFKA_${env}_GROUP_ID=$GROUP" "KAFKA_DLQ_TOPIC=$DLQ" "$@" 2> /dev/null
	timeout 600 setsid runsvdir "$TREE/sv" > /dev/null 2>&1 < /dev/null 3>&- &
	local to=$!
	echo "$TREE $to" >> "$TREES"
	wait_until 10 eval 'pgrep -P "$to" >> "$RUNSVDIRS"'
	wait_until 30 service_pid "codex-$LANE" > /dev/null
}

# tree_stop DIR: the stop of docs/running.md: every service drains
# (SIGTERM) for up to 60 s, every runsv ends, then runsvdir (HUP).
tree_stop() {
	local dir=$1 pid svdir i
	pid=$(awk -v d="$dir" '$1 == d { print $2 }' "$TREES")
	[ -n "$pid" ] || return 0
	timeout 90 sv -w 60 force-stop "$dir"/sv/* > /dev/null 2>&1 || true
	timeout 30 sv exit "$dir"/sv/* > /dev/null 2>&1 || true
	svdir=$(pgrep -P "$pid")
	[ -z "$svdir" ] || kill -HUP "$svdir" 2> /dev/null || true
	for ((i = 0; i < 300; i++)); do
		kill -0 "$pid" 2> /dev/null || break
		sleep 0.1
	done
	wait "$pid" 2> /dev/null || true
	awk -v d="$dir" '$1 != d' "$TREES" > "$TREES.new"
	mv "$TREES.new" "$TREES"
}

# keep_logs: the tree's service logs into BATS_FILE_TMPDIR (kept with
# `bats --no-tempdir-cleanup`), and their tails on stderr, for a failure.
keep_logs() {
	local keep=$BATS_FILE_TMPDIR/logs-$BATS_TEST_NUMBER svc
	mkdir -p "$keep"
	for svc in "$TREE"/log/*; do
		cat "$svc"/@* "$svc/current" > "$keep/${svc##*/}.log" 2> /dev/null
		echo "--- tail of ${svc##*/} (all of it in $keep/${svc##*/}.log)" >&2
		tail -n 30 "$svc/current" >&2
	done
}

# lane_log: the lines of the lane's service log (the rotated files, then
# current), the svlogd time stamp cut.
lane_log() {
	cat "$TREE/log/codex-$LANE"/@* "$TREE/log/codex-$LANE/current" 2> /dev/null | cut -d ' ' -f 2-
}

# service_pid SERVICE: the pid of SERVICE as runsv tells it, if it runs.
service_pid() {
	sv status "$TREE/sv/$1" 2> /dev/null | sed -n 's/^run: [^(]*(pid \([0-9]*\)).*/\1/p' | grep .
}

# child_named PID NAME: the child of PID whose command is NAME.
child_named() {
	local c
	for c in $(cat /proc/"$1"/task/*/children 2> /dev/null); do
		if [ "$(cat "/proc/$c/comm" 2> /dev/null)" = "$2" ]; then
			echo "$c"
			return 0
		fi
	done
	return 1
}

# stage_pid NAME: the pid of the lane's stage NAME (sandbox-exec, judge or
# retryd): a child of the sh that the lane's kcat-jobs started.
stage_pid() {
	local kcj sh
	kcj=$(service_pid "codex-$LANE") && sh=$(child_named "$kcj" sh) && child_named "$sh" "$1"
}

# restarted SERVICE PID: SERVICE runs with another pid than PID.
restarted() {
	local now
	now=$(service_pid "$1") && [ "$now" != "$2" ]
}

# kill_stage NAME: kill -9 the lane's stage NAME (or "kcat-jobs", the
# pipeline itself); runit starts the lane again.
kill_stage() {
	local stage=$1 pid lane
	wait_until 30 eval 'lane=$(service_pid "codex-$LANE")'
	if [ "$stage" = kcat-jobs ]; then
		pid=$lane
	else
		wait_until 30 eval 'pid=$(stage_pid "$stage")'
	fi
	kill -KILL "$pid"
	wait_until 30 restarted "codex-$LANE" "$lane"
}

# kill_mover: kill -9 the codex-retryd service's retryd run; runit starts
# it again.
kill_mover() {
	local pid
	wait_until 30 eval 'pid=$(service_pid codex-retryd)'
	kill -KILL "$pid"
	wait_until 30 restarted codex-retryd "$pid"
}

# store_retries N: N hello jobs ch-r-1 .. ch-r-N as entries of the tree's
# retry set (RETRY_QUEUE) as `retryd schedule` stores them (attempt 1
# failed), due one every 0.1 s from now: the mover has work when it is
# killed. RETRIED counts them.
store_retries() {
	local args
	mapfile -t args < <(hello_jobs ch-r 1 "$1" | jq -rn --argjson now "$(now_ms)" --arg t "$JOBS" '
		($now / 1000 | floor | tostring) as $seen
		| [inputs] | to_entries[]
		| (($now + .key * 100) / 1000 | tostring),
		  ({topic: $t, key: .value.tempId, value: (.value | tojson),
		    headers: {"x-retry-count": "1", "x-first-seen": $seen}, firstSeen: $seen,
		    id: .value.tempId} | tojson)')
	assert_equal "$(rcli ZADD RETRY_QUEUE "${args[@]}")" "$1"
	RETRIED=$1
}

# kill_busy_mover: kill -9 the mover while it has the retries of
# store_retries 20 to move.
kill_busy_mover() {
	store_retries 20
	sleep 1
	kill_mover
}

# retry_set_empty: the tree's retry set (RETRY_QUEUE) and its in-flight set
# are empty.
retry_set_empty() {
	[ "$(rcli ZCARD RETRY_QUEUE)" = 0 ] && [ "$(rcli ZCARD RETRY_QUEUE:inflight)" = 0 ]
}

# restart_redis: Redis stopped and started again on its port. Its data go
# (the suite's Redis keeps nothing on disk, unlike a deployment's), so we
# wait until no retry is stored: that loss would be the test server's.
restart_redis() {
	wait_until 60 retry_set_empty
	timeout 30 "$SCRIPTS/redis-down" --dir "$RDIR"
	sleep 2
	run -0 --separate-stderr timeout 30 "$SCRIPTS/redis-up" --dir "$RDIR" --port "$RPORT"
	assert_output "$RURL"
}

# restart_broker: the broker stopped and started again, its data kept.
restart_broker() {
	run -0 --separate-stderr timeout 120 "$SCRIPTS/kafka-up" --dir "$KDIR" --restart
	assert_output "$BROKER"
}

# produced_lines: how many results the lane logged as produced.
produced_lines() {
	lane_log | grep -c '"msg":"produced' || true
}

# next_batch: the next BATCH jobs (ch-SENT+1 ..) to the lane, one in ten
# of them hostile or poison (tests/fixtures/service/chaos-jobs); returns
# once the lane logged 3 of them produced: the rest are in flight, in
# every stage. FLIGHT: how many of them have no result then.
next_batch() {
	local before deadline=$((SECONDS + 60))
	before=$(produced_lines)
	"$SFIX/chaos-jobs" batch $((SENT + 1)) $((SENT + BATCH)) |
		timeout 30 kcat -P -b "$BROKER" -t "$JOBS" -K $'\t'
	SENT=$((SENT + BATCH))
	until [ "$(produced_lines)" -ge $((before + 3)) ]; do
		[ "$SECONDS" -lt "$deadline" ] || fail "no result of the new batch in 60 s"
		sleep 0.02
	done
	FLIGHT=$((before + BATCH - $(produced_lines)))
}

# settle STEP: every job sent has a result: the lane flows again after STEP.
settle() {
	local deadline=$((SECONDS + 150))
	until has_keys "$RESULTS" $((SENT + RETRIED)); do
		[ "$SECONDS" -lt "$deadline" ] ||
			fail "after $1, $((SENT + RETRIED - $(topic_keys "$RESULTS"))) of $((SENT + RETRIED)) jobs have no result in 150 s"
		sleep 0.2
	done
}

# chaos STEP COMMAND...: next_batch, COMMAND while the batch is in flight,
# then settle.
chaos() {
	local step=$1 start=$SECONDS
	shift
	STEPS+=("$step")
	next_batch
	"$@"
	settle "$step"
	echo "# chaos: $step with $FLIGHT jobs in flight; all $((SENT + RETRIED)) jobs done $((SECONDS - start)) s later" >&3
}

@test "chaos: more than 1000 jobs, a tenth of them hostile or poison, every stage killed, the broker and Redis restarted: every job answered, none lost" {
	kafka_lane custom
	BATCH=130 SENT=0 RETRIED=0 STEPS=()
	# The jobs topic exists before the lane subscribes to it.
	"$SFIX/chaos-jobs" batch 1 1 | timeout 30 kcat -P -b "$BROKER" -t "$JOBS" -K $'\t'
	SENT=1
	tree_start KAFKA_RETRY_BASE_SECONDS=1
	settle "the start"
	chaos "kill -9 kcat-jobs" kill_stage kcat-jobs
	chaos "kill -9 sandbox-exec" kill_stage sandbox-exec
	chaos "kill -9 judge" kill_stage judge
	chaos "kill -9 retryd schedule" kill_stage retryd
	chaos "kill -9 retryd run (with 20 retries to move)" kill_busy_mover
	chaos "broker restart" restart_broker
	chaos "Redis restart" restart_redis
	next_batch
	settle "the last batch"

	topic_messages "$RESULTS" > "$BATS_TEST_TMPDIR/results.jsonl"
	topic_messages "$DLQ" > "$BATS_TEST_TMPDIR/dlq.jsonl"
	local results dups dlq retries
	results=$(grep -c . "$BATS_TEST_TMPDIR/results.jsonl")
	dups=$(jq -r .key "$BATS_TEST_TMPDIR/results.jsonl" | sort | uniq -d | grep -c . || true)
	dlq=$(grep -c . "$BATS_TEST_TMPDIR/dlq.jsonl" || true)
	retries=$(lane_log | grep -c '"msg":"retry scheduled: attempt [0-9]* failed' || true)
	local jobs=$((SENT + RETRIED))
	echo "# chaos: $jobs jobs ($RETRIED through the retry set), $results results," \
		"$dups jobs with more than one, $dlq DLQ messages, $retries retries scheduled" >&3

	# Which step's batch the repeats came from.
	if [ "$dups" != 0 ]; then
		run -0 jq -rn --argjson batch "$BATCH" '$ARGS.positional as $steps | inputs
			| capture("^ch-(?<r>r-)?(?<n>[0-9]+)$")
			| if .r then "the retry set" else $steps[((.n | tonumber) + $batch - 2) / $batch | floor - 1] // "the last batch" end' \
			--args "${STEPS[@]}" < <(jq -r .key "$BATS_TEST_TMPDIR/results.jsonl" | sort | uniq -d | jq -R .)
		echo "# chaos: jobs with more than one result, by the step they were sent for:" \
			"$(printf '%s\n' "${lines[@]}" | sort | uniq -c | awk '{ n = $1; $1 = ""; printf "%s%s: %s", sep, substr($0, 2), n; sep = ", " }')" >&3
	fi

	# None lost: every id has a result, and nothing else has one.
	assert_equal "$(jq -r .key "$BATS_TEST_TMPDIR/results.jsonl" | sort -u)" \
		"$({ seq -f 'ch-%.0f' 1 "$SENT"; hello_jobs ch-r 1 "$RETRIED" | jq -r .tempId; } | sort)"
	# Repeats only of jobs in flight at a kill: few.
	[ $((dups * 10)) -le "$jobs" ] || fail "$dups of $jobs jobs have more than one result"
	# Each result is what its job must get: the program's own output, the
	# verdict of a hostile program, the error result of a poison message
	# (chaos-jobs check), or an internal_error of a job dead-lettered out
	# of retries.
	run -0 "$SFIX/chaos-jobs" check "$BATS_TEST_TMPDIR/results.jsonl" "$SENT"
	run -0 jq -c -s --slurpfile dlq "$BATS_TEST_TMPDIR/dlq.jsonl" '
		[$dlq[] | select(.headers["x-error"] == "max-retries-reached") | .key] as $out
		| map(select(.key | startswith("ch-r-"))
			| select((.value.verdict == "accepted" and .value.stdOut == "\(.key)\n")
			or (.value.verdict == "internal_error" and (.key | IN($out[]))) | not)
			| {key, verdict: .value.verdict, stdOut: .value.stdOut})
		| .[]' "$BATS_TEST_TMPDIR/results.jsonl"
	assert_output ''
}

@test "SIGTERM to the service tree drains: no loss and no duplicate" {
	kafka_lane custom
	sleepy_jobs s 1 20 > "$BATS_TEST_TMPDIR/jobs.jsonl"
	produce_jobs "$JOBS" < "$BATS_TEST_TMPDIR/jobs.jsonl"
	tree_start
	# The lane has taken them all (a fetch may bring only some of them, and
	# a warm box answers the first in a third of a second); the first is
	# done, the others in flight.
	local deadline=$((SECONDS + 60)) before start
	until [ "$(produced_lines)" -ge 1 ] && [ "$(lane_log | grep -c '"msg":"consumed ')" = 20 ]; do
		[ "$SECONDS" -lt "$deadline" ] || fail "not all 20 jobs taken, or no result, in 60 s"
		sleep 0.02
	done
	before=$(produced_lines)
	start=$SECONDS
	run -0 timeout 90 sv -w 60 force-stop "$TREE/sv/codex-custom"
	assert_output --regexp '^ok: down: '
	echo "# SIGTERM with $((20 - before)) jobs in flight: down in $((SECONDS - start)) s" >&3
	[ "$before" -lt 20 ] || fail "no job was in flight at the SIGTERM"
	# Drained: every job taken has its result, before the exit.
	assert_equal "$(topic_count "$RESULTS")" 20
	run -0 jq -r 'select(.name == "kcat-jobs") | .msg' < <(lane_log | grep '^{')
	assert_line --partial 'stopping'
	refute_line --partial 'drain time-out'

	# Started again: it runs only what came meanwhile, once each.
	sleepy_jobs s 21 30 | tee -a "$BATS_TEST_TMPDIR/jobs.jsonl" | produce_jobs "$JOBS"
	run -0 sv start "$TREE/sv/codex-custom"
	wait_until 90 has_keys "$RESULTS" 30
	sleep 2	# a repeat would come now
	assert_equal "$(result_keys)" "$(jq -r .tempId "$BATS_TEST_TMPDIR/jobs.jsonl" | sort)"
	assert_equal "$(lane_log | grep -c '"msg":"consumed ')" 30
}

@test "a stage killed while the lane is idle: the lane starts again at once, the next job gets its result" {
	# With the lane idle, kill -9 its `retryd schedule` (then its judge):
	# the stages before it must not wait for a job that may never come to
	# find out; the middle ends, kcat-jobs with it (111), and runit starts
	# the lane again, before any job comes. (A kill while jobs flow is the
	# chaos test's.)
	kafka_lane custom
	hello_jobs idle 1 1 | produce_jobs "$JOBS"
	tree_start
	wait_until 60 has_keys "$RESULTS" 1
	local stage lane pid n=1
	for stage in retryd judge; do
		wait_until 10 eval 'lane=$(service_pid codex-custom) && pid=$(stage_pid "$stage")'
		kill -KILL "$pid"
		wait_until 10 restarted codex-custom "$lane"
		n=$((n + 1))
		hello_jobs idle "$n" "$n" | produce_jobs "$JOBS"
		wait_until 30 has_keys "$RESULTS" "$n"
	done
	run -0 jq -r '[.key, .value.verdict, (.value.stdOut | rtrimstr("\n"))] | @tsv' < <(topic_messages "$RESULTS")
	assert_equal "$(printf '%s\n' "${lines[@]}" | sort)" \
		"$(printf 'idle-%s\taccepted\tidle-%s\n' 1 1 2 2 3 3)"
}

@test "nothing the suite started is left running" {
	local pid left
	assert_equal "$(cat "$TREES")" ''
	for pid in $(cat "$RUNSVDIRS"); do
		! kill -0 "$pid" 2> /dev/null || fail "runsvdir $pid still runs"
	done
	# Every process of a tree has our broker in its environment (the
	# envdir), orphans of a killed pipeline too; the tests' own have it in
	# their arguments. (The patterns do not match themselves: grep's own
	# arguments are no match.)
	local addr=${BROKER//./[.]}
	left_running() {
		left=$(grep -lzxE "KAFKA_BROKERS=$addr" /proc/[0-9]*/environ 2> /dev/null | cut -d / -f 3
			grep -lzxE "$addr" /proc/[0-9]*/cmdline 2> /dev/null | cut -d / -f 3)
		[ -n "$left" ]
	}
	local end=$((SECONDS + 30))
	while left_running && [ "$SECONDS" -lt "$end" ]; do
		sleep 0.5
	done
	[ -z "$left" ] || fail "left running: $(for pid in $left; do ps -o pid=,args= -p "$pid"; done)"
}
