#!/usr/bin/env bats
# retryd(1): `schedule` stores infrastructure failures in a Redis sorted set
# or dead-letters them; `run` moves due entries back to Kafka
# (docs/pipeline.md, "Retries"). Against a real Redis and a real Kafka
# broker started here, on their own ports in BATS_FILE_TMPDIR. Each test
# has its own sorted set and its own topics. Job fixtures are in
# tests/fixtures/retryd/ (*.json one job each, compacted to a line here).
bats_require_minimum_version 1.5.0
load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'

ROOT=$(cd "$BATS_TEST_DIRNAME/.." && pwd)
RETRYD=$ROOT/bin/retryd
SCRIPTS=$ROOT/scripts
FIX=$ROOT/tests/fixtures/retryd
# Our own servers, and the defaults under test.
unset KAFKA_BROKERS REDIS_URL KAFKA_MAX_RETRIES KAFKA_RETRY_QUEUE_CAP \
	KAFKA_RETRY_BASE_SECONDS KAFKA_RETRY_MAX_SECONDS KAFKA_DLQ_TOPIC LOG_LEVEL LOG_FORMAT

setup_file() {
	export RDIR=$BATS_FILE_TMPDIR/redis KDIR=$BATS_FILE_TMPDIR/kafka
	RURL=$(timeout 300 "$SCRIPTS/redis-up" --dir "$RDIR" --port 26579)
	KADDR=$(timeout 900 "$SCRIPTS/kafka-up" --dir "$KDIR" --port 29392)
	export RURL KADDR RPORT=${RURL##*:}
}

teardown_file() {
	timeout 60 "$SCRIPTS/kafka-down" --dir "$KDIR"
	timeout 60 "$SCRIPTS/redis-down" --dir "$RDIR"
}

setup() {
	KEY=RQ$BATS_TEST_NUMBER
	TOPIC=jobs-$BATS_TEST_NUMBER
	export KAFKA_DLQ_TOPIC=dlq-$BATS_TEST_NUMBER
	IN=$BATS_TEST_TMPDIR/in.jsonl
	MOVERS=()
	: > "$IN"
}

teardown() {
	local pid
	for pid in "${MOVERS[@]}"; do
		kill -TERM "$pid" 2> /dev/null || true
		wait "$pid" || true
	done
}

rcli() {
	timeout 10 redis-cli -p "$RPORT" "$@"
}

# job FIXTURE [JQ-FILTER]: the fixture as one line, through the filter.
job() {
	jq -c "${2:-.}" "$FIX/$1.json"
}

# schedule [OPTION...]: retryd schedule on our server and set, on $IN.
schedule() {
	timeout 60 "$RETRYD" schedule --redis "$RURL" --key "$KEY" "$@" < "$IN"
}

# q FILTER [LINE-INDEX]: compact FILTER over an output line (default the first).
q() {
	jq -c "$1" <<< "${lines[${2:-0}]}"
}

# members [SET]: the members of the set (default $KEY), one a line.
members() {
	rcli ZRANGE "${1:-$KEY}" 0 -1
}

# sets_empty: the set and its in-flight set are empty.
sets_empty() {
	[ "$(rcli ZCARD "$KEY")" = 0 ] && [ "$(rcli ZCARD "$KEY:inflight")" = 0 ]
}

# wait_until SECONDS COMMAND...: COMMAND succeeds within SECONDS.
wait_until() {
	local end=$((SECONDS + $1))
	shift
	until "$@"; do
		[ "$SECONDS" -lt "$end" ] || return 1
		sleep 0.1
	done
}

# entry ID [TOPIC]: an entry as retryd writes them, value {"tempId": ID}.
entry() {
	jq -cn --arg id "$1" --arg t "${2:-$TOPIC}" \
		'{topic: $t, key: $id, value: ({tempId: $id} | tojson),
		  headers: {"x-retry-count": "1", "x-first-seen": "1795669000"},
		  firstSeen: "1795669000", id: $id}'
}

# mover [OPTION...]: starts retryd run in the background on our set.
mover() {
	timeout 60 "$RETRYD" run --redis "$RURL" -b "$KADDR" --key "$KEY" --interval 100 "$@" \
		>> "$BATS_TEST_TMPDIR/mover.out" 2>> "$BATS_TEST_TMPDIR/mover.err" 3>&- &
	MOVERS+=($!)
}

