#!/usr/bin/env bats
# The JSON Schemas of docs/schemas/ against what the programs really write:
# the example jobs, `sandbox-exec | judge` lines and their results (one run
# of every example, in setup_file), error lines, retryd's entries and
# dead-letter results, and what kcat-jobs puts on a (mock) broker; plus
# scripts/validate-schema's own behaviour.
bats_require_minimum_version 1.5.0
load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'

ROOT=$(cd "$BATS_TEST_DIRNAME/.." && pwd)
VALIDATE=$ROOT/scripts/validate-schema
FIX=$ROOT/tests/fixtures/schemas

# The platform's settings in the caller's environment would change the runs.
unset EXECUTION_TIMEOUT MAX_OUTPUT_LENGTH CONTAINER_POOL_SIZE CODEX_LANGUAGES CODEX_SHARE \
	KAFKA_BROKERS KAFKA_DLQ_TOPIC KAFKA_MAX_RETRIES REDIS_URL \
	KAFKA_SUBMISSION_JOBS_TOPIC KAFKA_SUBMISSION_RESULTS_TOPIC KAFKA_SUBMISSION_GROUP_ID \
	KAFKA_RUN_JOBS_TOPIC KAFKA_RUN_RESULTS_TOPIC KAFKA_RUN_GROUP_ID \
	KAFKA_CUSTOM_JOBS_TOPIC KAFKA_CUSTOM_RESULTS_TOPIC KAFKA_CUSTOM_GROUP_ID

setup_file() {
	cd "$ROOT"
	# What is under test is what the tree builds: a failed build fails the suite.
	make -s bin/sandbox-exec bin/judge bin/retryd bin/kcat-jobs >&3 2>&1
	export LINES_FILE=$BATS_FILE_TMPDIR/lines.jsonl
	cat examples/*/*.json | timeout 300 bin/sandbox-exec -j 2 2> /dev/null |
		timeout 60 bin/judge 2> /dev/null > "$LINES_FILE"
	# The validator needs python3-jsonschema: install it once, here.
	echo '{}' | "$VALIDATE" common > /dev/null
}

setup() {
	cd "$ROOT"
}

# Stops what a test started in the background (its pid in a *.pid file),
# also when the test failed half-way.
teardown() {
	local f
	for f in "$BATS_TEST_TMPDIR"/*.pid; do
		[ -f "$f" ] || continue
		kill "$(cat "$f")" 2> /dev/null || true
	done
}

# The job schema of an example: the shape lib/judge/job.c would see.
job_schema_of() {
	jq -r 'if has("executableCode") then
			(if has("submissionId") then "submission-job" else "run-job" end)
		elif has("testCases") then "native-job" else "custom-job" end' "$1"
}

# results MODE: the `result` of every line of that mode, one a line.
results() {
	jq -c --arg m "$1" 'select(.exec.mode == $m) | .result' "$LINES_FILE"
}

# free_port: a TCP port nobody listens on, most likely.
free_port() {
	/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

@test "every example job validates against the schema of its shape" {
	local f schema n=0 shapes=""
	for f in examples/*/*.json; do
		schema=$(job_schema_of "$f")
		run "$VALIDATE" "$schema" "$f"
		assert_output ""
		assert_success
		run "$VALIDATE" job "$f"
		assert_output ""
		assert_success
		shapes+="$schema"$'\n'
		n=$((n + 1))
	done
	[ "$n" -ge 57 ]
	run -0 sort -u <<< "${shapes%$'\n'}"
	assert_output $'custom-job\nnative-job\nrun-job\nsubmission-job'
}

@test "examples through sandbox-exec | judge: every line validates against exec-line.json" {
	run -0 jq -s 'length' "$LINES_FILE"
	assert_output "$(ls examples/*/*.json | wc -l)"
	run -0 jq -e -s 'map(select(has("error"))) | length == 0' "$LINES_FILE"
	run "$VALIDATE" exec-line "$LINES_FILE"
	assert_output ""
	assert_success
}

@test "submission results validate against submission-result.json" {
	results submit > "$BATS_TEST_TMPDIR/r"
	run "$VALIDATE" submission-result "$BATS_TEST_TMPDIR/r"
	assert_output ""
	assert_success
	[ "$(wc -l < "$BATS_TEST_TMPDIR/r")" -ge 10 ]
	run -0 jq -e -s 'all(.[]; has("submissionId") and has("userId"))' "$BATS_TEST_TMPDIR/r"
}

