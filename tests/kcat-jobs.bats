#!/usr/bin/env bats
# kcat-jobs(1): Kafka job messages become job lines with a `meta` section;
# result lines go to the lane's results topic, poison and infrastructure
# failures to the dead-letter topic; a job's offset is committed only once
# its outcome is safe in Kafka (docs/pipeline.md, DESIGN.md section 3).
# Runs against a broker of the file's own (scripts/kafka-up, port 39192 or
# the next free one); every test has topics and a consumer group of its own.
# Needs root (sandbox-exec) and bin/* built.
bats_require_minimum_version 1.5.0
load helpers
load kafka-helpers

KFIX=$ROOT/tests/fixtures/kcat-jobs
REBALANCE_TOPIC=kcj-rebalance-jobs	# created with 3 partitions up front
MIDDLE='bin/sandbox-exec -j 2 | bin/judge'
TRACEPARENT=00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01

setup_file() {
	kafka_up 39192 "$REBALANCE_TOPIC"
}

teardown_file() {
	kafka_down
}

setup() {
	cd "$ROOT"
}

teardown() {
	if [ -e "$BATS_TEST_TMPDIR/broker-stopped" ]; then
		kill -CONT "$(cat "$KDIR/kafka.pid")" || true
	fi
	bg_cleanup
}

# held_middle SECONDS: the middle with each job line held SECONDS before
# sandbox-exec (one at a time), so jobs stay in flight.
held_middle() {
	echo "$KFIX/hold $1 | $MIDDLE"
}

# hello_job ID: a quick custom python job that prints ID.
hello_job() {
	jq -cn --arg id "$1" '{tempId: $id, language: "python", userCode: ("print(\"\($id)\")\n" | tojson)}'
}

# hello_jobs PREFIX N: N hello jobs PREFIX-1 .. PREFIX-N, one a line.
hello_jobs() {
	local i
	for ((i = 1; i <= $2; i++)); do
		hello_job "$1-$i"
	done
}