# stop_movers: SIGTERM to every mover; each must exit 0.
stop_movers() {
	local pid status
	for pid in "${MOVERS[@]}"; do
		kill -TERM "$pid"
	done
	for pid in "${MOVERS[@]}"; do
		status=0
		wait "$pid" || status=$?
		[ "$status" = 0 ] || fail "mover $pid exited $status: $(tail -n 5 "$BATS_TEST_TMPDIR/mover.err")"
	done
	MOVERS=()
	[ -z "$(cat "$BATS_TEST_TMPDIR/mover.out")" ] || fail "the mover wrote on stdout"
}

# consume TOPIC: the topic's messages as kcat -J lines, headers as an object.
consume() {
	timeout 30 kcat -C -b "$KADDR" -t "$1" -o beginning -e -J -q |
		jq -c '.headers = ([.headers // [] | _nwise(2) | {(.[0]): .[1]}] | add)'
}

# --- the command line ---

@test "--help, -h, --version and -V exit 0 on stdout" {
	local opt
	for opt in --help -h; do
		run -0 --separate-stderr "$RETRYD" "$opt"
		assert_line --index 0 --partial "usage: retryd schedule"
		assert_line --partial "retryd run"
		assert_equal "$stderr" ""
	done
	for opt in --version -V; do
		run -0 --separate-stderr "$RETRYD" "$opt"
		assert_output --regexp '^retryd [0-9]+\.[0-9]+\.[0-9]+$'
	done
}

@test "usage errors exit 100 with the usage on stderr and nothing on stdout" {
	for args in "" "move" "schedule --nope" "schedule extra" "schedule --redis" \
		"schedule --batch 5" "schedule -b host:1" "run --max-retries 2" \
		"schedule --base -1" "schedule --base 1e3" "schedule --max-retries x" \
		"run --interval 5" "run --visibility 0.5" "schedule --redis http://h"; do
		# shellcheck disable=SC2086
		run -100 --separate-stderr "$RETRYD" $args < /dev/null
		assert_equal "$output" ""
		[[ "$stderr" == *'{"level":60,'*'"name":"retryd","msg":'* ]] || fail "retryd $args: $stderr"
	done
	run -100 --separate-stderr "$RETRYD" schedule --nope
	[[ "$stderr" == "usage: retryd"* ]]
}

@test "a bad number in the environment exits 100 at start" {
	for var in KAFKA_MAX_RETRIES=3x KAFKA_RETRY_QUEUE_CAP=-1 KAFKA_RETRY_BASE_SECONDS=five \
		KAFKA_RETRY_MAX_SECONDS=0; do
		run -100 --separate-stderr env "$var" "$RETRYD" schedule --redis "$RURL" < /dev/null
		[[ "$stderr" == *'"level":60,'*"\"msg\":\"${var%%=*}=${var#*=} is not"* ]] || fail "$var: $stderr"
	done
}

@test "run without brokers exits 100" {
	run -100 --separate-stderr timeout 10 "$RETRYD" run --redis "$RURL"
	[[ "$stderr" == *"no Kafka brokers"* ]]
}

# --- schedule ---

@test "schedule: lines without an infrastructure error pass byte for byte" {
	cp "$FIX/passthrough.jsonl" "$IN"
	run -0 --separate-stderr schedule
	assert_equal "$output" "$(cat "$FIX/passthrough.jsonl")"
	assert_equal "$(rcli EXISTS "$KEY")" 0
}

@test "schedule: a pretty-printed line passes as one line, its newlines spaces" {
	head -n 1 "$FIX/passthrough.jsonl" | jq . > "$IN"
	run -0 --separate-stderr schedule
	assert_equal "${#lines[@]}" 1
	assert_equal "$(jq -c . <<< "$output")" "$(head -n 1 "$FIX/passthrough.jsonl" | jq -c .)"
}