@test "run results validate against run-result.json" {
	results run > "$BATS_TEST_TMPDIR/r"
	run "$VALIDATE" run-result "$BATS_TEST_TMPDIR/r"
	assert_output ""
	assert_success
	[ "$(wc -l < "$BATS_TEST_TMPDIR/r")" -ge 20 ]
	# tempId with testCases is the run lane
	run -0 jq -e -s 'map(select(has("tempId") and has("testCases") and (has("submissionId") | not)))
		| all(.[]; .exec.mode == "run")' "$LINES_FILE"
}

@test "custom results validate against custom-result.json" {
	results custom > "$BATS_TEST_TMPDIR/r"
	run "$VALIDATE" custom-result "$BATS_TEST_TMPDIR/r"
	assert_output ""
	assert_success
	# custom: the jobs without testCases, and only those
	run -0 jq -s 'map(select(has("testCases") | not)) | length' "$LINES_FILE"
	assert_output "$(wc -l < "$BATS_TEST_TMPDIR/r")"
	[ "$output" -ge 6 ]
	run -0 jq -e -s 'map(select(has("testCases") | not)) | all(.[]; .exec.mode == "custom")' "$LINES_FILE"
}

@test "results: passed + failed == total, and the result is in the lane of the job's id" {
	run -0 jq -e -s 'all(.[]; .result.executionResult.stats // null | . == null or
		(.passedTestCase + .failedTestCase == .totalTestCase))' "$LINES_FILE"
	run -0 jq -e -s 'all(.[]; if has("submissionId") then .result | has("submissionId") and has("executionResult")
		elif has("testCases") then .result | has("tempId") and has("executionResult")
		else .result | has("tempId") and has("stdOut") end)' "$LINES_FILE"
}

@test "error lines of sandbox-exec for malformed jobs validate against error-line.json" {
	run -0 --separate-stderr bin/sandbox-exec < "$FIX/bad-jobs.jsonl"
	printf '%s\n' "${lines[@]}" > "$BATS_TEST_TMPDIR/errors.jsonl"
	[ "${#lines[@]}" -eq "$(wc -l < "$FIX/bad-jobs.jsonl")" ]
	run "$VALIDATE" error-line "$BATS_TEST_TMPDIR/errors.jsonl"
	assert_output ""
	assert_success
	run -0 jq -r '.error.code' "$BATS_TEST_TMPDIR/errors.jsonl"
	assert_output $'invalid-json\ninvalid-json\ninvalid-job\nunknown-language\ninvalid-job\ninvalid-job\ninvalid-job\ninvalid-job\ninvalid-job'
	# they are no exec lines
	run -1 "$VALIDATE" exec-line "$BATS_TEST_TMPDIR/errors.jsonl"
	# and the jobs sandbox-exec refused, job.json refuses, for the same reason
	run -1 --separate-stderr bash -c "jq -c 'select(.error.code != \"invalid-json\") | del(.error)' \
		'$BATS_TEST_TMPDIR/errors.jsonl' | '$VALIDATE' job"
	[ "${#stderr_lines[@]}" -eq 7 ]
	assert_equal "${stderr_lines[0]}" "-:1: \$: 'language' is a required property"
	assert_equal "${stderr_lines[1]}" "-:2: \$.language: 'cobol' is not one of ['javascript', 'python', 'go', 'c', 'cpp', 'rust', 'java']"
	assert_equal "${stderr_lines[2]}" "-:3: \$.testCases: 'all of them' is not of type 'array'"
	assert_equal "${stderr_lines[4]}" "-:5: \$.limits.timeMs: 0 is less than the minimum of 1"
	assert_equal "${stderr_lines[6]}" "-:7: \$.testCases[0].input: 1 is not of type 'string'"
}

@test "judge's error lines validate against error-line.json" {
	run -0 --separate-stderr bin/judge <<< $'not json\n{"tempId":"t-1","language":"python"}'
	printf '%s\n' "${lines[@]}" > "$BATS_TEST_TMPDIR/errors.jsonl"
	run "$VALIDATE" error-line "$BATS_TEST_TMPDIR/errors.jsonl"
	assert_output ""
	assert_success
	run -0 jq -r '.error.code' "$BATS_TEST_TMPDIR/errors.jsonl"
	assert_output $'invalid-json\ninvalid-job'
}

