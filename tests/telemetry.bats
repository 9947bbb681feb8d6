#!/usr/bin/env bats
# Telemetry of the pipeline (docs/telemetry.md, DESIGN.md section 6): one
# trace per job from the producer's traceparent header through kcat-jobs
# (process, send), sandbox-exec (execute), judge, retryd (retry schedule,
# retry publish) and back onto the result message; the codex.* metrics;
# pino JSON log lines that carry the trace and span ids; the pipeline
# unharmed by a collector that is away. Real parts only: a Kafka broker
# (port 39892 or the next free one) and a Redis (36779) of the file's own,
# tests/otlp/receiver.py as the collector (gRPC and http/protobuf),
# pino-pretty from npm.
#
# setup_file runs the main pipeline once (run lane: sandbox-exec | judge |
# the injection of one infrastructure failure | retryd schedule, and the
# mover beside it) on four messages, and the first tests read what it
# left: tel-a (accepted, traceparent and tracestate headers), tel-b (wrong
# answer, no header), tel-retry (fails once, retried, accepted) and a
# poison message. Needs root (sandbox-exec) and bin/* built.
bats_require_minimum_version 1.5.0
load helpers
load kafka-helpers

TFIX=$ROOT/tests/fixtures/telemetry
RETRYD=$ROOT/bin/retryd
RECEIVER=$ROOT/tests/otlp/receiver.py
PY=/usr/bin/python3	# Debian's, with python3-grpcio and python3-protobuf
NPM_DIR=/var/cache/codex-npm
PINO_PRETTY=$NPM_DIR/node_modules/.bin/pino-pretty
# The producer's contexts: trace id and parent span id per job.
TA=4bf92f3577b34da6a3ce929d0e0e4736 HA=00f067aa0ba902b7
TC=0af7651916cd43dd8448eb211c80319c HC=b7ad6b7169203331
TD=5a1b2c3d4e5f60718293a4b5c6d7e8f9 HD=1122334455667788
TH=6e0c63257de34c926f9efcd03927272e HH=53995c3f42cd8ad8
# Exports come quickly, so a run needs no long wait.
FAST_OTEL=(OTEL_BSP_SCHEDULE_DELAY=200 OTEL_METRIC_EXPORT_INTERVAL=500 OTEL_EXPORTER_OTLP_TIMEOUT=5000)

# The collector under test is the file's own, and the retry settings too.
source "$BATS_TEST_DIRNAME/otlp/env.bash"
unset KAFKA_RETRY_BASE_SECONDS KAFKA_RETRY_MAX_SECONDS KAFKA_RETRY_QUEUE_CAP

# --- the collector, pino-pretty -----------------------------------------------

# receiver_start NAME [OPTION...]: a receiver appending to
# $BATS_FILE_TMPDIR/NAME.jsonl, on free ports unless OPTIONs say which;
# its pid in NAME.rpid.
receiver_start() {
	local name=$1 dir=$BATS_FILE_TMPDIR i
	shift
	rm -f "$dir/$name.ready"
	timeout 600 "$PY" "$RECEIVER" --out "$dir/$name.jsonl" --ready "$dir/$name.ready" "$@" \
		> /dev/null 2> "$dir/$name.receiver.err" 3>&- &
	echo $! > "$dir/$name.rpid"
	for ((i = 0; i < 150; i++)); do
		[ -s "$dir/$name.ready" ] && return 0
		sleep 0.1
	done
	echo "receiver $name did not start: $(cat "$dir/$name.receiver.err")" >&2
	return 1
}

# receiver_port NAME grpc|http: a port of the receiver NAME.
receiver_port() {
	tr ' ' '\n' < "$BATS_FILE_TMPDIR/$1.ready" | sed -n "s/^$2=//p"
}

receiver_stop() {
	local f=$BATS_FILE_TMPDIR/$1.rpid
	[ -e "$f" ] || return 0
	kill -TERM "$(cat "$f")" 2> /dev/null || true
	wait "$(cat "$f")" 2> /dev/null || true
	rm -f "$f"
}

# pino_pretty_install: pino-pretty in $NPM_DIR, once (npm from
# scripts/bootstrap when this machine has none).
pino_pretty_install() {
	[ -x "$PINO_PRETTY" ] && return 0
	command -v npm > /dev/null || "$SCRIPTS/bootstrap" || return 1
	mkdir -p "$NPM_DIR"
	timeout 300 npm install --prefix "$NPM_DIR" --no-audit --no-fund --loglevel=error \
		pino-pretty@13 >&2
}