# lane_examples LANE: the example jobs of LANE's shape, one a line.
lane_examples() {
	local filter
	case $1 in
	submit) filter='has("submissionId")' ;;
	run) filter='(has("submissionId") | not) and has("tempId") and has("testCases")' ;;
	custom) filter='(has("submissionId") | not) and has("tempId") and (has("testCases") | not)' ;;
	esac
	cat "$EXAMPLES"/*/*.json | jq -c "select($filter)"
}

# expected_verdicts: "id<TAB>verdict" of every example, from expected.tsv.
expected_verdicts() {
	local rel want
	while IFS=$'\t' read -r rel want; do
		printf '%s\t%s\n' "$(jq -r '.submissionId // .tempId' "$EXAMPLES/$rel")" "$want"
	done < "$EXAMPLES/expected.tsv"
}

# ids FILE: the job ids of the job lines of FILE, sorted.
ids() {
	jq -r '.submissionId // .tempId' "$1" | sort
}

# result_keys: the keys of the results topic's messages, sorted (one per
# result, duplicates kept).
result_keys() {
	topic_json "$RESULTS" | jq -r .key | sort
}

# duplicated_keys: the keys the results topic holds more than once.
duplicated_keys() {
	result_keys | uniq -d
}

# assert_one_result_each FILE: every job of the job lines of FILE has
# exactly one result, and nothing else has one.
assert_one_result_each() {
	assert_equal "$(result_keys)" "$(ids "$1")"
}

# check_lane LANE ID_FIELD SHAPE: every example of LANE's shape through
# `kcat-jobs pipeline --lane LANE`: one result per job, keyed by its id (the
# result's ID_FIELD), each result satisfying the jq predicate SHAPE, with the
# verdict of expected.tsv.
check_lane() {
	local jobs=$BATS_TEST_TMPDIR/jobs.jsonl n id_field=$2 shape=$3
	kafka_lane "$1"
	lane_examples "$1" > "$jobs"
	n=$(wc -l < "$jobs")
	produce_jobs "$JOBS" < "$jobs"
	pipeline_start p -- sh -c "$MIDDLE"
	wait_until 100 has_messages "$RESULTS" "$n"
	bg_stop p
	assert_equal "$BG_STATUS" 0
	assert_one_result_each "$jobs"

	topic_messages "$RESULTS" > "$BATS_TEST_TMPDIR/results.jsonl"
	run -0 jq -e -s --arg id "$id_field" 'all(.key == .value[$id])' "$BATS_TEST_TMPDIR/results.jsonl"
	run -0 jq -e -s "all(.value | $shape)" "$BATS_TEST_TMPDIR/results.jsonl"

	run -0 jq -r '[.key, (.value.executionResult.verdict // .value.verdict)] | @tsv' \
		"$BATS_TEST_TMPDIR/results.jsonl"
	local got want
	got=$(printf '%s\n' "${lines[@]}" | sort)
	want=$(expected_verdicts | grep -F -f <(ids "$jobs") | sort)
	assert_equal "$got" "$want"
}

# --- usage -----------------------------------------------------------------

@test "--help prints the usage on stdout and exits 0" {
	run -0 --separate-stderr timeout 10 "$KCJ" --help
	assert_line --index 0 --regexp '^usage: kcat-jobs consume '
	assert_line --regexp '^ +kcat-jobs pipeline --lane L .*-- CMD'
	assert_equal "$stderr" ''
}

@test "--version prints the program and its version and exits 0" {
	run -0 --separate-stderr timeout 10 "$KCJ" --version
	assert_output --regexp '^kcat-jobs [0-9]+\.[0-9]+\.[0-9]+$'
	assert_equal "$stderr" ''
}

@test "no command exits 100 with the usage on stderr" {
	run -100 --separate-stderr timeout 10 "$KCJ" < /dev/null
	assert_output ''
	assert_stderr_has 'usage: kcat-jobs '
}

@test "an unknown command exits 100 naming it" {
	run -100 --separate-stderr timeout 10 "$KCJ" frobnicate -b "$BROKER" < /dev/null
	assert_output ''
	assert_stderr_has "unknown command 'frobnicate'"
}

@test "an unknown option exits 100 with the usage on stderr" {
	run -100 --separate-stderr timeout 10 "$KCJ" consume --lane run --frobnicate < /dev/null
	assert_output ''
	assert_stderr_has 'usage: kcat-jobs '
}

@test "a missing or unknown --lane exits 100 for consume and pipeline, unknown for produce" {
	run -100 --separate-stderr timeout 10 "$KCJ" consume -b "$BROKER" < /dev/null
	assert_output ''
	assert_stderr_has '--lane must be submit, run or custom'
	run -100 --separate-stderr timeout 10 "$KCJ" consume --lane batch -b "$BROKER" < /dev/null
	assert_stderr_has '--lane must be submit, run or custom'
	run -100 --separate-stderr timeout 10 "$KCJ" pipeline --lane batch -b "$BROKER" -- cat < /dev/null
	assert_output ''
	assert_stderr_has '--lane must be submit, run or custom'
	run -100 --separate-stderr timeout 10 "$KCJ" produce --lane batch -b "$BROKER" < /dev/null
	assert_output ''
	assert_stderr_has '--lane must be submit, run or custom'
}

@test "-X with an unknown librdkafka property exits 100 naming it" {
	run -100 --separate-stderr timeout 10 "$KCJ" consume --lane run -b "$BROKER" \
		-X no.such.property=1 < /dev/null
	assert_output ''
	assert_stderr_has 'no.such.property'
	run -100 --separate-stderr timeout 10 "$KCJ" produce -b "$BROKER" -X no.such.property=1 < /dev/null
	assert_stderr_has 'no.such.property'
	run -100 --separate-stderr timeout 10 "$KCJ" consume --lane run -b "$BROKER" -X acks < /dev/null
	assert_stderr_has "'acks' is not key=value"
}

@test "-F with a missing file exits 100 naming it" {
	run -100 --separate-stderr timeout 10 "$KCJ" consume --lane run -b "$BROKER" \
		-F "$BATS_TEST_TMPDIR/no-such.properties" < /dev/null
	assert_output ''
	assert_stderr_has "$BATS_TEST_TMPDIR/no-such.properties: No such file or directory"
}

@test "-F with a bad line exits 100 naming the file and the line" {
	printf '# librdkafka properties\n\nclient.id=kcj\nno.such.property=1\n' > "$BATS_TEST_TMPDIR/bad.properties"
	run -100 --separate-stderr timeout 10 "$KCJ" consume --lane run -b "$BROKER" \
		-F "$BATS_TEST_TMPDIR/bad.properties" < /dev/null
	assert_output ''
	assert_stderr_has "$BATS_TEST_TMPDIR/bad.properties:4: "
	assert_stderr_has 'no.such.property'
}

@test "-F with a file that cannot be read (a directory) exits 100" {
	mkdir "$BATS_TEST_TMPDIR/props.d"
	kafka_lane run
	run -100 --separate-stderr timeout 5 "$KCJ" consume --lane run -b "$BROKER" \
		-F "$BATS_TEST_TMPDIR/props.d" < /dev/null
	assert_output ''
	assert_stderr_has 'props.d'
}

@test "produce with an extra argument exits 100 with the usage" {
	run -100 --separate-stderr timeout 10 "$KCJ" produce -b "$BROKER" results.jsonl < /dev/null
	assert_output ''
	assert_stderr_has 'usage: kcat-jobs '
}

@test "pipeline without a command after -- exits 100" {
	run -100 --separate-stderr timeout 10 "$KCJ" pipeline --lane run -b "$BROKER" < /dev/null
	assert_output ''
	assert_stderr_has 'no command after --'
}

@test "pipeline with a command that cannot be executed exits 100 naming it" {
	run -100 --separate-stderr timeout 10 "$KCJ" pipeline --lane run -b "$BROKER" -- /no/such/cmd < /dev/null
	assert_output ''
	assert_stderr_has 'cannot run /no/such/cmd: No such file or directory'
}

@test "a number option out of range exits 100 naming it" {
	run -100 --separate-stderr timeout 10 "$KCJ" consume --lane run -b "$BROKER" -c 0 < /dev/null
	assert_stderr_has "--count: '0'"
	run -100 --separate-stderr timeout 10 "$KCJ" consume --lane run -b "$BROKER" -m many < /dev/null
	assert_stderr_has "--max-inflight: 'many'"
	run -100 --separate-stderr timeout 10 "$KCJ" consume --lane run -b "$BROKER" --max-bytes -1 < /dev/null
	assert_stderr_has "--max-bytes: '-1'"
}

# --- the pipeline, lane by lane --------------------------------------------

@test "pipeline --lane submit: every submission example gets one result, keyed by submissionId, with its verdict" {
	check_lane submit submissionId 'has("submissionId") and has("userId") and (has("tempId") | not)
		and (.executionResult.stats | has("totalTestCase") and has("passedTestCase")
			and has("failedTestCase"))
		and .executionResult.testResults == null'
}

@test "pipeline --lane run: every run example gets one result, keyed by tempId, with its verdict" {
	# Every testcase is listed once the program ran; a program that never
	# got through (compile error, memory) reports its failed testcase.
	check_lane run tempId 'has("tempId") and (has("submissionId") | not)
		and (.executionResult.stats | has("totalTestCase"))
		and if (.executionResult.verdict | IN("accepted", "wrong_answer"))
			then (.executionResult.testResults | length) == .executionResult.stats.totalTestCase
			else (.executionResult.testResults | type == "array") or .executionResult.failedTestCase != null
			end'
}

@test "pipeline --lane custom: every custom example gets one result, keyed by tempId, with stdOut" {
	check_lane custom tempId 'has("tempId") and (.stdOut | type == "string") and (has("executionResult") | not)
		and (.verdict != "accepted" or .stdOut == "hello\n")'
}

# --- poison ----------------------------------------------------------------

# assert_dead_letter KEY CODE: the DLQ holds one message of KEY, with the
# value bytes and headers KEY's message had on the job topic, x-error CODE,
# an x-error-message, and x-original-topic/partition/offset naming it.
assert_dead_letter() {
	local orig dead
	orig=$(jq -c --arg k "$1" 'select(.key == $k)' "$BATS_TEST_TMPDIR/jobs-topic.json")
	dead=$(jq -c --arg k "$1" 'select(.key == $k)' "$BATS_TEST_TMPDIR/dlq.json")
	[ "$(grep -c . <<< "$dead")" -eq 1 ] || fail "expected one DLQ message of $1, got: $dead"
	jq -e -n --argjson o "$orig" --argjson d "$dead" --arg code "$2" '
		def h: (.headers // []) as $h | [range(0; $h | length; 2) as $i
			| {key: $h[$i], value: $h[$i + 1]}] | from_entries;
		($d | h) as $dh
		| $d.payload == $o.payload
		and $dh["x-error"] == $code and ($dh["x-error-message"] | length > 0)
		and $dh["x-original-topic"] == $o.topic
		and $dh["x-original-partition"] == ($o.partition | tostring)
		and $dh["x-original-offset"] == ($o.offset | tostring)
		and ($o | h | to_entries | all($dh[.key] == .value))' > /dev/null ||
		fail "DLQ message of $1 (expected x-error $2); original: $orig; dead letter: $dead"
}

@test "poison messages go to the DLQ with their key, value and headers, and get an error result; the good jobs around them get results" {
	kafka_lane custom
	local big edge
	big=$(hello_job bad-big | jq -c --arg pad "$(printf '%03000d' 0)" '. + {pad: $pad}')
	edge=$(hello_job good-edge | jq -c '. + {pad: ""}')
	# A job of exactly --max-bytes is no poison.
	edge=$(jq -c --arg pad "$(printf "%0$((2000 - ${#edge}))d" 0)" '.pad = $pad' <<< "$edge")
	assert_equal "${#edge}" 2000
	hello_job good-1 | produce_jobs "$JOBS"
	produce_raw "$JOBS" bad-json '{"tempId": "bad-json", "language": ' -H "traceparent=$TRACEPARENT"
	produce_raw "$JOBS" bad-array '[{"tempId": "bad-array"}]' -H x-origin=test
	hello_job good-2 | produce_jobs "$JOBS"
	produce_raw "$JOBS" bad-nolang '{"tempId":"bad-nolang","userCode":"\"print(1)\\n\""}'
	produce_raw "$JOBS" bad-lang '{"tempId":"bad-lang","language":"cobol","userCode":"\"x\""}'
	produce_raw "$JOBS" bad-big "$big"
	printf 'bad-null\t\n' | timeout 30 kcat -P -b "$BROKER" -t "$JOBS" -K $'\t' -Z	# a tombstone
	produce_jobs "$JOBS" <<< "$edge"
	hello_job good-3 | produce_jobs "$JOBS"

	pipeline_start p --max-bytes 2000 -- sh -c "$MIDDLE"
	wait_until 60 has_messages "$RESULTS" 10
	wait_until 30 has_messages "$DLQ" 6
	bg_stop p
	assert_equal "$BG_STATUS" 0

	# Every message is answered once on the lane's results topic: the
	# poison ones with an error result, keyed by their id or their key.
	run -0 result_keys
	assert_output "$(printf 'bad-array\nbad-big\nbad-json\nbad-lang\nbad-nolang\nbad-null\ngood-1\ngood-2\ngood-3\ngood-edge')"
	run -0 jq -e -s 'map(select(.key | startswith("good"))) | length == 4
		and all(.value.verdict == "accepted" and .value.stdOut == "\(.key)\n")' < <(topic_messages "$RESULTS")
	run -0 jq -r -s 'map(select(.key | startswith("bad"))) | sort_by(.key)[]
		| [.key, .value.tempId, .value.verdict, .value.error.code, (.value.stdOut | startswith("internal error: "))]
		| @tsv' < <(topic_messages "$RESULTS")
	assert_output "$(printf '%s\t%s\tinternal_error\t%s\ttrue\n' bad-array bad-array invalid-json \
		bad-big bad-big oversized bad-json bad-json invalid-json bad-lang bad-lang unknown-language \
		bad-nolang bad-nolang invalid-job bad-null bad-null invalid-json)"
	run -0 jq -r 'select(.key == "bad-lang") | .value.error.message' < <(topic_messages "$RESULTS")
	assert_output "unknown language 'cobol' (python, javascript, go, c, cpp, rust, java)"
	topic_messages "$RESULTS" | jq -c .value | "$SCRIPTS/validate-schema" custom-result

	topic_json "$JOBS" > "$BATS_TEST_TMPDIR/jobs-topic.json"
	topic_json "$DLQ" > "$BATS_TEST_TMPDIR/dlq.json"
	run -0 jq -r .key "$BATS_TEST_TMPDIR/dlq.json"
	assert_equal "${#lines[@]}" 6
	assert_dead_letter bad-json invalid-json
	assert_dead_letter bad-array invalid-json
	assert_dead_letter bad-nolang invalid-job
	assert_dead_letter bad-lang unknown-language
	assert_dead_letter bad-big oversized
	assert_dead_letter bad-null invalid-json
	run -0 jq -r 'select(.key == "bad-json") | .headers | index("traceparent") as $i | .[$i + 1]' \
		"$BATS_TEST_TMPDIR/dlq.json"
	assert_output "$TRACEPARENT"
	# The poison offsets count as done: a restart does not dead-letter them again.
	hello_job good-4 | produce_jobs "$JOBS"
	pipeline_start again -- sh -c "$MIDDLE"
	wait_until 60 has_messages "$RESULTS" 11
	bg_stop again
	assert_equal "$BG_STATUS" 0
	assert_equal "$(consumed_ids again)" good-4
	assert_equal "$(topic_count "$DLQ")" 6
}

@test "a job message that carries a stage's section (retry) still ends with a result or a dead letter" {
	# produce would take a job's own "retry" for a stored retry and send
	# nothing: consume refuses such a job (poison invalid-job).
	kafka_lane custom
	hello_job forged | jq -c '. + {retry: {attempt: 2, due: 1}}' | produce_jobs "$JOBS" -p 0
	hello_job after | produce_jobs "$JOBS" -p 0
	pipeline_start p -- sh -c "$MIDDLE"
	wait_until 60 has_messages "$RESULTS" 1
	sleep 1	# the DLQ message, if any
	bg_stop p
	assert_equal "$BG_STATUS" 0
	run -0 jq -r .key < <(topic_json "$RESULTS"; topic_json "$DLQ")
	assert_line after
	assert_line forged
	run -0 jq -r 'select(.key == "forged") | .value.error.code' < <(topic_messages "$RESULTS")
	assert_output invalid-job
}

@test "whatever a stage writes for a job (nothing, a line that is not JSON, a line over the next cap), the lane goes on and every job is answered once" {
	# Between every two stages a fault filter: for job fault-P-KIND at
	# position P it writes nothing, garbage or a line over the next stage's
	# cap. Those jobs' lines never come back: each is answered after
	# --answer-timeout with an error result (no-answer) and dead-lettered;
	# the good jobs flow meanwhile, and with --max-inflight 4 the lane
	# would stop for good if the stuck offsets were never acknowledged.
	kafka_lane custom
	local kinds="drop garbage huge" k p ids=()
	for p in a b c; do
		for k in $kinds; do
			ids+=("fault-$p-$k")
		done
	done
	{
		hello_jobs good 5
		for id in "${ids[@]}"; do
			hello_job "$id"
		done
		hello_jobs late 5
	} | produce_jobs "$JOBS"
	local f=$KFIX/fault
	pipeline_start p --max-inflight 4 --answer-timeout 4 -- sh -c \
		"$f a 8 | bin/sandbox-exec -j 2 | $f b 16 | bin/judge | $f c 32"
	wait_until 120 has_messages "$RESULTS" 19
	sleep 2	# a second answer to any of them would come now
	bg_stop p
	assert_equal "$BG_STATUS" 0

	run -0 result_keys
	assert_output "$(printf '%s\n' "${ids[@]}" good-{1..5} late-{1..5} | sort)"
	run -0 jq -r -s 'map(select(.key | startswith("fault"))) | map([.value.verdict, .value.error.code])
		| unique[] | @tsv' < <(topic_messages "$RESULTS")
	assert_output "$(printf 'internal_error\tno-answer')"
	run -0 jq -e -s 'map(select(.key | startswith("fault") | not)) | length == 10
		and all(.value.verdict == "accepted")' < <(topic_messages "$RESULTS")
	# Each fault job's message is in the DLQ as it came, x-error no-answer.
	run -0 jq -r 'select(.headers | index("no-answer")) | .key' < <(topic_json "$DLQ")
	assert_equal "$(sort <<< "$output")" "$(printf '%s\n' "${ids[@]}" | sort)"
	assert_equal "$(jq -r .msg "$BATS_TEST_TMPDIR/p.err" | grep -c 'answered here: no-answer')" 9
}

# --- offsets ---------------------------------------------------------------

@test "after a clean SIGTERM, a restart on the same group consumes nothing again" {
	kafka_lane custom
	hello_jobs job 3 | produce_jobs "$JOBS"
	pipeline_start first -- sh -c "$MIDDLE"
	wait_until 60 has_messages "$RESULTS" 3
	bg_stop first
	assert_equal "$BG_STATUS" 0
	assert_equal "$(log_count first 'consumed ')" 3

	# A job produced now is the only one the restart sees.
	hello_job late | produce_jobs "$JOBS"
	pipeline_start second -- sh -c "$MIDDLE"
	wait_until 60 has_messages "$RESULTS" 4
	bg_stop second
	assert_equal "$BG_STATUS" 0
	assert_equal "$(consumed_ids second)" late
	run -0 result_keys
	assert_output "$(printf 'job-1\njob-2\njob-3\nlate')"
}

@test "kill -9 with jobs in flight: after a restart each of them has a result, the finished ones are not run again" {
	kafka_lane custom
	hello_jobs job 8 > "$BATS_TEST_TMPDIR/jobs.jsonl"
	produce_jobs "$JOBS" < "$BATS_TEST_TMPDIR/jobs.jsonl"
	# The first 3 jobs finish, the other 5 stay in flight. A short session
	# lets the group give the dead member's partitions away in 6 s, not 45.
	bg_start_session crashed "$KCJ" pipeline --lane custom -b "$BROKER" -X session.timeout.ms=6000 \
		-- sh -c "$KFIX/pass-first 3 | $MIDDLE"
	wait_until 60 has_messages "$RESULTS" 3
	wait_until 30 has_logged crashed 'consumed ' 8
	# Two auto commit intervals (1 s): the finished jobs' offsets are
	# committed; the 5 in flight are not.
	sleep 2
	bg_kill_session crashed
	assert_equal "$BG_STATUS" 137
	result_keys > "$BATS_TEST_TMPDIR/finished"
	assert_equal "$(wc -l < "$BATS_TEST_TMPDIR/finished")" 3

	pipeline_start restarted -- sh -c "$MIDDLE"
	wait_until 60 has_keys "$RESULTS" 8
	bg_stop restarted
	assert_equal "$BG_STATUS" 0
	run -0 duplicated_keys
	echo "# kill -9: 3 jobs finished, 5 in flight; after the restart $(log_count restarted 'consumed ')" \
		"consumed, ${#lines[@]} run twice" >&3
	assert_output ''
	assert_one_result_each "$BATS_TEST_TMPDIR/jobs.jsonl"
	assert_equal "$(consumed_ids restarted | sort)" \
		"$(ids "$BATS_TEST_TMPDIR/jobs.jsonl" | grep -vxF -f "$BATS_TEST_TMPDIR/finished")"
}

@test "jobs finishing out of order: the commit stops at the oldest unfinished job, which runs again after a restart" {
	kafka_lane custom
	hello_jobs job 4 > "$BATS_TEST_TMPDIR/jobs.jsonl"
	produce_jobs "$JOBS" -p 0 < "$BATS_TEST_TMPDIR/jobs.jsonl"	# offsets 0..3 of one partition
	# job-1 never comes out of the middle; 2, 3 and 4 finish after it.
	pipeline_start first -- sh -c "jq -c --unbuffered 'select(.tempId != \"job-1\")' | $MIDDLE"
	wait_until 60 has_messages "$RESULTS" 3
	sleep 2	# two auto commit intervals
	bg_stop first
	assert_equal "$BG_STATUS" 0
	assert_equal "$(result_keys)" "$(printf 'job-2\njob-3\njob-4')"

	# Nothing could be committed past offset 0: all four come again.
	pipeline_start second -- sh -c "$MIDDLE"
	wait_until 60 has_keys "$RESULTS" 4
	wait_until 30 has_messages "$RESULTS" 7
	bg_stop second
	assert_equal "$BG_STATUS" 0
	assert_equal "$(consumed_ids second)" "$(ids "$BATS_TEST_TMPDIR/jobs.jsonl")"
	assert_equal "$(result_keys | uniq -c | awk '{ print $1, $2 }')" \
		"$(printf '1 job-1\n2 job-2\n2 job-3\n2 job-4')"
}

@test "SIGTERM with jobs in flight: exit 0 once their results are produced; a restart neither repeats nor misses one" {
	kafka_lane custom
	hello_jobs job 5 > "$BATS_TEST_TMPDIR/jobs.jsonl"
	produce_jobs "$JOBS" < "$BATS_TEST_TMPDIR/jobs.jsonl"
	pipeline_start p -- sh -c "$(held_middle 1.5)"
	wait_until 30 has_logged p 'consumed ' 5
	assert_equal "$(topic_count "$RESULTS")" 0
	bg_stop p
	assert_equal "$BG_STATUS" 0
	# Produced before the exit, not after.
	assert_equal "$(topic_count "$RESULTS")" 5

	hello_job late > "$BATS_TEST_TMPDIR/late.jsonl"
	produce_jobs "$JOBS" < "$BATS_TEST_TMPDIR/late.jsonl"
	pipeline_start again -- sh -c "$MIDDLE"
	wait_until 60 has_messages "$RESULTS" 6
	bg_stop again
	assert_equal "$BG_STATUS" 0
	assert_equal "$(consumed_ids again)" late
	cat "$BATS_TEST_TMPDIR/late.jsonl" >> "$BATS_TEST_TMPDIR/jobs.jsonl"
	assert_one_result_each "$BATS_TEST_TMPDIR/jobs.jsonl"
}

@test "pipeline --drain-timeout: a middle that does not finish after SIGTERM is given up after the time-out" {
	kafka_lane custom
	hello_job stuck | produce_jobs "$JOBS"
	pipeline_start p --drain-timeout 2 -- sh -c 'cat > /dev/null; sleep 15'
	wait_until 30 has_logged p 'consumed ' 1
	local start=$SECONDS
	bg_stop p
	echo "# pipeline --drain-timeout 2: ended $((SECONDS - start)) s after SIGTERM" >&3
	assert_equal "$BG_STATUS" 0
	[ $((SECONDS - start)) -le 8 ] || fail "ended $((SECONDS - start)) s after SIGTERM, --drain-timeout 2"
	run -0 --separate-stderr timeout 60 "$KCJ" consume --lane custom -b "$BROKER" -c 1
	assert_equal "$(jq -r .tempId <<< "$output")" stuck
}

@test "consume -a FIFO --drain-timeout: unacknowledged jobs are given up after the time-out and come again" {
	kafka_lane custom
	hello_jobs job 2 > "$BATS_TEST_TMPDIR/jobs.jsonl"
	produce_jobs "$JOBS" < "$BATS_TEST_TMPDIR/jobs.jsonl"
	mkfifo "$BATS_TEST_TMPDIR/acks"
	bg_start c "$KCJ" consume --lane custom -b "$BROKER" -a "$BATS_TEST_TMPDIR/acks" --drain-timeout 2
	wait_until 30 has_logged c 'consumed ' 2
	local start=$SECONDS
	bg_stop c
	assert_equal "$BG_STATUS" 0
	[ $((SECONDS - start)) -le 8 ] || fail "ended $((SECONDS - start)) s after SIGTERM, --drain-timeout 2"
	assert_equal "$(ids "$BATS_TEST_TMPDIR/c.out")" "$(ids "$BATS_TEST_TMPDIR/jobs.jsonl")"
	run -0 log_count c 'drain time-out: 2 jobs'
	assert_output 1
	run -0 --separate-stderr timeout 60 "$KCJ" consume --lane custom -b "$BROKER" -c 2
	assert_equal "$(jq -r .tempId <<< "$output" | sort)" "$(ids "$BATS_TEST_TMPDIR/jobs.jsonl")"
}

@test "a middle that ends by itself ends the pipeline with 111 and says why; its unfinished jobs run after a restart" {
	kafka_lane custom
	hello_jobs job 3 > "$BATS_TEST_TMPDIR/jobs.jsonl"
	produce_jobs "$JOBS" -p 0 < "$BATS_TEST_TMPDIR/jobs.jsonl"
	# The middle reads the three jobs, passes job-1 on and exits.
	pipeline_start first -- sh -c "$KFIX/pass-first 1 3 | $MIDDLE"
	bg_wait first
	assert_equal "$BG_STATUS" 111
	assert_equal "$(result_keys)" job-1

	pipeline_start second -- sh -c "$MIDDLE"
	wait_until 60 has_messages "$RESULTS" 3
	bg_stop second
	assert_equal "$BG_STATUS" 0
	assert_equal "$(consumed_ids second)" "$(printf 'job-2\njob-3')"
	assert_one_result_each "$BATS_TEST_TMPDIR/jobs.jsonl"

	run -0 jq -r 'select(.level >= 50 and .name == "kcat-jobs") | .msg' "$BATS_TEST_TMPDIR/first.err"
	refute_output ''
}

# --- the shell pipeline ----------------------------------------------------

# fifo_consumed DIR N: the fifo-pipeline run in DIR logged N jobs consumed.
fifo_consumed() {
	[ "$(jq -r .msg "$1/consume.err" | grep -c '^consumed ')" -ge "$2" ]
}

@test "consume -a FIFO | sandbox-exec | judge | produce -a FIFO: results, a clean drain on SIGTERM, nothing again after" {
	kafka_lane run
	jq -c . "$EXAMPLES"/python/stdio-*.json > "$BATS_TEST_TMPDIR/jobs.jsonl"
	produce_jobs "$JOBS" < "$BATS_TEST_TMPDIR/jobs.jsonl"
	mkdir "$BATS_TEST_TMPDIR/first" "$BATS_TEST_TMPDIR/second"
	bg_start first "$KFIX/fifo-pipeline" "$BATS_TEST_TMPDIR/first" run 1.5 "$BROKER"
	wait_until 30 fifo_consumed "$BATS_TEST_TMPDIR/first" 3
	assert_equal "$(topic_count "$RESULTS")" 0
	kill -TERM "$(cat "$BATS_TEST_TMPDIR/first/consume.pid")"
	bg_wait first
	assert_equal "$BG_STATUS" 0
	assert_equal "$(cat "$BATS_TEST_TMPDIR/first/status")" '0 0 0 0 0'
	# Produced before consume's exit let the pipeline end.
	assert_one_result_each "$BATS_TEST_TMPDIR/jobs.jsonl"

	hello_job late | jq -c '. + {testCases: [{Id: "t0", input: "", output: "late\n"}],
		userCode: "print(\"late\")\n"}' > "$BATS_TEST_TMPDIR/late.jsonl"
	produce_jobs "$JOBS" < "$BATS_TEST_TMPDIR/late.jsonl"
	bg_start second "$KFIX/fifo-pipeline" "$BATS_TEST_TMPDIR/second" run 0 "$BROKER"
	wait_until 60 has_messages "$RESULTS" 4
	kill -TERM "$(cat "$BATS_TEST_TMPDIR/second/consume.pid")"
	bg_wait second
	assert_equal "$BG_STATUS" 0
	assert_equal "$(cat "$BATS_TEST_TMPDIR/second/status")" '0 0 0 0 0'
	run -0 jq -r 'select(.msg | startswith("consumed ")) | .tempId' "$BATS_TEST_TMPDIR/second/consume.err"
	assert_output late
	run -0 jq -e -s 'map(select(.key == "late")) | length == 1
		and .[0].value.executionResult.verdict == "accepted"' < <(topic_messages "$RESULTS")
}

# --- recording and replay --------------------------------------------------

@test "consume -c N records N job lines with meta; replayed offline they give the pipeline's results" {
	kafka_lane run
	jq -c . "$EXAMPLES"/python/{stdio-accepted,stdio-wrong-answer,stdio-runtime-error,compat-wrong-answer}.json \
		> "$BATS_TEST_TMPDIR/jobs.jsonl"
	produce_jobs "$JOBS" < "$BATS_TEST_TMPDIR/jobs.jsonl"
	local start
	start=$(date +%s)
	run -0 --separate-stderr timeout 60 "$KCJ" consume --lane run -b "$BROKER" -c 4
	printf '%s\n' "$output" > "$BATS_TEST_TMPDIR/recording.jsonl"
	assert_equal "${#lines[@]}" 4
	assert_equal "$(ids "$BATS_TEST_TMPDIR/recording.jsonl")" "$(ids "$BATS_TEST_TMPDIR/jobs.jsonl")"
	# The job as produced, plus meta naming where it came from.
	topic_json "$JOBS" > "$BATS_TEST_TMPDIR/jobs-topic.json"
	run -0 jq -e -s --slurpfile msgs "$BATS_TEST_TMPDIR/jobs-topic.json" --arg topic "$JOBS" \
		--argjson start "$start" --argjson now "$(date +%s)" '
		all(.[]; . as $l | ($msgs[] | select(.key == $l.tempId)) as $m
			| ($l | del(.meta)) == ($m.payload | fromjson)
			and $l.meta.lane == "run" and $l.meta.topic == $topic
			and $l.meta.partition == $m.partition and $l.meta.offset == $m.offset
			and $l.meta.key == $m.key and $l.meta.headers == {}
			and $l.meta.timestamp == $m.ts and $l.meta.traceparent == null
			and $l.meta.attempt == 1 and $l.meta.firstSeen >= $start and $l.meta.firstSeen <= $now)' \
		"$BATS_TEST_TMPDIR/recording.jsonl"

	run -0 --separate-stderr timeout 120 sh -c "$MIDDLE" < "$BATS_TEST_TMPDIR/recording.jsonl"
	printf '%s\n' "$output" > "$BATS_TEST_TMPDIR/replayed.jsonl"
	pipeline_start p -G "$GROUP-live" -- sh -c "$MIDDLE"
	wait_until 60 has_messages "$RESULTS" 4
	bg_stop p
	assert_equal "$BG_STATUS" 0
	local untimed='walk(if type == "object" then del(.timeMs, .wallMs, .memoryKb, .executionTimeMs, .memoryMB) else . end)'
	run -0 jq -c -s "map(.result | $untimed) | sort_by(.tempId)" "$BATS_TEST_TMPDIR/replayed.jsonl"
	local replayed=$output
	run -0 jq -c -s "map(.value | $untimed) | sort_by(.tempId)" < <(topic_messages "$RESULTS")
	assert_equal "$output" "$replayed"
	run -0 jq -e 'length == 4' <<< "$replayed"
}

# --- meta ------------------------------------------------------------------

@test "x-retry-count and x-first-seen give meta.attempt and firstSeen; traceparent goes into meta and onto the result" {
	kafka_lane custom
	hello_job traced | produce_jobs "$JOBS" -p 0 -H x-retry-count=2 -H x-first-seen=1700000000 \
		-H "traceparent=$TRACEPARENT"
	hello_job garbled | produce_jobs "$JOBS" -p 0 -H x-retry-count=two -H x-first-seen=yesterday
	local start
	start=$(date +%s)
	run -0 --separate-stderr timeout 60 "$KCJ" consume --lane custom -b "$BROKER" -c 2
	assert_equal "${#lines[@]}" 2
	jq -e --arg tp "$TRACEPARENT" '.meta.attempt == 3 and .meta.firstSeen == 1700000000
		and .meta.traceparent == $tp and .meta.key == "traced"
		and .meta.headers == {"x-retry-count": "2", "x-first-seen": "1700000000", traceparent: $tp}' \
		<<< "${lines[0]}" > /dev/null || fail "meta of traced: ${lines[0]}"
	# Headers that are no numbers count as absent.
	jq -e --argjson start "$start" --argjson now "$(date +%s)" '.meta.attempt == 1
		and .meta.firstSeen >= $start and .meta.firstSeen <= $now and .meta.traceparent == null' \
		<<< "${lines[1]}" > /dev/null || fail "meta of garbled: ${lines[1]}"

	pipeline_start p -G "$GROUP-live" -- sh -c "$MIDDLE"
	wait_until 60 has_messages "$RESULTS" 2
	bg_stop p
	assert_equal "$BG_STATUS" 0
	run -0 jq -e -s --arg tp "$TRACEPARENT" 'map(select(.key == "traced")) | length == 1
		and .[0].headers.traceparent == $tp and .[0].value.verdict == "accepted"' < <(topic_messages "$RESULTS")
	run -0 jq -e -s 'map(select(.key == "garbled")) | length == 1 and .[0].headers == {}' \
		< <(topic_messages "$RESULTS")
}

# --- backpressure ----------------------------------------------------------

@test "--max-inflight 2: never more than 2 jobs out at once, and every job gets its result" {
	kafka_lane custom
	hello_jobs job 6 > "$BATS_TEST_TMPDIR/jobs.jsonl"
	produce_jobs "$JOBS" < "$BATS_TEST_TMPDIR/jobs.jsonl"
	local log=$BATS_TEST_TMPDIR/middle.log
	pipeline_start p --max-inflight 2 -- sh -c "$KFIX/hold-each 1 $log | $MIDDLE"
	wait_until 60 has_messages "$RESULTS" 6
	bg_stop p
	assert_equal "$BG_STATUS" 0
	assert_one_result_each "$BATS_TEST_TMPDIR/jobs.jsonl"
	# Jobs received by the middle and not yet passed on: a lower bound of
	# the jobs out, at every moment a job came in.
	run -0 awk '$1 == "in" { n++; if (n > max) max = n } $1 == "out" { n-- } END { print max }' \
		<(sort -k2,2n "$log")
	echo "# --max-inflight 2: at most $output jobs held by the middle at once" >&3
	assert_output 2
}

@test "--max-inflight 2, SIGTERM with jobs fetched ahead: only the 2 out are answered; a restart runs each other job once" {
	kafka_lane custom
	hello_jobs job 8 > "$BATS_TEST_TMPDIR/jobs.jsonl"
	produce_jobs "$JOBS" < "$BATS_TEST_TMPDIR/jobs.jsonl"
	# The middle holds each job 3 s: the first 2 are out, the other 6
	# wait in kcat-jobs, fetched ahead and never handed out.
	pipeline_start p --max-inflight 2 -- sh -c "$(held_middle 3)"
	wait_until 30 has_logged p 'consumed ' 2
	bg_stop p
	assert_equal "$BG_STATUS" 0
	assert_equal "$(log_count p 'consumed ')" 2
	assert_equal "$(topic_count "$RESULTS")" 2

	pipeline_start again -- sh -c "$MIDDLE"
	wait_until 60 has_messages "$RESULTS" 8
	bg_stop again
	assert_equal "$BG_STATUS" 0
	assert_equal "$(log_count again 'consumed ')" 6
	assert_one_result_each "$BATS_TEST_TMPDIR/jobs.jsonl"
}

# --- rebalance -------------------------------------------------------------

@test "a second pipeline joining and leaving the group: every job has a result, repeats only of jobs handed over" {
	kafka_lane custom
	export KAFKA_CUSTOM_JOBS_TOPIC=$REBALANCE_TOPIC JOBS=$REBALANCE_TOPIC
	# Enough jobs that b, joining once a has results (a group's rebalance
	# takes seconds on a busy machine), still finds jobs to consume.
	hello_jobs job 60 > "$BATS_TEST_TMPDIR/jobs.jsonl"
	produce_jobs "$JOBS" < "$BATS_TEST_TMPDIR/jobs.jsonl"
	pipeline_start a --max-inflight 4 -- sh -c "$(held_middle 0.3)"
	wait_until 60 has_messages "$RESULTS" 3
	pipeline_start b --max-inflight 4 -- sh -c "$(held_middle 0.3)"
	wait_until 60 has_logged b 'consumed ' 3
	bg_stop b
	assert_equal "$BG_STATUS" 0
	wait_until 120 has_keys "$RESULTS" 60
	bg_stop a
	assert_equal "$BG_STATUS" 0

	assert_equal "$(result_keys | uniq)" "$(ids "$BATS_TEST_TMPDIR/jobs.jsonl")"
	run -0 duplicated_keys
	echo "# rebalance: a consumed $(log_count a 'consumed '), b $(log_count b 'consumed '), ${#lines[@]} ran twice" >&3
	# A job runs twice only when a partition changed hands with it in
	# flight: consumed by both, and never more than --max-inflight of them.
	local dup
	for dup in "${lines[@]}"; do
		consumed_ids a | grep -qx "$dup" && consumed_ids b | grep -qx "$dup" ||
			fail "$dup ran twice but was not handed over from one pipeline to the other"
	done
	[ "${#lines[@]}" -le 4 ] || fail "${#lines[@]} jobs ran twice, over --max-inflight"
}

# --- infrastructure errors -------------------------------------------------

@test "a line with an infrastructure error reaching produce goes to the DLQ with x-error = its code, and gets an error result" {
	kafka_lane custom
	hello_jobs job 2 > "$BATS_TEST_TMPDIR/jobs.jsonl"
	produce_jobs "$JOBS" -H "traceparent=$TRACEPARENT" < "$BATS_TEST_TMPDIR/jobs.jsonl"
	# sandbox-exec's own way to say no slot was free, for job-1 only.
	local fail_one='if .tempId == "job-1" then . + {error: {kind: "infrastructure", code: "slot-timeout", message: "x"}} else . end'
	pipeline_start p -- sh -c "bin/sandbox-exec | jq -c --unbuffered '$fail_one' | bin/judge"
	wait_until 60 has_messages "$RESULTS" 2
	wait_until 30 has_messages "$DLQ" 1
	bg_stop p
	assert_equal "$BG_STATUS" 0
	run -0 result_keys
	assert_output "$(printf 'job-1\njob-2')"
	run -0 jq -r 'select(.key == "job-1") | .value | [.verdict, .error.code, .error.message, .stdOut] | @tsv' \
		< <(topic_messages "$RESULTS")
	assert_output "$(printf 'internal_error\tslot-timeout\tx\tinternal error: x')"
	topic_json "$JOBS" > "$BATS_TEST_TMPDIR/jobs-topic.json"
	run -0 topic_messages "$DLQ"
	assert_equal "${#lines[@]}" 1
	local orig
	orig=$(jq -c 'select(.key == "job-1")' "$BATS_TEST_TMPDIR/jobs-topic.json")
	# The value is the job as it came, without the stages' sections.
	run -0 jq -e --argjson o "$orig" --arg tp "$TRACEPARENT" '.key == "job-1"
		and .value == ($o.payload | fromjson)
		and .headers["x-error"] == "slot-timeout" and .headers["x-error-message"] == "x"
		and .headers["x-original-topic"] == $o.topic
		and .headers["x-original-partition"] == ($o.partition | tostring)
		and .headers["x-original-offset"] == ($o.offset | tostring)
		and .headers.traceparent == $tp' <<< "$output"
}

@test "lines from retryd schedule: retry is only acknowledged, dlq sends the job to the DLQ and its result" {
	kafka_lane custom
	hello_jobs job 3 > "$BATS_TEST_TMPDIR/jobs.jsonl"
	produce_jobs "$JOBS" < "$BATS_TEST_TMPDIR/jobs.jsonl"
	# What `retryd schedule` makes of job-1 (stored for a retry) and job-2
	# (out of retries); job-3 passes untouched.
	local schedule='if .tempId == "job-1" then del(.result) + {retry: {attempt: 2, due: 1795000000}}
		elif .tempId == "job-2" then .result = {tempId: .tempId, stdOut: "", verdict: "internal_error"}
			| . + {dlq: {headers: {"x-error": "max-retries-reached", "x-retry-count": "3"}}}
		else . end'
	pipeline_start p -- sh -c "$MIDDLE | jq -c --unbuffered '$schedule'"
	wait_until 60 has_messages "$RESULTS" 2
	wait_until 30 has_messages "$DLQ" 1
	bg_stop p
	assert_equal "$BG_STATUS" 0
	run -0 jq -c '[.key, .value.verdict]' < <(topic_messages "$RESULTS")
	assert_equal "$(printf '%s\n' "${lines[@]}" | sort)" \
		"$(printf '%s\n' '["job-2","internal_error"]' '["job-3","accepted"]')"
	topic_json "$JOBS" > "$BATS_TEST_TMPDIR/jobs-topic.json"
	local orig
	orig=$(jq -c 'select(.key == "job-2")' "$BATS_TEST_TMPDIR/jobs-topic.json")
	run -0 topic_messages "$DLQ"
	assert_equal "${#lines[@]}" 1
	run -0 jq -e --argjson o "$orig" '.key == "job-2" and .value == ($o.payload | fromjson)
		and .headers["x-error"] == "max-retries-reached" and .headers["x-retry-count"] == "3"
		and .headers["x-original-topic"] == $o.topic
		and .headers["x-original-offset"] == ($o.offset | tostring)' <<< "$output"

	# All three are done: a restart runs only a new job.
	hello_job late | produce_jobs "$JOBS"
	pipeline_start again -- sh -c "$MIDDLE"
	wait_until 60 has_messages "$RESULTS" 3
	bg_stop again
	assert_equal "$BG_STATUS" 0
	assert_equal "$(consumed_ids again)" late
}

# --- produce ---------------------------------------------------------------

@test "produce without --lane: a result line that names no lane is dropped with an error, not a crash" {
	kafka_lane custom
	printf '%s\n' '{"tempId":"x","result":{"tempId":"x","stdOut":""}}' \
		'{"tempId":"y","meta":{"lane":"custom"},"result":{"tempId":"y","stdOut":""}}' > "$BATS_TEST_TMPDIR/lines.jsonl"
	run -0 --separate-stderr timeout 60 "$KCJ" produce -b "$BROKER" < "$BATS_TEST_TMPDIR/lines.jsonl"
	assert_output ''
	assert_stderr_has 'lane'
	assert_equal "$(result_keys)" y
}

@test "produce --lane: lines without meta go to that lane's results topic, keyed by the result's id" {
	kafka_lane run
	printf '%s\n' '{"tempId":"r1","result":{"tempId":"r1","executionResult":{"verdict":"accepted"}}}' \
		'not json' '{"tempId":"r2","result":{"tempId":"r2","executionResult":{"verdict":"wrong_answer"}}}' \
		> "$BATS_TEST_TMPDIR/lines.jsonl"
	run -0 --separate-stderr timeout 60 "$KCJ" produce --lane run -b "$BROKER" < "$BATS_TEST_TMPDIR/lines.jsonl"
	assert_output ''
	assert_stderr_has 'not a JSON object was dropped'
	run -0 jq -c '[.key, .value.executionResult.verdict]' < <(topic_messages "$RESULTS")
	assert_equal "$(printf '%s\n' "${lines[@]}" | sort)" "$(printf '%s\n' '["r1","accepted"]' '["r2","wrong_answer"]')"
}

# --- broker outage ---------------------------------------------------------

@test "a broker frozen for 5 s while jobs flow: the pipeline carries on and loses no job" {
	kafka_lane custom
	hello_jobs job 8 > "$BATS_TEST_TMPDIR/jobs.jsonl"
	produce_jobs "$JOBS" < "$BATS_TEST_TMPDIR/jobs.jsonl"
	pipeline_start p -- sh -c "$(held_middle 0.5)"
	wait_until 60 has_messages "$RESULTS" 2
	local kpid
	kpid=$(cat "$KDIR/kafka.pid")
	kill -STOP "$kpid"
	touch "$BATS_TEST_TMPDIR/broker-stopped"
	sleep 5
	kill -0 "$(pgrep -P "$(cat "$BATS_TEST_TMPDIR/p.pid")")" || fail "the pipeline died while the broker was frozen"
	kill -CONT "$kpid"
	rm "$BATS_TEST_TMPDIR/broker-stopped"
	wait_until 90 has_keys "$RESULTS" 8
	bg_stop p
	assert_equal "$BG_STATUS" 0
	assert_equal "$(result_keys | uniq)" "$(ids "$BATS_TEST_TMPDIR/jobs.jsonl")"
	run -0 duplicated_keys
	echo "# broker frozen 5 s: ${#lines[@]} jobs ran twice" >&3
}