@test "the platform's own messages validate (the schemas are no stricter than the Node service)" {
	run "$VALIDATE" submission-result "$FIX/platform-results.jsonl"
	assert_output ""
	assert_success
	run "$VALIDATE" run-result "$FIX/platform-run-results.jsonl"
	assert_output ""
	assert_success
	run "$VALIDATE" custom-result "$FIX/platform-custom-results.jsonl"
	assert_output ""
	assert_success
	run "$VALIDATE" retry-entry "$FIX/platform-retry-entries.jsonl"
	assert_output ""
	assert_success
}

@test "negative: a result without executionResult.stats fails, saying so" {
	run -1 "$VALIDATE" run-result "$FIX/result-missing-stats.jsonl"
	assert_output "$FIX/result-missing-stats.jsonl:1: \$.executionResult: 'stats' is a required property"
	# the same inside a whole line
	run -1 bash -c "jq -c 'select(.result.executionResult) | del(.result.executionResult.stats)' \
		'$LINES_FILE' | head -n 1 | '$VALIDATE' exec-line"
	assert_output "-:1: \$.result.executionResult: 'stats' is a required property"
}

@test "negative: a custom result whose stdOut is a number fails" {
	run -1 "$VALIDATE" custom-result "$FIX/custom-stdout-number.jsonl"
	assert_output "$FIX/custom-stdout-number.jsonl:1: \$.stdOut: 42 is not of type 'string'"
}

@test "negative: results the platform would never send fail" {
	# a run result with both testResults and failedTestCase
	run -1 bash -c "jq -c '.executionResult.failedTestCase = {index: 0, input: \"\", output: \"x\", expectedOutput: \"\"}' \
		'$FIX/platform-run-results.jsonl' | head -n 1 | '$VALIDATE' run-result"
	assert_output --partial "-:1: \$.executionResult: not valid under exactly one of the given schemas"
	# a failedTestCase output that is no string (the gRPC message needs one)
	run -1 bash -c "sed -n 2p '$FIX/platform-results.jsonl' |
		jq -c '.executionResult.failedTestCase.output = [2,1]' | '$VALIDATE' submission-result"
	assert_output "-:1: \$.executionResult.failedTestCase.output: [2, 1] is not of type 'string'"
	# a field nobody declared
	run -1 bash -c "head -n 1 '$FIX/platform-custom-results.jsonl' | jq -c '.debug = true' | '$VALIDATE' custom-result"
	assert_output "-:1: \$: Additional properties are not allowed ('debug' was unexpected)"
	# invalid JSON is an invalid line
	run -1 "$VALIDATE" custom-result <<< 'not json'
	assert_output --partial "-:1: \$: not JSON:"
}

@test "validate-schema: usage errors and unreadable schemas exit 100" {
	run -100 "$VALIDATE"
	assert_output --partial "usage: validate-schema SCHEMA [FILE...]"
	run -100 "$VALIDATE" --frobnicate run-result
	assert_output --partial "unknown option --frobnicate"
	run -100 "$VALIDATE" no-such-schema < /dev/null
	assert_output "validate-schema: no-such-schema: cannot read: No such file or directory"
	run -100 "$VALIDATE" "$FIX/broken-schema.json" < /dev/null
	assert_output --partial "broken-schema.json: not JSON"
	run -100 "$VALIDATE" "$FIX/not-a-schema.json" < /dev/null
	assert_output --partial "not-a-schema.json: not a valid schema"
	run -100 "$VALIDATE" run-result "$BATS_TEST_TMPDIR/missing.jsonl"
	assert_output --partial "missing.jsonl: cannot read"
	run -0 "$VALIDATE" --help
	assert_line --index 0 --partial "validate-schema: checks JSON lines"
	# blank input is valid input
	run "$VALIDATE" run-result < /dev/null
	assert_output ""
	assert_success
}