# --- the main run ---------------------------------------------------------------

rcli() {
	timeout 10 redis-cli -p "${RURL##*:}" "$@"
}

# file_start NAME COMMAND...: COMMAND in the background under timeout,
# stdout and stderr in $BATS_FILE_TMPDIR/NAME.out and NAME.err, pid in
# NAME.pid (file_stop).
file_start() {
	local name=$1
	shift
	timeout 180 "$@" > "$BATS_FILE_TMPDIR/$name.out" 2> "$BATS_FILE_TMPDIR/$name.err" 3>&- &
	echo $! > "$BATS_FILE_TMPDIR/$name.pid"
}

# file_stop NAME: SIGTERM; its exit status in STOP_STATUS.
file_stop() {
	local f=$BATS_FILE_TMPDIR/$1.pid pid
	STOP_STATUS=0
	[ -e "$f" ] || return 0
	pid=$(cat "$f")
	kill -TERM "$pid" 2> /dev/null || true
	wait "$pid" || STOP_STATUS=$?
	rm -f "$f"
}

# main_jobs: the four messages of the main run.
main_jobs() {
	jq -c '.tempId = "tel-a"' "$TFIX/job.json" |
		produce_jobs "$JOBS" -H "traceparent=00-$TA-$HA-01" -H "tracestate=rojo=1,congo=t61"
	jq -c '.tempId = "tel-b" | .testCases[0].output = "43\n"' "$TFIX/job.json" | produce_jobs "$JOBS"
	jq -c '.tempId = "tel-retry"' "$TFIX/job.json" | produce_jobs "$JOBS" -H "traceparent=00-$TC-$HC-01"
	printf 'not json' > "$BATS_FILE_TMPDIR/poison"
	timeout 30 kcat -P -b "$BROKER" -t "$JOBS" -k tel-poison -H "traceparent=00-$TD-$HD-01" \
		"$BATS_FILE_TMPDIR/poison"
}

retry_set_empty() {
	[ "$(rcli ZCARD TELQ)" = 0 ] && [ "$(rcli ZCARD TELQ:inflight)" = 0 ]
}

# main_run: the main pipeline and the mover against the receiver `main`,
# until every job has its outcome and the exporters flushed at exit.
main_run() {
	local endpoint
	kafka_lane run
	export JOBS RESULTS GROUP DLQ
	main_jobs
	receiver_start main || return 1
	endpoint=OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:$(receiver_port main grpc)
	file_start main env "$endpoint" "${FAST_OTEL[@]}" "$KCJ" pipeline --lane run -b "$BROKER" -- \
		sh -c "bin/sandbox-exec | bin/judge | jq -c --unbuffered -f '$TFIX/fail-first-attempt.jq' |
			bin/retryd schedule --redis '$RURL' --key TELQ --base 0.5"
	file_start mover env "$endpoint" "${FAST_OTEL[@]}" "$RETRYD" run -b "$BROKER" \
		--redis "$RURL" --key TELQ --interval 100
	wait_until 120 has_keys "$RESULTS" 3
	wait_until 30 has_messages "$DLQ" 1
	wait_until 30 retry_set_empty
	file_stop main
	[ "$STOP_STATUS" = 0 ] || { echo "pipeline exited $STOP_STATUS" >&2; return 1; }
	file_stop mover
	[ "$STOP_STATUS" = 0 ] || { echo "mover exited $STOP_STATUS" >&2; return 1; }
	receiver_stop main
}

setup_file() {
	cd "$ROOT"
	command -v protoc > /dev/null && "$PY" -c 'import grpc, google.protobuf' ||
		{ echo "python3-grpcio, python3-protobuf and protoc are needed (scripts/bootstrap)" >&2; return 1; }
	pino_pretty_install || return 1
	kafka_up 39892 || return 1
	RURL=$(timeout 60 "$SCRIPTS/redis-up" --dir "$BATS_FILE_TMPDIR/redis" --port 36779) || return 1
	export RURL
	rcli FLUSHALL > /dev/null
	main_run
}