@test "schedule: attempt 1 gets retry due in base seconds (+0-10 %), and one entry in Redis" {
	job submit > "$IN"
	before=$(date +%s.%N)
	run -0 --separate-stderr schedule --base 2
	after=$(date +%s.%N)
	scheduled=$output
	assert_equal "${#lines[@]}" 1
	assert_equal "$(q 'del(.retry)')" "$(job submit)"
	assert_equal "$(q '.retry.attempt')" 2
	jq -e --argjson b "$before" --argjson a "$after" \
		'.retry.due >= $b + 2 - 0.001 and .retry.due <= $a + 2.2 + 0.001' <<< "$output" ||
		fail "due $(q .retry.due) not in [$before + 2, $after + 2.2]"
	# The platform's entry, scored by the due time.
	run -0 rcli ZRANGE "$KEY" 0 -1 WITHSCORES
	assert_equal "${#lines[@]}" 2
	entry=${lines[0]}
	assert_equal "$(jq -c 'keys_unsorted' <<< "$entry")" '["topic","key","value","headers","firstSeen","id"]'
	assert_equal "$(jq -r .topic <<< "$entry")" SUBMISSION_JOBS
	assert_equal "$(jq -r .key <<< "$entry")" sub-r1
	assert_equal "$(jq -r .value <<< "$entry")" "$(job submit 'del(.meta, .exec, .error)')"
	assert_equal "$(jq -c .headers <<< "$entry")" \
		'{"traceparent":"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01","x-retry-count":"1","x-first-seen":"1795669000"}'
	assert_equal "$(jq -r .firstSeen <<< "$entry")" 1795669000
	assert_regex "$(jq -r .id <<< "$entry")" '^[0-9a-f]{32}$'
	# docs/schemas: the entry and the line.
	run -0 "$SCRIPTS/validate-schema" retry-entry <<< "$entry"
	run -0 "$SCRIPTS/validate-schema" error-line <<< "$scheduled"
}

@test "schedule: the entry's score is the line's due time (default base 5 s, REDIS_URL)" {
	job run > "$IN"
	now=$(date +%s.%N)
	# The server from REDIS_URL this time.
	run -0 --separate-stderr env REDIS_URL="$RURL" timeout 30 "$RETRYD" schedule --key "$KEY" < "$IN"
	due=$(q .retry.due)
	score=$(rcli ZSCORE "$KEY" "$(members)")
	jq -en --argjson d "$due" --argjson s "$score" '($d - $s) | fabs < 0.0005' > /dev/null ||
		fail "due $due, score $score"
	# Default base 5 s.
	jq -e --argjson n "$now" '.retry.due - $n | . > 4.99 and . < 5.6' <<< "$output" > /dev/null
}

@test "schedule: identical lines are separate entries, and backoff doubles per attempt" {
	job run '.meta.attempt = 1' > "$IN"
	job run '.meta.attempt = 1' >> "$IN"
	job run '.meta.attempt = 3' >> "$IN"
	now=$(date +%s.%N)
	run -0 --separate-stderr schedule --base 10 --max 30
	assert_equal "$(rcli ZCARD "$KEY")" 3
	jq -e --argjson n "$now" '.retry.due - $n | . > 9.9 and . < 11.1' <<< "${lines[0]}" > /dev/null
	# 10 * 2^2 = 40, capped at 30.
	jq -e --argjson n "$now" '.retry.due - $n | . > 29.9 and . < 33.1' <<< "${lines[2]}" > /dev/null
	assert_equal "$(q .retry 2 | jq .attempt)" 4
	run -0 members
	assert_equal "$(printf '%s\n' "${lines[@]}" | jq -r '.headers["x-retry-count"]' | sort | tr '\n' ' ')" "1 1 3 "
}

@test "schedule: past max retries, submit gets dlq max-retries-reached and an internal_error result" {
	job submit '.meta.attempt = 4 | .meta.headers["x-retry-count"] = "3"' > "$IN"
	run -0 --separate-stderr schedule --max-retries 3
	assert_equal "$(q .dlq)" \
		'{"headers":{"x-error":"max-retries-reached","x-retry-count":"3","x-first-seen":"1795669000"}}'
	assert_equal "$(q .result)" '{"submissionId":"sub-r1","userId":"user-1","executionResult":{"stats":{"totalTestCase":2,"passedTestCase":0,"failedTestCase":2,"executionTimeMs":0,"memoryMB":0},"failedTestCase":{"index":0,"input":"[[2,7,11,15],9]","output":"internal error: no sandbox slot was free in 30 s","expectedOutput":"[0,1]","verdict":"internal_error"},"verdict":"internal_error","error":{"code":"max-retries-reached","message":"no sandbox slot was free in 30 s"}}}'
	assert_equal "$(q 'del(.dlq, .result)')" "$(job submit '.meta.attempt = 4 | .meta.headers["x-retry-count"] = "3"')"
	assert_equal "$(rcli EXISTS "$KEY")" 0
	[[ "$stderr" == *'"submissionId":"sub-r1"'*"max-retries-reached"* ]]
	run -0 "$SCRIPTS/validate-schema" error-line <<< "$output"
}