@test "retryd schedule: a stored retry entry validates against retry-entry.json" {
	command -v redis-server > /dev/null || skip "no redis-server"
	local port pid
	port=$(free_port)
	redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no \
		--dir "$BATS_TEST_TMPDIR" > "$BATS_TEST_TMPDIR/redis.log" 2>&1 &
	pid=$!
	echo "$pid" > "$BATS_TEST_TMPDIR/redis.pid"
	for _ in $(seq 50); do redis-cli -p "$port" ping > /dev/null 2>&1 && break; sleep 0.1; done
	jq -c '. + {meta: {lane: "run", topic: "RUN_JOBS", partition: 1, offset: 7, key: .tempId,
		timestamp: 1795670000000, headers: {traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"},
		traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", attempt: 1, firstSeen: 1795670000},
		error: {kind: "infrastructure", code: "slot-timeout", message: "no slot"}}' \
		examples/python/stdio-accepted.json > "$BATS_TEST_TMPDIR/infra.jsonl"
	run -0 --separate-stderr timeout 20 bin/retryd schedule --redis "redis://127.0.0.1:$port" \
		--key schemas-test < "$BATS_TEST_TMPDIR/infra.jsonl"
	printf '%s\n' "$output" > "$BATS_TEST_TMPDIR/scheduled.jsonl"
	run -0 redis-cli -p "$port" --raw zrange schemas-test 0 -1
	printf '%s\n' "$output" > "$BATS_TEST_TMPDIR/entries.jsonl"
	kill "$pid"
	wait "$pid" || true
	rm -f "$BATS_TEST_TMPDIR/redis.pid"
	run "$VALIDATE" retry-entry "$BATS_TEST_TMPDIR/entries.jsonl"
	assert_output ""
	assert_success
	run -0 jq -r '[.topic, .key, .headers["x-retry-count"], .firstSeen, (.value | fromjson | has("meta"))] | @tsv' \
		"$BATS_TEST_TMPDIR/entries.jsonl"
	assert_output $'RUN_JOBS\t20c4ddf3-d2c5-5c66-a761-7c308b2cbf9d\t1\t1795670000\tfalse'
	# the line itself: an error line with its retry section
	run "$VALIDATE" error-line "$BATS_TEST_TMPDIR/scheduled.jsonl"
	assert_output ""
	assert_success
	run -0 jq -e '.retry.attempt == 2' "$BATS_TEST_TMPDIR/scheduled.jsonl"
}

# The error result (lib/judge/answer.c) carries stats.executionTimeMs and
# stats.memoryMB, which the platform sends on every path, and an error
# object saying why.
@test "retryd schedule: the internal_error result after max retries is in the lane's result shape" {
	local lane job
	for lane in submit run custom; do
		case $lane in
		submit) job=examples/python/compat-accepted.json ;;
		run) job=examples/python/compat-wrong-answer.json ;;
		custom) job=examples/python/custom-accepted.json ;;
		esac
		jq -c --arg lane "$lane" '. + {meta: {lane: $lane, topic: "T", partition: 0, offset: 3,
			key: (.submissionId // .tempId), timestamp: 1, headers: {}, traceparent: null,
			attempt: 4, firstSeen: 100}, error: {kind: "infrastructure", code: "slot-timeout", message: "no slot"}}' "$job"
	done > "$BATS_TEST_TMPDIR/infra.jsonl"
	run -0 --separate-stderr timeout 20 bin/retryd schedule --redis redis://127.0.0.1:1 --redis-timeout 1 \
		< "$BATS_TEST_TMPDIR/infra.jsonl"
	printf '%s\n' "$output" > "$BATS_TEST_TMPDIR/dead.jsonl"
	run -0 jq -r '[.dlq.headers["x-error"], .dlq.headers["x-retry-count"], (.result.verdict // .result.executionResult.verdict)] | @tsv' \
		"$BATS_TEST_TMPDIR/dead.jsonl"
	assert_output $'max-retries-reached\t3\tinternal_error\nmax-retries-reached\t3\tinternal_error\nmax-retries-reached\t3\tinternal_error'
	run "$VALIDATE" error-line "$BATS_TEST_TMPDIR/dead.jsonl"
	assert_output ""
	assert_success
}

# Known contract bug: a submission with no testcases whose program fails as a
# whole gets stats 0/0/0 and a failedTestCase; Code-Manage records it as
# accepted (passedTestCase == totalTestCase). The Node service sends no
# result at all there.
@test "a submission with no testcases is poison: it can never be reported as all passed" {
	# Code-Manage counts a submission accepted when passed == total; with
	# no testcases even a compile error would be "accepted".
	jq -c 'select(.submissionId == "79df9d5e-5b88-59a1-9a22-795e6112acf0") | .testCases = []
		| del(.exec, .result)' "$LINES_FILE" > "$BATS_TEST_TMPDIR/zero.jsonl"
	[ -s "$BATS_TEST_TMPDIR/zero.jsonl" ]
	run -0 --separate-stderr bin/sandbox-exec < "$BATS_TEST_TMPDIR/zero.jsonl"
	run -0 jq -r '.error.kind + " " + .error.code + " " + .error.message' <<< "$output"
	assert_output "poison invalid-job a submission needs at least one testcase"
}