teardown_file() {
	local f
	for f in "$BATS_FILE_TMPDIR"/*.pid; do
		[ -e "$f" ] && file_stop "$(basename "$f" .pid)"
	done
	for f in "$BATS_FILE_TMPDIR"/*.rpid; do
		[ -e "$f" ] && receiver_stop "$(basename "$f" .rpid)"
	done
	kafka_down
	timeout 60 "$SCRIPTS/redis-down" --dir "$BATS_FILE_TMPDIR/redis"
}

setup() {
	cd "$ROOT"
	OTLP=$BATS_FILE_TMPDIR/main.jsonl
}

teardown() {
	bg_cleanup
}

# --- reading what arrived ---------------------------------------------------------

# spans_of TRACE [FILE]: the spans of TRACE, slurped into an array.
spans_of() {
	jq -c -s --arg t "$1" '[.[] | select(.type == "span" and .trace_id == $t)]' "${2:-$OTLP}"
}

# one_span SPANS_JSON JQ_CONDITION: the one span of SPANS satisfying the
# condition (fails when there are none or several).
one_span() {
	jq -c -e --arg c "$2" "[.[] | select($2)]
		| if length == 1 then .[0] else error(\"\\(length) spans where \\(\$c)\") end" <<< "$1"
}

# metric NAME ATTRS_JSON: the last value (sums) or count (histograms) of
# NAME's series with exactly those attributes; null when none arrived.
metric() {
	jq -s --arg n "$1" --argjson a "$2" \
		'[.[] | select(.type == "metric" and .name == $n and .attributes == $a)]
		 | max_by(.time) | if . == null then null else (.value // .count) end' "$OTLP"
}

# message_of TOPIC KEY: the message (topic_messages) of TOPIC with KEY; the
# last one when there are several.
message_of() {
	topic_messages "$1" | jq -c -s --arg k "$2" '[.[] | select(.key == $k)] | last'
}

# --- traces ---------------------------------------------------------------------

@test "a traced job: process is the header's child, judge and send are process's, the result carries the trace" {
	local spans process judge send pid result job
	spans=$(spans_of "$TA")
	process=$(one_span "$spans" ".name == \"process $JOBS\"")
	judge=$(one_span "$spans" '.name == "judge"')
	send=$(one_span "$spans" ".name == \"send $RESULTS\"")
	pid=$(jq -r .span_id <<< "$process")
	job=$(topic_json "$JOBS" | jq -c 'select(.key == "tel-a")')

	jq -e --arg h "$HA" --arg jobs "$JOBS" --arg group "$GROUP" --argjson job "$job" '
		.parent_span_id == $h and .kind == 5 and .status.code == 0 and .trace_state == "rojo=1,congo=t61"
		and .resource["service.name"] == "kcat-jobs" and .scope == "codex-exec"
		and .attributes == {"messaging.system": "kafka", "messaging.destination.name": $jobs,
			"messaging.destination.partition.id": ($job.partition | tostring),
			"messaging.kafka.offset": $job.offset, "messaging.kafka.message.key": "tel-a",
			"messaging.consumer.group.name": $group, "messaging.operation.type": "process",
			"codex.lane": "run", "codex.language": "python"}' <<< "$process" > /dev/null ||
		fail "process: $process (message $job)"
	jq -e --arg p "$pid" '.parent_span_id == $p and .kind == 1 and .status.code == 0
		and .resource["service.name"] == "judge"
		and .attributes == {"codex.lane": "run", "codex.language": "python", "codex.mode": "run",
			"codex.shape": "stdio", "codex.verdict": "accepted"}' <<< "$judge" > /dev/null ||
		fail "judge: $judge"
	jq -e --arg p "$pid" --arg results "$RESULTS" '.parent_span_id == $p and .kind == 4
		and .status.code == 0 and .resource["service.name"] == "kcat-jobs"
		and .attributes == {"messaging.system": "kafka", "messaging.destination.name": $results,
			"messaging.kafka.message.key": "tel-a", "messaging.operation.type": "send",
			"codex.lane": "run", "codex.language": "python", "codex.verdict": "accepted"}' <<< "$send" > /dev/null ||
		fail "send: $send"
	# The consumer span ends at the job's acknowledgement: after the
	# result's delivery report, so it holds judge and send.
	jq -e -n --argjson p "$process" --argjson j "$judge" --argjson s "$send" '
		$p.start <= $j.start and $j.end <= $s.start and $s.end <= $p.end' > /dev/null ||
		fail "times: process $process judge $judge send $send"
	# sandbox-exec's `execute` span is a child of process too (its own
	# attributes and phases are tests/sandbox-exec's to check).
	one_span "$spans" ".name == \"execute\" and .parent_span_id == \"$pid\"
		and .resource[\"service.name\"] == \"sandbox-exec\"" > /dev/null

	result=$(message_of "$RESULTS" tel-a)
	assert_equal "$(jq -c .headers <<< "$result")" \
		"{\"traceparent\":\"00-$TA-$(jq -r .span_id <<< "$send")-01\",\"tracestate\":\"rojo=1,congo=t61\"}"
	assert_equal "$(jq -r .value.executionResult.verdict <<< "$result")" accepted
}

@test "a job without a traceparent header starts a trace of its own, which reaches its result" {
	local result trace spans process
	result=$(message_of "$RESULTS" tel-b)
	trace=$(jq -r '.headers.traceparent | split("-")[1]' <<< "$result")
	assert_regex "$trace" '^[0-9a-f]{32}$'
	spans=$(spans_of "$trace")
	process=$(one_span "$spans" ".name == \"process $JOBS\" and .parent_span_id == \"\"")
	one_span "$spans" ".name == \"judge\" and .parent_span_id == $(jq .span_id <<< "$process")
		and .attributes[\"codex.verdict\"] == \"wrong_answer\"" > /dev/null
	one_span "$spans" ".name == \"send $RESULTS\" and .parent_span_id == $(jq .span_id <<< "$process")
		and (\"00-$trace-\" + .span_id + \"-01\") == $(jq .headers.traceparent <<< "$result")" > /dev/null
}

@test "a retried job: retry schedule under attempt 1, retry publish under it, attempt 2 under that" {
	local spans first second schedule publish again
	spans=$(spans_of "$TC")
	first=$(one_span "$spans" ".name == \"process $JOBS\" and .parent_span_id == \"$HC\"")
	schedule=$(one_span "$spans" '.name == "retry schedule"')
	publish=$(one_span "$spans" '.name == "retry publish"')
	second=$(one_span "$spans" ".name == \"process $JOBS\" and .parent_span_id != \"$HC\"")
	jq -e --argjson f "$first" '.parent_span_id == $f.span_id and .kind == 3 and .status.code == 0
		and .resource["service.name"] == "retryd"
		and (.attributes | del(.["codex.retry.delay_ms"])) == {"db.system": "redis",
			"db.operation.name": "EVALSHA", "codex.attempt": 1, "codex.lane": "run",
			"codex.language": "python"}
		and .attributes["codex.retry.delay_ms"] >= 500 and .attributes["codex.retry.delay_ms"] <= 550' \
		<<< "$schedule" > /dev/null || fail "retry schedule: $schedule"
	jq -e --argjson s "$schedule" --arg jobs "$JOBS" '.parent_span_id == $s.span_id and .kind == 4
		and .status.code == 0 and .resource["service.name"] == "retryd"
		and .attributes == {"messaging.system": "kafka", "messaging.destination.name": $jobs,
			"messaging.kafka.message.key": "tel-retry", "messaging.operation.type": "send",
			"codex.attempt": 2, "codex.lane": "run"}' <<< "$publish" > /dev/null ||
		fail "retry publish: $publish"
	assert_equal "$(jq -r .parent_span_id <<< "$second")" "$(jq -r .span_id <<< "$publish")"
	# Each attempt has its judge; the second one's result is sent.
	one_span "$spans" ".name == \"judge\" and .parent_span_id == $(jq .span_id <<< "$first")" > /dev/null
	one_span "$spans" ".name == \"judge\" and .parent_span_id == $(jq .span_id <<< "$second")" > /dev/null
	one_span "$spans" ".name == \"send $RESULTS\" and .parent_span_id == $(jq .span_id <<< "$second")" > /dev/null
	# The re-published message carries the publish span's context.
	again=$(topic_messages "$JOBS" | jq -c 'select(.key == "tel-retry" and .headers["x-retry-count"] == "1")')
	assert_equal "$(jq -r .headers.traceparent <<< "$again")" "00-$TC-$(jq -r .span_id <<< "$publish")-01"
	assert_equal "$(message_of "$RESULTS" tel-retry | jq -r .headers.traceparent | cut -d- -f2)" "$TC"
}

@test "a poison message: its process span is an error, and the DLQ message carries its context" {
	local process dlq
	process=$(one_span "$(spans_of "$TD")" ".name == \"process $JOBS\"")
	jq -e --arg h "$HD" '.parent_span_id == $h and .status.code == 2
		and .status.message == "the value is not a JSON object"
		and .attributes["error.type"] == "invalid-json"
		and .attributes["messaging.kafka.message.key"] == "tel-poison"
		and (.attributes | has("codex.language") | not)' <<< "$process" > /dev/null ||
		fail "process: $process"
	dlq=$(message_of "$DLQ" tel-poison)
	assert_equal "$(jq -r '.headers["x-error"]' <<< "$dlq")" invalid-json
	assert_equal "$(jq -r .headers.traceparent <<< "$dlq")" "00-$TD-$(jq -r .span_id <<< "$process")-01"
}

# --- metrics --------------------------------------------------------------------

@test "metrics after the four messages: consumed, completed, durations, retries, dead letters" {
	local py='{"codex.lane":"run","codex.language":"python"}'
	# tel-a, tel-b and tel-retry twice; the poison message is no job.
	assert_equal "$(metric codex.jobs.consumed "$py")" 4
	assert_equal "$(metric codex.jobs.completed '{"codex.lane":"run","codex.language":"python","codex.verdict":"accepted"}')" 2
	assert_equal "$(metric codex.jobs.completed '{"codex.lane":"run","codex.language":"python","codex.verdict":"wrong_answer"}')" 1
	assert_equal "$(metric codex.job.duration "$py")" 3
	assert_equal "$(metric codex.judge.duration '{"codex.language":"python","codex.mode":"run"}')" 4
	assert_equal "$(metric codex.retries.scheduled "$py")" 1
	assert_equal "$(metric codex.retries.republished '{"codex.lane":"run"}')" 1
	assert_equal "$(metric codex.dlq.messages '{"codex.lane":"run","error.type":"invalid-json"}')" 1
	# Kinds, units, and who exports what (sandbox-exec's codex.sandbox.*
	# are its own to check).
	run -0 jq -c -s '[.[] | select(.type == "metric" and (.name | startswith("codex."))
		and (.name | startswith("codex.sandbox.") | not))
		| {name, unit, kind, monotonic, temporality, service: .resource["service.name"]}] | unique | sort_by(.name)' "$OTLP"
	assert_output '[{"name":"codex.dlq.messages","unit":"{message}","kind":"sum","monotonic":true,"temporality":2,"service":"kcat-jobs"},{"name":"codex.job.duration","unit":"ms","kind":"histogram","monotonic":false,"temporality":2,"service":"kcat-jobs"},{"name":"codex.jobs.completed","unit":"{job}","kind":"sum","monotonic":true,"temporality":2,"service":"kcat-jobs"},{"name":"codex.jobs.consumed","unit":"{job}","kind":"sum","monotonic":true,"temporality":2,"service":"kcat-jobs"},{"name":"codex.judge.duration","unit":"ms","kind":"histogram","monotonic":false,"temporality":2,"service":"judge"},{"name":"codex.retries.republished","unit":"{retry}","kind":"sum","monotonic":true,"temporality":2,"service":"retryd"},{"name":"codex.retries.scheduled","unit":"{retry}","kind":"sum","monotonic":true,"temporality":2,"service":"retryd"}]'
	# Durations in ms, measured: more than nothing.
	run -0 jq -s '[.[] | select(.type == "metric" and .kind == "histogram")] | all(.sum > 0 and .min > 0)' "$OTLP"
	assert_output true
}

# --- logs -----------------------------------------------------------------------

# not_pino FILE: the lines of FILE that are not pino JSON lines (level,
# time, pid, hostname, name, msg), as a JSON array.
not_pino() {
	jq -R -s -c '[split("\n")[] | select(length > 0) | (fromjson? // {bad: .})
		| select(has("bad") or (.level | type) != "number" or (.time | type) != "number"
			or (.pid | type) != "number" or (.hostname | type) != "string"
			or (.name | type) != "string" or (.msg | type) != "string"
			or ((has("trace_id") | not) != (has("span_id") | not)))]' "$1"
}

@test "logs: every stderr line of the run is a pino JSON line" {
	local f
	for f in main mover; do
		[ "$(grep -c . "$BATS_FILE_TMPDIR/$f.err")" -ge 3 ] || fail "$f: too few lines"
		run -0 not_pino "$BATS_FILE_TMPDIR/$f.err"
		assert_output '[]'
	done
	# Every stage logged into the pipeline's stderr.
	run -0 jq -r -s '[.[].name] | unique | join(" ")' "$BATS_FILE_TMPDIR/main.err"
	assert_output 'judge kcat-jobs retryd sandbox-exec'
}

# logged FILE ID MSG_PREFIX: "trace_id span_id" of the one line of FILE
# (main or mover) about job ID whose msg starts with MSG_PREFIX.
logged() {
	jq -r -s --arg id "$2" --arg m "$3" '[.[] | select(.tempId == $id and (.msg | startswith($m)))]
		| if length == 1 then .[0] | "\(.trace_id) \(.span_id)" else error("\(length) lines \($m)") end' \
		"$BATS_FILE_TMPDIR/$1.err"
}

@test "logs: each lifecycle step's line carries the trace id and the span id of its step" {
	local spans process judge send schedule publish
	spans=$(spans_of "$TA")
	process=$(one_span "$spans" ".name == \"process $JOBS\"" | jq -r .span_id)
	judge=$(one_span "$spans" '.name == "judge"' | jq -r .span_id)
	send=$(one_span "$spans" ".name == \"send $RESULTS\"" | jq -r .span_id)
	assert_equal "$(logged main tel-a 'consumed ')" "$TA $process"
	# sandbox-exec's line: the trace, and a span of it (the process span,
	# or its own once it has one).
	run -0 logged main tel-a executed
	[[ "$output" == "$TA "* ]] && jq -e --arg s "${output#* }" 'any(.[]; .span_id == $s)' <<< "$spans" > /dev/null ||
		fail "executed: $output"
	assert_equal "$(logged main tel-a 'judged: accepted')" "$TA $judge"
	assert_equal "$(logged main tel-a "produced to $RESULTS")" "$TA $send"

	spans=$(spans_of "$TC")
	schedule=$(one_span "$spans" '.name == "retry schedule"' | jq -r .span_id)
	publish=$(one_span "$spans" '.name == "retry publish"' | jq -r .span_id)
	assert_equal "$(logged main tel-retry 'retry scheduled: attempt 1 failed (injected): retry 2 in ')" "$TC $schedule"
	assert_equal "$(logged mover tel-retry "re-published to $JOBS")" "$TC $publish"
	# Every line about a job names its trace.
	run -0 jq -r -s '[.[] | select(.tempId != null and .trace_id == null)] | length' "$BATS_FILE_TMPDIR/main.err"
	assert_output 0
}

@test "logs: pino-pretty renders them" {
	run -0 --separate-stderr "$PINO_PRETTY" < "$BATS_FILE_TMPDIR/main.err"
	assert_output --partial 'INFO (judge/'
	assert_output --partial 'judged: accepted'
	assert_output --partial "trace_id: \"$TA\""
	assert_output --partial "consumed $JOBS["
	[ -z "$stderr" ]
}

# --- no endpoint, another protocol, the collector away ---------------------------

@test "no endpoint: meta keeps the incoming traceparent and tracestate, and produce forwards them" {
	local line
	kafka_lane run
	jq -c '.tempId = "tel-off"' "$TFIX/job.json" |
		produce_jobs "$JOBS" -H "traceparent=00-$TA-$HA-01" -H "tracestate=rojo=1"
	run -0 --separate-stderr timeout 60 "$KCJ" consume --lane run -b "$BROKER" -c 1
	line=$output
	jq -e --arg tp "00-$TA-$HA-01" '.meta.traceparent == $tp and .meta.tracestate == "rojo=1"
		and .meta.headers == {"traceparent": $tp, "tracestate": "rojo=1"}' <<< "$line" > /dev/null ||
		fail "line: $line"
	run -0 jq -c -R 'fromjson | select(.msg | startswith("consumed ")) | [.trace_id, .span_id]' <<< "$stderr"
	assert_output "[\"$TA\",\"$HA\"]"
	jq -c '. + {result: {tempId: .tempId, executionResult: {verdict: "accepted"}}}' <<< "$line" \
		> "$BATS_TEST_TMPDIR/result.jsonl"
	run -0 --separate-stderr timeout 60 "$KCJ" produce -b "$BROKER" < "$BATS_TEST_TMPDIR/result.jsonl"
	run -0 message_of "$RESULTS" tel-off
	assert_equal "$(jq -c .headers <<< "$output")" "{\"traceparent\":\"00-$TA-$HA-01\",\"tracestate\":\"rojo=1\"}"
}

@test "http/protobuf to the receiver's HTTP port: the same spans and metrics" {
	local out=$BATS_FILE_TMPDIR/http.jsonl spans process
	kafka_lane run
	jq -c '.tempId = "tel-http"' "$TFIX/job.json" | produce_jobs "$JOBS" -H "traceparent=00-$TH-$HH-01"
	receiver_start http
	export OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:$(receiver_port http http)"
	export "${FAST_OTEL[@]}"
	pipeline_start p -- sh -c 'bin/sandbox-exec | bin/judge'
	wait_until 60 has_messages "$RESULTS" 1
	bg_stop p
	assert_equal "$BG_STATUS" 0
	spans=$(spans_of "$TH" "$out")
	process=$(one_span "$spans" ".name == \"process $JOBS\" and .transport == \"http\" and .parent_span_id == \"$HH\"")
	one_span "$spans" ".name == \"judge\" and .transport == \"http\" and .parent_span_id == $(jq .span_id <<< "$process")" > /dev/null
	one_span "$spans" ".name == \"send $RESULTS\" and .transport == \"http\" and .parent_span_id == $(jq .span_id <<< "$process")" > /dev/null
	run -0 jq -s '[.[] | select(.type == "metric" and (.name == "codex.jobs.consumed" or .name == "codex.judge.duration"))]
		| ([.[].name] | unique) == ["codex.jobs.consumed", "codex.judge.duration"] and all(.transport == "http")' "$out"
	assert_output true
	receiver_stop http
}

# spans_for KEY FILE: how many process spans of messages with KEY arrived.
spans_for() {
	jq -s --arg k "$1" '[.[] | select(.type == "span" and .attributes["messaging.kafka.message.key"] == $k
		and (.name | startswith("process ")))] | length' "$2"
}

# exported_again FILE: the spans of tel-up-1 and tel-up-2 arrived, and
# kcat-jobs's count of dropped spans.
exported_again() {
	[ "$(spans_for tel-up-1 "$1")" -ge 1 ] && [ "$(spans_for tel-up-2 "$1")" -ge 1 ] &&
		jq -e -s '[.[] | select(.type == "metric" and .name == "otel.exporter.dropped"
			and .resource["service.name"] == "kcat-jobs" and .attributes.reason == "export_failed"
			and .value >= 1)] | length > 0' "$1" > /dev/null
}

@test "collector away: every job still gets its result and drops are counted; back: export resumes" {
	local out=$BATS_FILE_TMPDIR/away.jsonl port err=$BATS_TEST_TMPDIR/p.err
	kafka_lane run
	# A port that was free a moment ago, for the collector to come back on.
	receiver_start probe
	port=$(receiver_port probe grpc)
	receiver_stop probe
	jq -c 'range(1; 4) as $i | .tempId = "tel-away-\($i)"' "$TFIX/job.json" | produce_jobs "$JOBS"
	export OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:$port
	export "${FAST_OTEL[@]}"
	pipeline_start p -- sh -c 'bin/sandbox-exec | bin/judge'
	wait_until 60 has_keys "$RESULTS" 3
	# A batch is tried 5 times (about 4 s), then dropped, counted and logged.
	wait_until 30 grep -q '"name":"kcat-jobs".*"msg":"otel: exporting traces to [^"]* failed.*spans dropped' "$err"

	receiver_start away --grpc-port "$port"
	jq -c 'range(1; 3) as $i | .tempId = "tel-up-\($i)"' "$TFIX/job.json" | produce_jobs "$JOBS"
	wait_until 60 has_keys "$RESULTS" 5
	wait_until 30 exported_again "$out"
	bg_stop p
	assert_equal "$BG_STATUS" 0
	grep -q '"name":"kcat-jobs".*"msg":"otel: exporting traces to [^"]* works again"' "$err"
	run -0 not_pino "$err"
	assert_output '[]'
	receiver_stop away
}