@test "schedule: past max retries, run and custom lanes get their result shapes" {
	job run '.meta.attempt = 3' > "$IN"
	job custom >> "$IN"
	run -0 --separate-stderr env KAFKA_MAX_RETRIES=2 "$RETRYD" schedule --redis "$RURL" --key "$KEY" < "$IN"
	assert_equal "$(q .dlq.headers)" '{"x-error":"max-retries-reached","x-retry-count":"2","x-first-seen":"1795669100"}'
	assert_equal "$(q .result)" '{"tempId":"run-r1","executionResult":{"stats":{"totalTestCase":1,"passedTestCase":0,"failedTestCase":1,"executionTimeMs":0,"memoryMB":0},"failedTestCase":{"index":0,"input":"[[1,2],3]","output":"internal error: mount: /sandbox: Permission denied","expectedOutput":"[0,1]","verdict":"internal_error"},"verdict":"internal_error","error":{"code":"max-retries-reached","message":"mount: /sandbox: Permission denied"}}}'
	assert_equal "$(q .dlq.headers 1)" '{"x-error":"max-retries-reached","x-retry-count":"3","x-first-seen":"1795669200"}'
	assert_equal "$(q .result 1)" '{"tempId":"custom-r1","stdOut":"internal error: no sandbox slot was free in 30 s","verdict":"internal_error","error":{"code":"max-retries-reached","message":"no sandbox slot was free in 30 s"}}'
	assert_equal "$(rcli EXISTS "$KEY")" 0
	run -0 "$SCRIPTS/validate-schema" error-line <<< "$output"
}

@test "schedule: a full set gives dlq retry-queue-capacity and the internal_error result" {
	rcli ZADD "$KEY" 1 a 2 b > /dev/null
	job run > "$IN"
	job submit >> "$IN"
	run -0 --separate-stderr env KAFKA_RETRY_QUEUE_CAP=2 "$RETRYD" schedule --redis "$RURL" --key "$KEY" < "$IN"
	assert_equal "${#lines[@]}" 2
	assert_equal "$(q .dlq)" '{"headers":{"x-error":"retry-queue-capacity"}}'
	assert_equal "$(q '.result.executionResult.verdict')" '"internal_error"'
	assert_equal "$(q 'has("retry")')" false
	assert_equal "$(q .result.submissionId 1)" '"sub-r1"'
	assert_equal "$(rcli ZCARD "$KEY")" 2
	# With room (--cap over the environment), the same line is stored.
	job run > "$IN"
	run -0 --separate-stderr env KAFKA_RETRY_QUEUE_CAP=2 "$RETRYD" schedule --redis "$RURL" --key "$KEY" --cap 3 < "$IN"
	assert_equal "$(q .retry.attempt)" 2
	assert_equal "$(rcli ZCARD "$KEY")" 3
}

@test "schedule: a malformed or oversized line becomes an error line; the next is still processed" {
	{
		echo 'not json {'
		head -c $((24 * 1024 * 1024 + 100)) /dev/zero | tr '\0' x
		echo
		echo '[1,2]'
		echo
		job run
	} > "$IN"
	run -0 --separate-stderr schedule
	assert_equal "${#lines[@]}" 4
	assert_equal "$(q .)" '{"error":{"kind":"poison","code":"invalid-json","message":"the line is not a JSON object"},"line":"not json {"}'
	assert_equal "$(q '[.error.code, .error.message, (.line | length)]' 1)" \
		'["oversized","the line is longer than 25165824 bytes",4096]'
	assert_equal "$(q .error.code 2)" '"invalid-json"'
	assert_equal "$(q .retry.attempt 3)" 2
	assert_equal "$(rcli ZCARD "$KEY")" 1
}

@test "schedule: an infrastructure line without meta passes unchanged, with a warning" {
	job run 'del(.meta)' > "$IN"
	run -0 --separate-stderr schedule
	assert_equal "$output" "$(cat "$IN")"
	[[ "$stderr" == *'"level":40'*"no retry: no meta section"* ]]
	assert_equal "$(rcli EXISTS "$KEY")" 0
}

@test "schedule: Redis unreachable past --redis-timeout exits 111 without writing the line" {
	job run '.error.kind = "poison"' > "$IN"
	job run >> "$IN"
	job custom >> "$IN"
	start=$SECONDS
	run -111 --separate-stderr timeout 30 "$RETRYD" schedule --redis redis://127.0.0.1:1 --redis-timeout 1 < "$IN"
	# The line before is written, the infrastructure line and the rest not.
	assert_equal "${#lines[@]}" 1
	assert_equal "$(q .error.kind)" '"poison"'
	[[ "$stderr" == *"unable to connect"*"next try in"* ]]
	[[ "$stderr" == *'"level":60,'*'"msg":"redis 127.0.0.1:1/0 unreachable for 1 s'* ]]
	[ $((SECONDS - start)) -le 5 ]
}