@test "kcat-jobs on a mock broker: meta, DLQ headers and the results topic match the schemas" {
	command -v kcat > /dev/null || skip "no kcat"
	[ -x bin/kcat-jobs ] || skip "no bin/kcat-jobs"
	local pid broker tp=00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01
	timeout 120 bin/kcat-jobs mock-cluster > "$BATS_TEST_TMPDIR/mock.out" 2> /dev/null &
	pid=$!
	echo "$pid" > "$BATS_TEST_TMPDIR/mock.pid"
	for _ in $(seq 50); do [ -s "$BATS_TEST_TMPDIR/mock.out" ] && break; sleep 0.1; done
	broker=$(head -n 1 "$BATS_TEST_TMPDIR/mock.out")
	# a poison message, a job in no language, a good job; all on partition 0
	printf 'not json' | timeout 20 kcat -P -b "$broker" -t RUN_JOBS -p 0 -k bad -H x-retry-count=0 -H "traceparent=$tp"
	printf 'bad-2\t{"tempId":"bad-2","language":"cobol","userCode":"x","testCases":[]}\n' |
		timeout 20 kcat -P -b "$broker" -t RUN_JOBS -p 0 -K $'\t'
	jq -c . examples/python/stdio-accepted.json | sed 's/^/good\t/' |
		timeout 20 kcat -P -b "$broker" -t RUN_JOBS -p 0 -K $'\t' -H x-retry-count=1 -H "traceparent=$tp"
	run -0 --separate-stderr timeout 60 bin/kcat-jobs consume --lane run -b "$broker" -c 1
	printf '%s\n' "$output" > "$BATS_TEST_TMPDIR/consumed.jsonl"
	run -0 bash -c "jq -c .meta '$BATS_TEST_TMPDIR/consumed.jsonl' | '$VALIDATE' meta"
	assert_output ""
	run -0 jq -r '.meta | [.lane, .topic, .key, .attempt, .traceparent] | @tsv' "$BATS_TEST_TMPDIR/consumed.jsonl"
	assert_output "$(printf 'run\tRUN_JOBS\tgood\t2\t%s' "$tp")"
	# through the stages, then to the broker
	timeout 120 bin/sandbox-exec < "$BATS_TEST_TMPDIR/consumed.jsonl" 2> /dev/null |
		bin/judge 2> /dev/null > "$BATS_TEST_TMPDIR/judged.jsonl"
	run "$VALIDATE" exec-line "$BATS_TEST_TMPDIR/judged.jsonl"
	assert_output ""
	assert_success
	jq -c '. + {error: {kind: "infrastructure", code: "slot-timeout", message: "no slot free"}}' \
		"$BATS_TEST_TMPDIR/consumed.jsonl" > "$BATS_TEST_TMPDIR/infra.jsonl"
	run -0 --separate-stderr bash -c "cat '$BATS_TEST_TMPDIR/judged.jsonl' '$BATS_TEST_TMPDIR/infra.jsonl' |
		timeout 60 bin/kcat-jobs produce -b '$broker'"
	run -0 bash -c "timeout 20 kcat -C -b '$broker' -t RUN_RESULTS -o beginning -e -q -f '%s\n' |
		'$VALIDATE' run-result"
	assert_output ""
	# every DLQ header is one docs/schemas/README.md documents
	timeout 20 kcat -C -b "$broker" -t DLQ_QUEUE -o beginning -e -J -q > "$BATS_TEST_TMPDIR/dlq.jsonl"
	kill "$pid"
	wait "$pid" || true
	rm -f "$BATS_TEST_TMPDIR/mock.pid"
	run -0 jq -r '.headers as $h | [range(0; $h | length; 2) | $h[.]] | .[]' "$BATS_TEST_TMPDIR/dlq.jsonl"
	local names
	names=$(printf '%s\n' "${lines[@]}" | sort -u | tr '\n' ' ')
	assert_equal "$names" "traceparent x-error x-error-message x-original-offset x-original-partition x-original-topic x-retry-count "
	for h in x-error x-error-message x-original-topic x-original-partition x-original-offset x-retry-count x-first-seen traceparent; do
		grep -q "^| \`$h\` |" docs/schemas/README.md
	done
	run -0 jq -r '[.key, (.headers as $h | [range(0; $h | length; 2) | {($h[.]): $h[. + 1]}] | add | .["x-error"], .["x-original-offset"])] | @tsv' \
		"$BATS_TEST_TMPDIR/dlq.jsonl"
	assert_output --partial $'bad\tinvalid-json\t0'
	assert_output --partial $'bad-2\tunknown-language\t1'
	assert_output --partial $'good\tslot-timeout\t2'
}