@test "schedule: Redis stopped and started again while lines flow: no line is lost" {
	mkfifo "$BATS_TEST_TMPDIR/fifo"
	out=$BATS_TEST_TMPDIR/out err=$BATS_TEST_TMPDIR/err
	timeout 60 "$RETRYD" schedule --redis "$RURL" --key "$KEY" --redis-timeout 40 \
		< "$BATS_TEST_TMPDIR/fifo" > "$out" 2> "$err" 3>&- &
	pid=$!
	exec 4> "$BATS_TEST_TMPDIR/fifo"
	for i in 1 2 3; do job run ".tempId = \"r$i\"" >&4; done
	wait_until 10 eval '[ "$(wc -l < "$out")" = 3 ]'
	# 4>&-: the new server must not hold our end of the pipe.
	timeout 30 "$SCRIPTS/redis-down" --dir "$RDIR" 4>&-
	for i in 4 5 6; do job run ".tempId = \"r$i\"" >&4; done
	sleep 1
	assert_equal "$(wc -l < "$out")" 3
	run -0 timeout 30 "$SCRIPTS/redis-up" --dir "$RDIR" --port "$RPORT" 4>&-
	assert_output "$RURL"
	for i in 7 8 9; do job run ".tempId = \"r$i\"" >&4; done
	exec 4>&-
	status=0
	wait "$pid" || status=$?
	assert_equal "$status" 0
	assert_equal "$(jq -r '[.tempId, .retry.attempt] | @tsv' "$out" | tr '\n\t' ' :')" \
		"r1:2 r2:2 r3:2 r4:2 r5:2 r6:2 r7:2 r8:2 r9:2 "
	# The new server holds what was scheduled after the outage began (the
	# old one kept r1-r3 in memory only).
	assert_equal "$(members | jq -r '.value | fromjson | .tempId' | sort | tr '\n' ' ')" \
		"r4 r5 r6 r7 r8 r9 "
	grep -q 'unable to connect' "$err"
	grep -q 'connected again' "$err"
}

@test "schedule: SIGTERM exits 0 after the current line, though the input goes on" {
	mkfifo "$BATS_TEST_TMPDIR/fifo"
	out=$BATS_TEST_TMPDIR/out
	timeout 60 "$RETRYD" schedule --redis "$RURL" --key "$KEY" \
		< "$BATS_TEST_TMPDIR/fifo" > "$out" 2> "$BATS_TEST_TMPDIR/err" 3>&- &
	pid=$!
	exec 4> "$BATS_TEST_TMPDIR/fifo"
	job run >&4
	wait_until 10 eval '[ "$(wc -l < "$out")" = 1 ]'
	kill -TERM "$pid"
	status=0
	wait "$pid" || status=$?
	exec 4>&-
	assert_equal "$status" 0
	assert_equal "$(jq -r '.retry.attempt' "$out")" 2
	grep -q '"msg":"signal Terminated"' "$BATS_TEST_TMPDIR/err"
}

# --- run ---

@test "run: an entry is not moved before it is due, then goes to its topic with key, value, headers" {
	job submit ".meta.topic = \"$TOPIC\"" > "$IN"
	run -0 --separate-stderr schedule --base 3
	due=$(q .retry.due)
	mover
	sleep 1.5
	assert_equal "$(rcli ZCARD "$KEY")" 1
	assert_equal "$(rcli ZCARD "$KEY:inflight")" 0
	wait_until 20 sets_empty
	stop_movers
	run -0 consume "$TOPIC"
	assert_equal "${#lines[@]}" 1
	assert_equal "$(q .key)" '"sub-r1"'
	assert_equal "$(jq -r .payload <<< "${lines[0]}")" "$(job submit 'del(.meta, .exec, .error)')"
	assert_equal "$(q .headers)" \
		'{"traceparent":"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01","x-retry-count":"1","x-first-seen":"1795669000"}'
	jq -e --argjson due "$due" '.ts >= ($due * 1000 | floor) - 1' <<< "${lines[0]}" > /dev/null ||
		fail "published at $(q .ts), due $due"
	grep -q '"msg":"re-published 1 retry entries"' "$BATS_TEST_TMPDIR/mover.err"
}

@test "run: two movers at once re-publish each of 200 due entries exactly once" {
	mapfile -t entries < <(jq -cn --arg t "$TOPIC" 'range(200) | "e\(.)" as $id |
		{topic: $t, key: $id, value: ({tempId: $id} | tojson), headers: {"x-retry-count": "1"},
		 firstSeen: "1795669000", id: $id}')
	args=()
	for e in "${entries[@]}"; do args+=(1 "$e"); done
	assert_equal "$(rcli ZADD "$KEY" "${args[@]}")" 200
	mover --batch 20 --interval 50
	mover --batch 20 --interval 50
	wait_until 30 sets_empty
	stop_movers
	run -0 consume "$TOPIC"
	assert_equal "${#lines[@]}" 200
	assert_equal "$(printf '%s\n' "${lines[@]}" | jq -r '.payload | fromjson | .tempId' | sort -u | wc -l)" 200
	# Both took part.
	assert_equal "$(grep '"msg":"claimed' "$BATS_TEST_TMPDIR/mover.err" | jq .pid | sort -u | wc -l)" 2
}

@test "run: an in-flight entry whose visibility expired is reaped back and re-published" {
	now=$(date +%s)
	rcli ZADD "$KEY:inflight" $((now - 100)) "$(entry lost)" $((now + 300)) "$(entry busy)" > /dev/null
	mover
	wait_until 20 eval '[ "$(rcli ZCARD "$KEY")" = 0 ] && [ "$(rcli ZCARD "$KEY:inflight")" = 1 ]'
	sleep 0.5
	stop_movers
	run -0 consume "$TOPIC"
	assert_equal "${#lines[@]}" 1
	assert_equal "$(q '.payload | fromjson | .tempId')" '"lost"'
	# Still being sent by another mover: left alone.
	assert_equal "$(members "$KEY:inflight" | jq -r .id)" busy
	grep -q '"msg":"reaped 1 in-flight retry entries' "$BATS_TEST_TMPDIR/mover.err"
}

@test "run: a bad entry goes to the dead-letter topic as it was, and leaves the set" {
	rcli ZADD "$KEY" 1 'garbage{' 2 '{"topic":"t","value":5}' > /dev/null
	mover
	wait_until 20 sets_empty
	stop_movers
	run -0 consume "$KAFKA_DLQ_TOPIC"
	assert_equal "${#lines[@]}" 2
	assert_equal "$(printf '%s\n' "${lines[@]}" | jq -c '[.payload, .key, .headers]' | sort)" \
		'["garbage{",null,{"x-error":"retry-entry-invalid","x-error-message":"not a JSON object"}]
["{\"topic\":\"t\",\"value\":5}",null,{"x-error":"retry-entry-invalid","x-error-message":"value is not a string"}]'
	grep -q '"level":50.*retry entry invalid' "$BATS_TEST_TMPDIR/mover.err"
}

@test "run: the platform's own entries (no id, whole seconds, Buffer headers) are moved" {
	rcli ZADD "$KEY" "$(date +%s)" "$(sed "s/TOPIC/$TOPIC/" "$FIX/platform-entry.json")" > /dev/null
	mover
	wait_until 20 sets_empty
	stop_movers
	run -0 consume "$TOPIC"
	assert_equal "${#lines[@]}" 1
	assert_equal "$(q '[.key, .payload, .headers]')" \
		'["run-old","{\"tempId\":\"run-old\",\"language\":\"python\",\"userCode\":\"print(1)\"}",{"traceparent":"00-abc","x-retry-count":"1"}]'
}

@test "run: SIGTERM exits 0 promptly; Redis unreachable is logged and survived" {
	timeout 60 "$RETRYD" run --redis redis://127.0.0.1:1 -b "$KADDR" --interval 100 \
		2> "$BATS_TEST_TMPDIR/err" 3>&- &
	pid=$!
	sleep 1.5
	kill -0 "$pid"
	start=$(date +%s%N)
	kill -TERM "$pid"
	status=0
	wait "$pid" || status=$?
	elapsed=$((($(date +%s%N) - start) / 1000000))
	assert_equal "$status" 0
	[ "$elapsed" -lt 2000 ] || fail "took $elapsed ms to stop"
	[ "$(grep -c 'unable to connect' "$BATS_TEST_TMPDIR/err")" -ge 2 ]
	grep -q '"msg":"stopping' "$BATS_TEST_TMPDIR/err"
}
