#!/usr/bin/env bats
# sandbox-exec(1): job lines in, the same lines with an `exec` section out
# (docs/formats.md sections 1-3). Needs root and bin/sandbox-exec built.
bats_require_minimum_version 1.5.0
load helpers

# poison_case LINE: runs the bad LINE followed by a good job, which must
# still be executed (a bad line never stops the stream); the program ends 0.
poison_case() {
	POISON=$1
	sbx_run_text "$POISON" "$(custom_job after-poison python "$FIXTURES/hello.py")"
	assert_equal "${#lines[@]}" 2
	assert_job after-poison '.error == null and .exec.runs[0].stdout == "hello\n"'
}

# poison_line: the output line of the bad line.
poison_line() {
	jq -c 'select(.tempId != "after-poison")' "$SBX_OUT"
}

# assert_poison CODE: the bad line came back as poison CODE with a message,
# every field it had kept as it was.
assert_poison() {
	local line
	line=$(poison_line)
	jq -e --arg code "$1" --argjson input "$POISON" \
		'.error.kind == "poison" and .error.code == $code and (.error.message | length > 0)
		 and del(.error) == $input' <<< "$line" > /dev/null ||
		fail "expected poison $1, the job's fields kept; got: $(short <<< "$line")"
}

# assert_unparsable CODE: the bad line came back as poison CODE, its text
# carried as a string in `line`.
assert_unparsable() {
	local line
	line=$(poison_line)
	jq -e --arg code "$1" --arg text "$POISON" \
		'.error.kind == "poison" and .error.code == $code and .line == $text' <<< "$line" > /dev/null ||
		fail "expected poison $1 with the text in line; got: $(short <<< "$line")"
}

teardown() {
	if [ -n "${SLOT_HOLDER:-}" ]; then	# flock(1) and its sleep
		kill "$SLOT_HOLDER" $(pgrep -P "$SLOT_HOLDER") 2> /dev/null || true
	fi
	if [ -n "${SMALL_DISK:-}" ]; then	# a tmpfs of a test
		umount "$SMALL_DISK" 2> /dev/null || true
	fi
}

# --- usage -----------------------------------------------------------------

@test "--help prints the usage on stdout and exits 0" {
	run -0 --separate-stderr timeout 120 "$SBX" --help
	assert_line --index 0 --regexp '^usage: sandbox-exec '
	assert_equal "$stderr" ''
	run -0 --separate-stderr timeout 120 "$SBX" -h
	assert_line --index 0 --regexp '^usage: sandbox-exec '
}

@test "--help says what it does, its options, environment and exit statuses" {
	run -0 --separate-stderr timeout 120 "$SBX" --help
	for what in --jobs --slots --languages --backend --cold --list-languages \
		'Environment: ' 'CODEX_LANGUAGES' 'Exit status: 0 ' '100 usage' '111 '; do
		assert_output --partial "$what"
	done
}

@test "--list-languages: the table's path, then each language with its shapes and limits" {
	run -0 --separate-stderr timeout 120 "$SBX" --list-languages --languages "$TABLE"
	assert_line --index 0 "languages of $(realpath "$TABLE") (harnesses in $(realpath "$ROOT/share/harness"))"
	assert_line --index 1 --regexp '^language +shapes +compiled +time ms +wall ms +memory MB$'
	assert_line --regexp "^python +compat function stdio custom +no +$(table_value time_ms) +$(table_value wall_ms) +$(table_value memory_mb)$"
	assert_line --regexp '^go +compat function stdio custom +yes '
	assert_line --regexp '^java +compat stdio custom +yes '
	assert_equal "${#lines[@]}" $((2 + $(grep -c '^\[' "$TABLE") - 1))
}

@test "the start-up log line names the backend, the slots and the table it loaded" {
	run -0 --separate-stderr timeout 120 "$SBX" -j 1 --languages "$TABLE" < /dev/null
	run jq -r 'select(.level == 30) | .msg' <<< "$stderr"
	assert_line --regexp "^(ns|docker) backend, [0-9]+ slots, -j 1; $(($(grep -c '^\[' "$TABLE") - 1)) languages from $(realpath "$TABLE")$"
}

@test "--version prints the program and its version and exits 0" {
	run -0 --separate-stderr timeout 120 "$SBX" --version
	assert_output --regexp '^sandbox-exec [0-9]+\.[0-9]+\.[0-9]+$'
	run -0 --separate-stderr timeout 120 "$SBX" -V
	assert_output --regexp '^sandbox-exec [0-9]+\.[0-9]+\.[0-9]+$'
}

@test "an unknown option exits 100 with the usage on stderr and nothing on stdout" {
	run -100 --separate-stderr timeout 120 "$SBX" --frobnicate < /dev/null
	assert_output ''
	assert_stderr_has 'usage: sandbox-exec '
}

@test "an extra argument exits 100 with the usage on stderr" {
	run -100 --separate-stderr timeout 120 "$SBX" jobs.jsonl < /dev/null
	assert_output ''
	assert_stderr_has 'usage: sandbox-exec '
}

@test "--backend bogus exits 100: ns and docker are the backends" {
	run -100 --separate-stderr timeout 120 "$SBX" --backend bogus < /dev/null
	assert_output ''
	assert_stderr_has "backend 'bogus' is not available (ns and docker are)"
}

@test "-j 0 exits 100: at least one job at a time" {
	run -100 --separate-stderr timeout 120 "$SBX" -j 0 < /dev/null
	assert_output ''
	assert_stderr_has "--jobs: '0' is not a number"
}

@test "-j abc exits 100: not a number" {
	run -100 --separate-stderr timeout 120 "$SBX" -j abc < /dev/null
	assert_output ''
	assert_stderr_has "--jobs: 'abc' is not a number"
}

@test "--slots 0 exits 100" {
	run -100 --separate-stderr timeout 120 "$SBX" --slots 0 < /dev/null
	assert_output ''
	assert_stderr_has "--slots: '0' is not a number"
}

@test "a missing language table (CODEX_LANGUAGES=/nonexistent) exits 100 and names it" {
	CODEX_LANGUAGES=/nonexistent run -100 --separate-stderr timeout 120 "$SBX" < /dev/null
	assert_output ''
	assert_stderr_has '/nonexistent: No such file or directory'
}

@test "--languages FILE names the table; a missing one exits 100" {
	run -100 --separate-stderr timeout 120 "$SBX" --languages /nonexistent < /dev/null
	assert_output ''
	assert_stderr_has '/nonexistent: No such file or directory'
}

@test "a non-numeric CONTAINER_POOL_SIZE exits 100" {
	CONTAINER_POOL_SIZE=abc run -100 --separate-stderr timeout 120 "$SBX" < /dev/null
	assert_output ''
	assert_stderr_has "CONTAINER_POOL_SIZE: 'abc' is not a number"
}

@test "stdout gone (its reader has closed the pipe): exit 111" {
	custom_job a python "$FIXTURES/hello.py" > "$BATS_TEST_TMPDIR/job"
	run -111 --separate-stderr bash -c 'set -o pipefail; timeout 120 "$1" < "$2" | true' _ \
		"$SBX" "$BATS_TEST_TMPDIR/job"
	assert_stderr_has 'stdout'
}

# A bad EXECUTION_TIMEOUT is the host's configuration, not the job's fault:
# poisoning every job would send them all to the dead-letter queue.
@test "a non-numeric EXECUTION_TIMEOUT is a configuration error: exit 100" {
	custom_job env-bad python "$FIXTURES/hello.py" > "$BATS_TEST_TMPDIR/job"
	EXECUTION_TIMEOUT=abc run -100 --separate-stderr timeout 120 "$SBX" < "$BATS_TEST_TMPDIR/job"
	assert_output ''
	assert_stderr_has 'EXECUTION_TIMEOUT'
}

# --- lines that are not jobs: poison, and the stream goes on ---------------

@test "a line that is not JSON: poison invalid-json, its text in line" {
	poison_case 'this is not JSON'
	assert_unparsable invalid-json
}

@test "blank lines between jobs are skipped, as jq skips them" {
	sbx_run_text '' "$(custom_job a python "$FIXTURES/hello.py")" '   ' '' \
		"$(custom_job b python "$FIXTURES/hello.py")" ''
	assert_equal "${#lines[@]}" 2
	assert_job a '.exec.runs[0].stdout == "hello\n"'
	assert_job b '.exec.runs[0].stdout == "hello\n"'
}

@test "jobs as a stream of JSON values: pretty-printed, several on a line; one line each out" {
	{
		custom_job pretty python "$FIXTURES/hello.py" | jq .
		echo "$(custom_job one python "$FIXTURES/hello.py")$(custom_job two python "$FIXTURES/hello.py") $(custom_job three python "$FIXTURES/hello.py")"
	} > "$BATS_TEST_TMPDIR/stream.json"
	[ "$(wc -l < "$BATS_TEST_TMPDIR/stream.json")" -gt 4 ]
	sbx_run "$BATS_TEST_TMPDIR/stream.json"
	assert_equal "${#lines[@]}" 4
	for id in pretty one two three; do
		assert_job "$id" '.error == null and .exec.runs[0].stdout == "hello\n"'
	done
}

@test "an unfinished pretty-printed job costs only itself: the next job at column 0 is run" {
	{
		custom_job cut python "$FIXTURES/hello.py" | jq . | head -n 3
		custom_job after-cut python "$FIXTURES/hello.py" | jq .
	} > "$BATS_TEST_TMPDIR/stream.json"
	sbx_run "$BATS_TEST_TMPDIR/stream.json"
	assert_equal "${#lines[@]}" 2
	assert_job after-cut '.error == null and .exec.runs[0].stdout == "hello\n"'
	jq -se 'map(select(.tempId == null)) | length == 1 and (.[0] | .error.code == "invalid-json"
		and (.line | startswith("{   \"tempId\": \"cut\"")))' \
		"$SBX_OUT" > /dev/null || fail "no invalid-json line for the cut job: $(cat "$SBX_OUT")"
}

@test "a JSON array is not a job: poison invalid-json" {
	poison_case '[{"tempId":"in-an-array","language":"python"}]'
	assert_unparsable invalid-json
}

@test "a JSON string is not a job: poison invalid-json" {
	poison_case '"print(1)"'
	assert_unparsable invalid-json
}

@test "text after a job on its line is a bad line of its own: poison invalid-json" {
	POISON='rm -rf /'
	sbx_run_text "$(custom_job trailing python "$FIXTURES/hello.py") $POISON" \
		"$(custom_job after-poison python "$FIXTURES/hello.py")"
	assert_equal "${#lines[@]}" 3
	assert_job trailing '.error == null and .exec.runs[0].stdout == "hello\n"'
	jq -se 'map(select(.tempId == null)) | length == 1 and (.[0] | .error.code == "invalid-json"
		and .line == "rm -rf /")' \
		"$SBX_OUT" > /dev/null || fail "no invalid-json line for the text: $(cat "$SBX_OUT")"
}

@test "an unparsable line is carried in line, capped at 4 KiB" {
	poison_case "not JSON $(head -c 10000 /dev/zero | tr '\0' x)"
	run -0 jq -r '.line | length' <<< "$(poison_line)"
	assert_output 4096
	run -0 jq -r '.line[0:9]' <<< "$(poison_line)"
	assert_output 'not JSON '
}

# job_of_size ID BYTES: a custom python job line of exactly BYTES bytes
# (without its newline), padded by an extra field.
job_of_size() {
	python3 -c 'import json, sys
job = {"tempId": sys.argv[1], "language": "python", "userCode": json.dumps("print(1)"), "pad": ""}
job["pad"] = "a" * (int(sys.argv[2]) - len(json.dumps(job, separators=(",", ":"))))
print(json.dumps(job, separators=(",", ":")))' "$@"
}

@test "a line of exactly 8 MiB is a job; one byte more: poison oversized, its head in line" {
	job_of_size at-cap $((8 << 20)) > "$BATS_TEST_TMPDIR/at-cap.json"
	job_of_size over-cap $(((8 << 20) + 1)) > "$BATS_TEST_TMPDIR/over-cap.json"
	custom_job after-oversized python "$FIXTURES/hello.py" > "$BATS_TEST_TMPDIR/next.json"
	sbx_run "$BATS_TEST_TMPDIR"/{at-cap,over-cap,next}.json
	assert_equal "${#lines[@]}" 3
	assert_job at-cap '.exec.runs[0].stdout == "1\n"'
	run -0 jq -e '.error.kind == "poison" and .error.code == "oversized"
		and (.line | length == 4096 and startswith("{\"tempId\":\"over-cap\",\"language\""))' \
		<<< "$(jq -c 'select(.tempId == null)' "$SBX_OUT")"
	assert_job after-oversized '.exec.runs[0].stdout == "hello\n"'
}

@test "the last line needs no newline" {
	custom_job no-newline python "$FIXTURES/hello.py" | tr -d '\n' > "$BATS_TEST_TMPDIR/job"
	run -0 --separate-stderr timeout 120 "$SBX" < "$BATS_TEST_TMPDIR/job"
	run -0 jq -r '.exec.runs[0].stdout' <<< "$output"
	assert_output hello
}

@test "a job without language: poison invalid-job, every field kept" {
	poison_case '{"tempId":"no-language","userCode":"print(1)","testCases":[]}'
	assert_poison invalid-job
}

@test "a language that is not a string: poison invalid-job" {
	poison_case '{"tempId":"language-number","language":3,"userCode":"print(1)","testCases":[]}'
	assert_poison invalid-job
}

@test "a language not in the table: poison unknown-language" {
	poison_case '{"tempId":"cobol","language":"cobol","userCode":"DISPLAY 1.","testCases":[]}'
	assert_poison unknown-language
}

@test "a job with neither userCode nor executableCode: poison invalid-job" {
	poison_case '{"submissionId":"no-code","userId":"u","language":"python","testCases":[]}'
	assert_poison invalid-job
}

@test "testCases that is not an array: poison invalid-job" {
	poison_case '{"tempId":"tc-object","language":"python","userCode":"print(1)","testCases":{"0":{"input":"","output":""}}}'
	assert_poison invalid-job
}

@test "a testcase without input: poison invalid-job" {
	poison_case '{"tempId":"tc-no-input","language":"python","userCode":"print(1)","testCases":[{"Id":"a","output":"1"}]}'
	assert_poison invalid-job
}

@test "an entry with a blank (\"a b\"): poison invalid-job" {
	poison_case '{"tempId":"entry-blank","language":"python","userCode":"def a(): pass","entry":"a b","testCases":[]}'
	assert_poison invalid-job
}

@test "an entry with shell syntax (\"x;rm\"): poison invalid-job" {
	poison_case '{"tempId":"entry-shell","language":"python","userCode":"def x(): pass","entry":"x;rm","testCases":[]}'
	assert_poison invalid-job
}

@test "an entry that is not a string: poison invalid-job" {
	poison_case '{"tempId":"entry-number","language":"python","userCode":"print(1)","entry":5,"testCases":[{"Id":"a","input":"","output":""}]}'
	assert_poison invalid-job
}

@test "an unknown limit: poison invalid-job" {
	poison_case '{"tempId":"limit-unknown","language":"python","userCode":"\"print(1)\"","limits":{"cpuMs":100}}'
	assert_poison invalid-job
}

@test "a negative limit: poison invalid-job" {
	poison_case '{"tempId":"limit-negative","language":"python","userCode":"\"print(1)\"","limits":{"timeMs":-5}}'
	assert_poison invalid-job
}

@test "a limit that is not an integer (1.5): poison invalid-job" {
	poison_case '{"tempId":"limit-fraction","language":"python","userCode":"\"print(1)\"","limits":{"wallMs":1.5}}'
	assert_poison invalid-job
}

@test "a limit given as a string: poison invalid-job" {
	poison_case '{"tempId":"limit-string","language":"python","userCode":"\"print(1)\"","limits":{"timeMs":"100"}}'
	assert_poison invalid-job
}

@test "a limit out of range (memoryMb 1000000): poison invalid-job" {
	poison_case '{"tempId":"limit-range","language":"python","userCode":"\"print(1)\"","limits":{"memoryMb":1000000}}'
	assert_poison invalid-job
}

@test "limits that is not an object: poison invalid-job" {
	poison_case '{"tempId":"limits-number","language":"python","userCode":"\"print(1)\"","limits":5}'
	assert_poison invalid-job
}

@test "a mode other than submit, run or custom: poison invalid-job" {
	poison_case '{"tempId":"mode-debug","language":"python","userCode":"\"print(1)\"","mode":"debug"}'
	assert_poison invalid-job
}

@test "a mode that is not a string: poison invalid-job" {
	poison_case '{"tempId":"mode-number","language":"python","userCode":"\"print(1)\"","mode":5}'
	assert_poison invalid-job
}

@test "a custom job whose userCode is not a JSON-encoded string: poison invalid-job" {
	poison_case '{"tempId":"custom-raw","language":"python","userCode":"print(1)"}'
	assert_poison invalid-job
}

# --- every example, run once for the tests below ----------------------------

# run_examples: runs every example listed in examples/expected.tsv once per
# file (-j 2), each line tagged with two extra fields that must come back
# untouched: _example (its file) and _verdict (the expected verdict).
run_examples() {
	EXAMPLES_OUT=$BATS_FILE_TMPDIR/examples.jsonl
	[ -s "$EXAMPLES_OUT" ] && return 0
	local file verdict
	while IFS=$'\t' read -r file verdict; do
		jq -c --arg f "$file" --arg v "$verdict" '. + {_example: $f, _verdict: $v}' "$EXAMPLES/$file"
	done < "$EXAMPLES/expected.tsv" > "$BATS_FILE_TMPDIR/examples-in.jsonl"
	# A guard against a hang, not a bound: emulated guests side by side
	# take several minutes.
	run -0 --separate-stderr timeout 900 "$SBX" -j 2 < "$BATS_FILE_TMPDIR/examples-in.jsonl"
	printf '%s\n' "$output" > "$EXAMPLES_OUT"
}

# assert_examples SELECT PREDICATE: PREDICATE (jq) holds on the output line
# of every example that SELECT picks, and SELECT picks at least one.
assert_examples() {
	local picked bad
	picked=$(jq -c "select($1)" "$EXAMPLES_OUT" | grep -c .) || fail "no example matches: $1"
	bad=$(jq -c "select($1) | select(($2) | not)" "$EXAMPLES_OUT" | short) ||
		fail "jq failed on: $2"
	[ -z "$bad" ] || fail "$(printf '%s does not hold for:\n%s' "$2" "$bad")"
}

@test "every example file has an expected verdict in examples/expected.tsv" {
	run -0 cut -f1 "$EXAMPLES/expected.tsv"
	assert_equal "$(sort <<< "$output")" "$(cd "$EXAMPLES" && ls -- */*.json | sort)"
}

@test "examples: each comes back exactly once, executed, unknown fields untouched" {
	run_examples
	run -0 jq -r '._example' "$EXAMPLES_OUT"
	assert_equal "$(sort <<< "$output")" "$(cut -f1 "$EXAMPLES/expected.tsv" | sort)"
	assert_examples 'true' '.error == null and (.exec | type == "object") and (._verdict | length > 0)'
}

@test "examples: exec names the backend, shape, mode, language and slot" {
	run_examples
	assert_examples 'true' ".exec.backend == \"$BACKEND\""
	assert_examples 'true' '.exec.shape == (._example | split("/")[1] | split("-")[0])'
	assert_examples 'true' '.exec.mode == (if .mode then .mode elif .submissionId then "submit"
		elif .tempId and .testCases then "run" else "custom" end)'
	assert_examples 'true' '.language as $l | .exec.language == $l and (._example | startswith($l + "/"))'
	assert_examples 'true' ".exec.slot | . >= 0 and . < $(table_value slots) and floor == ."
}

@test "examples: python and javascript are not compiled (compile null)" {
	run_examples
	assert_examples '.language == "python" or .language == "javascript"' '.exec.compile == null'
}

@test "examples: go is compiled first (compile is a run that exits 0)" {
	run_examples
	assert_examples '.language == "go" and ._verdict != "compilation_error"' \
		'.exec.compile | type == "object" and .exitCode == 0 and .limit == null'
}

@test "examples: a go compile error stops the job: compile fails with its message, no runs" {
	run_examples
	assert_examples '._verdict == "compilation_error"' \
		'.exec.compile.exitCode > 0 and (.exec.compile.stderr | length > 0) and .exec.runs == []'
}

@test "examples: one run per job, one per testcase for stdio jobs" {
	run_examples
	assert_examples '.exec.shape != "stdio" and ._verdict != "compilation_error"' '(.exec.runs | length) == 1'
	assert_examples '.exec.shape == "stdio" and .exec.mode == "run"' \
		'(.exec.runs | length) == (.testCases | length)'
}

@test "examples: compat and function jobs that exited 0 carry results (JSON lines)" {
	run_examples
	assert_examples '(.exec.shape == "compat" or .exec.shape == "function") and .exec.runs[0].exitCode == 0' \
		'.exec.runs[0] | (.results | split("\n") | map(select(length > 0) | fromjson) | length > 0)
		 and .resultsError == null'
}

@test "examples: custom and stdio runs carry no results" {
	run_examples
	assert_examples '.exec.shape == "custom" or .exec.shape == "stdio"' \
		'all(.exec.runs[]; has("results") | not)'
}

@test "examples: accepted and wrong answers exit 0 with no limit in every run" {
	run_examples
	assert_examples '._verdict == "accepted" or ._verdict == "wrong_answer"' \
		'all(.exec.runs[]; .exitCode == 0 and .signal == null and .limit == null)'
}

@test "examples: runtime errors exit non-zero or die of their own signal (C's SIGSEGV), with no limit" {
	run_examples
	assert_examples '._verdict == "runtime_error" and .exec.shape != "function"' \
		'any(.exec.runs[]; (.exitCode > 0 or (.signal != null and .signal != "SIGKILL")) and .limit == null)'
}

@test "examples: a function's runtime error is reported per testcase in results" {
	run_examples
	assert_examples '._verdict == "runtime_error" and .exec.shape == "function"' \
		'.exec.runs[0] | .limit == null and (.exitCode > 0 or
		 (.results | split("\n") | map(select(length > 0) | fromjson) | any(has("error"))))'
}

@test "examples: time limits are killed by SIGKILL with limit time or wall" {
	run_examples
	assert_examples '._verdict == "time_limit_exceeded"' \
		'.exec.runs[-1] | (.limit == "time" or .limit == "wall") and .signal == "SIGKILL" and .exitCode == null'
}

@test "examples: memory limits report limit memory, the peak at the memory limit" {
	run_examples
	# + 4: cgroup v1 memory.max_usage_in_bytes was seen one page over
	# limit_in_bytes (Linux 6.18, a few runs in a hundred)
	assert_examples '._verdict == "memory_limit_exceeded"' \
		".exec.runs[-1] | .limit == \"memory\" and .memoryKb <= $(table_value memory_mb) * 1024 + 4"
}

@test "examples: output limits report limit output, the stream cut at 65536 bytes" {
	run_examples
	assert_examples '._verdict == "output_limit_exceeded"' \
		'.exec.runs[-1] | .limit == "output" and .stdoutTruncated
		 and (.stdout | utf8bytelength) == 65536 and (.stderr | utf8bytelength) <= 65536'
}

@test "examples: exitCode and signal agree (one of them is null) in every run" {
	run_examples
	assert_examples 'true' \
		'[.exec.compile // empty, .exec.runs[]] | all((.exitCode == null) != (.signal == null))'
	assert_examples 'true' \
		'[.exec.compile // empty, .exec.runs[]] | all(.signal == null or (.signal | test("^SIG[A-Z0-9]+$")))'
}

@test "examples: every run has string streams, truncation flags and figures" {
	run_examples
	assert_examples 'true' '[.exec.compile // empty, .exec.runs[]] | all(
		(.stdout | type == "string") and (.stderr | type == "string")
		and (.stdoutTruncated | type == "boolean") and (.stderrTruncated | type == "boolean")
		and (.timeMs | type == "number") and (.wallMs | type == "number") and (.memoryKb | type == "number"))'
}

@test "examples: a normal run has memory above 0, and CPU time above 0 unless it is a Go binary or a Python fork" {
	# Figures are whole milliseconds, rounded down: Node.js's start alone
	# takes more than 1 ms of CPU; a Go binary adding two numbers, or a
	# Python run forked from its zygote (docs/sandbox.md), may not.
	run_examples
	assert_examples '._verdict == "accepted"' \
		'all(.exec.runs[]; .memoryKb > 0 and .timeMs >= 0 and .wallMs >= 0)
		and (.language != "javascript" or all(.exec.runs[]; .timeMs > 0 and .wallMs > 0))'
}

@test "examples: accepted stdio jobs print each testcase's expected output (stdin reached them)" {
	run_examples
	assert_examples '.exec.shape == "stdio" and ._verdict == "accepted"' \
		'[.exec.runs[].stdout] == [.testCases[].output]'
}

# --- stdio runs --------------------------------------------------------------

@test "a stdio submission stops at its first failing run" {
	stdio_job --submit submit-stops python "$FIXTURES/exit-on-2.py" $'1\n' $'2\n' $'3\n' > "$BATS_TEST_TMPDIR/job"
	sbx_run "$BATS_TEST_TMPDIR/job"
	assert_job submit-stops '.exec.mode == "submit" and (.exec.runs | length) == 2'
	assert_job submit-stops '.exec.runs[0].exitCode == 0 and .exec.runs[0].stdout == "1\n"'
	assert_job submit-stops '.exec.runs[1].exitCode == 1 and (.exec.runs[1].stderr | contains("two is not allowed"))'
}

@test "a stdio submission with scored groups runs every testcase, past its first failure" {
	stdio_job --submit grouped python "$FIXTURES/exit-on-2.py" $'1\n' $'2\n' $'3\n' |
		jq -c '.groups = [{name: "g", points: 1, testCases: ["t0", "t1", "t2"]}]' > "$BATS_TEST_TMPDIR/job"
	stdio_job --submit bad-groups python "$FIXTURES/exit-on-2.py" $'1\n' |
		jq -c '.groups = [{name: "g", points: 1, testCases: ["t7"]}]' >> "$BATS_TEST_TMPDIR/job"
	sbx_run "$BATS_TEST_TMPDIR/job"
	assert_job grouped '.exec.mode == "submit" and [.exec.runs[].exitCode] == [0, 1, 0]'
	assert_job bad-groups '.error == {kind: "poison", code: "invalid-job",
		message: "groups[0].testCases[0] is not the Id of exactly one testcase"}'
}

@test "a stdio run job runs every testcase, past a failing one" {
	stdio_job run-all python "$FIXTURES/exit-on-2.py" $'1\n' $'2\n' $'3\n' > "$BATS_TEST_TMPDIR/job"
	sbx_run "$BATS_TEST_TMPDIR/job"
	assert_job run-all '.exec.mode == "run" and [.exec.runs[].exitCode] == [0, 1, 0]'
	assert_job run-all '.exec.runs[2].stdout == "3\n"'
}

@test "a stdio job's input reaches the program on stdin" {
	stdio_job echo python "$FIXTURES/cat-stdin.py" $'first testcase\n' $'second\nwith two lines\n' '' > "$BATS_TEST_TMPDIR/job"
	sbx_run "$BATS_TEST_TMPDIR/job"
	assert_job echo '[.exec.runs[].stdout] == ["first testcase\n", "second\nwith two lines\n", ""]'
}

@test "a 1 MiB stdin reaches the program whole" {
	head -c 786432 /dev/urandom | base64 -w 76 > "$BATS_TEST_TMPDIR/big-input"
	stdio_job big-stdin python "$FIXTURES/digest-stdin.py" '' |
		jq -c --rawfile input "$BATS_TEST_TMPDIR/big-input" '.testCases[0].input = $input' > "$BATS_TEST_TMPDIR/job"
	sbx_run "$BATS_TEST_TMPDIR/job"
	local want
	want="$(wc -c < "$BATS_TEST_TMPDIR/big-input") $(sha256sum < "$BATS_TEST_TMPDIR/big-input" | cut -d' ' -f1)"
	assert_job big-stdin ".exec.runs[0].stdout == \"$want\n\""
}

@test "LOG_LEVEL=debug: the job's phases, and in an ns box the clock readings of the box and of each step" {
	stdio_job timed python "$FIXTURES/cat-stdin.py" 'a' 'b' > "$BATS_TEST_TMPDIR/job"
	# --cold: no worker ahead of a next job, which would open a box of its own.
	LOG_LEVEL=debug sbx_run --cold -- "$BATS_TEST_TMPDIR/job"
	local msgs n='[0-9]+\.[0-9]{3}'
	msgs=$(jq -r 'select(.level == 20) | .msg' <<< "$stderr")
	assert_equal "$(grep -cE "^phases: acquire $n\+$n, .*, run $n\+$n, run $n\+$n(, clean $n\+$n)? ms$" <<< "$msgs")" 1
	if [ "$BACKEND" = ns ]; then
		assert_equal "$(grep -cE "^box open: root $n binds $n files $n ms$" <<< "$msgs")" 1
		# The second testcase's box is made while the first runs.
		local parts="cgroup $n clone $n move $n enter $n fork $n wait $n exec $n program $n reap $n figures $n remove $n ms"
		assert_equal "$(grep -cE "^box step: $parts$" <<< "$msgs")" 1
		assert_equal "$(grep -cE "^box step made ahead: $parts$" <<< "$msgs")" 1
	else
		assert_equal "$(grep -c '^box ' <<< "$msgs")" 0
	fi
	# At the default level, none of it.
	sbx_run "$BATS_TEST_TMPDIR/job"
	assert_equal "$(jq -r 'select(.level == 20) | .msg' <<< "$stderr")" ''
}

# --- compiled languages: C, C++, Rust, Java --------------------------------------

# sum_job ID LANGUAGE FIXTURE: a submission of two testcases whose program
# adds two integers.
sum_job() {
	jq -cn --arg id "$1" --arg lang "$2" --rawfile code "$FIXTURES/$3" '{submissionId: $id,
		userId: "u", language: $lang, userCode: $code, testCases: [{Id: "a", input: "2 3\n",
		output: "5\n"}, {Id: "b", input: "-7 4000000000\n", output: "3999999993\n"}]}'
}

@test "C, C++, Rust and Java: a stdio submission is compiled once and accepted; the same C, C++ or Rust source again takes the cached binary" {
	table_copy "s|^binary_cache = /var/cache/codex-sandbox/|binary_cache = $BATS_TEST_TMPDIR/|"
	local lang
	for lang in c cpp rust java; do
		sum_job "$lang-1" "$lang" "sum.${lang/rust/rs}"
		sum_job "$lang-2" "$lang" "sum.${lang/rust/rs}"
	done > "$BATS_TEST_TMPDIR/jobs"
	sbx_run -j 1 -- "$BATS_TEST_TMPDIR/jobs"
	for lang in c cpp rust java; do
		assert_job "$lang-1" '.error == null and .exec.compile.exitCode == 0 and .exec.compile.cached != true
			and [.exec.runs[].stdout] == ["5\n", "3999999993\n"]'
	done
	for lang in c cpp rust; do
		assert_job "$lang-2" '.exec.compile.cached == true and [.exec.runs[].stdout] == ["5\n", "3999999993\n"]'
	done
	assert_job java-2 '.exec.compile.exitCode == 0 and .exec.compile.cached != true'
	run -0 --separate-stderr "$ROOT/bin/judge" < "$SBX_OUT"
	assert_equal "$(jq -r '.result.executionResult.verdict' <<< "$output" | sort | uniq -c | tr -s ' ')" " 8 accepted"
}

@test "C, C++, Rust and Java: a compile error is compilation_error with the compiler's message, and nothing runs" {
	local lang
	printf 'int main(void) { return undeclared; }\n' > "$BATS_TEST_TMPDIR/bad.c"
	printf 'int main() { return undeclared; }\n' > "$BATS_TEST_TMPDIR/bad.cpp"
	printf 'fn main() { undeclared(); }\n' > "$BATS_TEST_TMPDIR/bad.rust"
	printf 'public class Main { public static void main(String[] a) { undeclared(); } }\n' \
		> "$BATS_TEST_TMPDIR/bad.java"
	for lang in c cpp rust java; do
		jq -cn --arg lang "$lang" --rawfile code "$BATS_TEST_TMPDIR/bad.$lang" '{submissionId: "bad-\($lang)",
			userId: "u", language: $lang, userCode: $code, testCases: [{Id: "a", input: "", output: ""}]}'
	done > "$BATS_TEST_TMPDIR/jobs"
	sbx_run -j 2 -- "$BATS_TEST_TMPDIR/jobs"
	for lang in c cpp rust java; do
		assert_job "bad-$lang" '.exec.compile.exitCode != 0 and (.exec.runs | length) == 0
			and (.exec.compile.stderr | contains("undeclared"))'
	done
	run -0 --separate-stderr "$ROOT/bin/judge" < "$SBX_OUT"
	assert_equal "$(jq -r '.result.executionResult.verdict' <<< "$output" | sort | uniq -c | tr -s ' ')" \
		" 4 compilation_error"
	[ "$(jq -r 'select(.result.executionResult.failedTestCase.output | contains("undeclared"))' <<< "$output" | grep -c '^{')" -eq 4 ] ||
		fail "no compiler message in: $output"
}

@test "Java: the heap is the job's memory limit, and a program that keeps more gets the memory limit" {
	custom_job heap java "$FIXTURES/heap.java" '{"memoryMb": 128}' > "$BATS_TEST_TMPDIR/job"
	sbx_run "$BATS_TEST_TMPDIR/job"
	# -Xmx128m: the JVM reports a little less (a survivor space).
	assert_job heap '.exec.runs[0].limit == "memory" and (.exec.runs[0].stdout | tonumber) <= 128
		and (.exec.runs[0].stdout | tonumber) > 100'
}

# --- limits ------------------------------------------------------------------

@test "limits.wallMs 500 stops a sleeping program at the wall limit" {
	local w=$((500 * CLOCK_SCALE))
	custom_job wall-500 python "$FIXTURES/sleep.py" "{\"wallMs\":$w}" > "$BATS_TEST_TMPDIR/job"
	sbx_run "$BATS_TEST_TMPDIR/job"
	assert_job wall-500 '.exec.runs[0] | .limit == "wall" and .signal == "SIGKILL" and .stdout == "sleeping\n"'
	assert_job wall-500 ".exec.runs[0] | .wallMs >= $w and .wallMs < 3 * $w and .timeMs < $w"
}

@test "limits.timeMs 200 stops a busy loop at the CPU time limit" {
	custom_job time-200 python "$FIXTURES/busy.py" '{"timeMs":200}' > "$BATS_TEST_TMPDIR/job"
	sbx_run "$BATS_TEST_TMPDIR/job"
	assert_job time-200 '.exec.runs[0] | .limit == "time" and .signal == "SIGKILL"'
	assert_job time-200 '.exec.runs[0] | .timeMs >= 200 and .timeMs < 1000'
}

@test "limits.outputBytes 10 keeps exactly 10 bytes of a 100-byte stdout" {
	custom_job output-10 python "$FIXTURES/print-100.py" '{"outputBytes":10}' > "$BATS_TEST_TMPDIR/job"
	sbx_run "$BATS_TEST_TMPDIR/job"
	assert_job output-10 '.exec.runs[0] | .limit == "output" and .stdoutTruncated == true'
	assert_job output-10 '.exec.runs[0].stdout == "xxxxxxxxxx"'
}

@test "limits.memoryMb 32 stops a 100 MiB allocation at the memory limit" {
	custom_job memory-32 python "$FIXTURES/alloc-100m.py" '{"memoryMb":32}' > "$BATS_TEST_TMPDIR/job"
	sbx_run "$BATS_TEST_TMPDIR/job"
	assert_job memory-32 '.exec.runs[0] | .limit == "memory" and .memoryKb <= 32 * 1024 + 4'	# + a page: see above
	assert_job memory-32 '.exec.runs[0].stdout == ""'
}

@test "EXECUTION_TIMEOUT=700 is the wall limit of jobs without one; a job's wallMs wins" {
	custom_job platform-wall python "$FIXTURES/sleep.py" > "$BATS_TEST_TMPDIR/a"
	custom_job own-wall python "$FIXTURES/sleep.py" '{"wallMs":300}' > "$BATS_TEST_TMPDIR/b"
	EXECUTION_TIMEOUT=700 sbx_run -j 2 -- "$BATS_TEST_TMPDIR/a" "$BATS_TEST_TMPDIR/b"
	assert_job platform-wall '.exec.runs[0] | .limit == "wall" and .wallMs >= 700 and .wallMs < 1700'
	assert_job own-wall '.exec.runs[0] | .limit == "wall" and .wallMs >= 300 and .wallMs < 700'
}

@test "MAX_OUTPUT_LENGTH=10 caps each stream of jobs without outputBytes" {
	custom_job platform-output python "$FIXTURES/print-100.py" > "$BATS_TEST_TMPDIR/job"
	MAX_OUTPUT_LENGTH=10 sbx_run "$BATS_TEST_TMPDIR/job"
	assert_job platform-output '.exec.runs[0] | .limit == "output" and .stdoutTruncated and .stdout == "xxxxxxxxxx"'
}

@test "a Go binary is kept by the hash of its sources: the same program again skips the compiler, another compiles" {
	table_copy "s|^binary_cache = .*|binary_cache = $BATS_TEST_TMPDIR/go-bin|"
	custom_job first go "$FIXTURES/print-env.go" > "$BATS_TEST_TMPDIR/first"
	custom_job again go "$FIXTURES/print-env.go" > "$BATS_TEST_TMPDIR/again"
	{ cat "$FIXTURES/print-env.go"; echo "// another program"; } > "$BATS_TEST_TMPDIR/other.go"
	custom_job other go "$BATS_TEST_TMPDIR/other.go" > "$BATS_TEST_TMPDIR/other"
	sbx_run -j 1 -- "$BATS_TEST_TMPDIR"/{first,again,other}
	assert_job first '.exec.compile.exitCode == 0 and .exec.compile.cached != true and .exec.runs[0].exitCode == 0'
	assert_job again '.exec.compile.cached == true and .exec.runs[0].exitCode == 0'
	assert_job other '.exec.compile.exitCode == 0 and .exec.compile.cached != true'
	[ "$(find "$BATS_TEST_TMPDIR/go-bin" -type f | wc -l)" -eq 2 ]
	[ "$(job_field first .exec.runs[0].stdout)" = "$(job_field again .exec.runs[0].stdout)" ]
}

@test "the binary cache keeps no binary over binary_cache_entry_bytes: a 100 MB one is compiled each time" {
	table_copy "s|^binary_cache = .*|binary_cache = $BATS_TEST_TMPDIR/go-bin|"
	custom_job big-1 go "$FIXTURES/big-binary.go" > "$BATS_TEST_TMPDIR/a"
	custom_job big-2 go "$FIXTURES/big-binary.go" > "$BATS_TEST_TMPDIR/b"
	sbx_run -j 1 -- "$BATS_TEST_TMPDIR/a" "$BATS_TEST_TMPDIR/b"
	assert_job big-1 '.exec.compile.exitCode == 0 and .exec.compile.cached != true and .exec.runs[0].stdout == "1\n"'
	assert_job big-2 '.exec.compile.exitCode == 0 and .exec.compile.cached != true and .exec.runs[0].stdout == "1\n"'
	[ "$(find "$BATS_TEST_TMPDIR/go-bin" -type f -size +1M 2> /dev/null | wc -l)" -eq 0 ]
}

@test "a cached binary larger than an ns job's work dir: that job compiles instead, and the compile says it does not fit (a pool container's tmpfs is its language's)" {
	table_copy "s|^binary_cache = .*|binary_cache = $BATS_TEST_TMPDIR/go-bin|"
	# A 20 MiB binary: kept (under binary_cache_entry_bytes), and over 16 MB.
	sed 's/100 << 20/20 << 20/' "$FIXTURES/big-binary.go" > "$BATS_TEST_TMPDIR/mid.go"
	custom_job roomy go "$BATS_TEST_TMPDIR/mid.go" > "$BATS_TEST_TMPDIR/a"
	custom_job cramped go "$BATS_TEST_TMPDIR/mid.go" '{"workdirMb": 16}' > "$BATS_TEST_TMPDIR/b"
	sbx_run -j 1 -- "$BATS_TEST_TMPDIR/a" "$BATS_TEST_TMPDIR/b"
	assert_job roomy '.exec.compile.exitCode == 0 and .exec.runs[0].stdout == "1\n"'
	if [ "$BACKEND" = docker ]; then
		# A pool container's tmpfs is its language's, whatever the job asks.
		assert_job cramped '.error == null and .exec.compile.cached and .exec.runs[0].stdout == "1\n"'
	else
		assert_job cramped '.error == null and .exec.compile.cached != true and .exec.compile.exitCode != 0
			and (.exec.runs | length) == 0'
		[[ "$stderr" == *"binary cache"*"compiling instead"* ]] || fail "not logged: $stderr"
	fi
}

@test "a binary cache on a full disk: the job runs all the same, and nothing half-written is left" {
	SMALL_DISK=$BATS_TEST_TMPDIR/small
	mkdir -p "$SMALL_DISK"
	mount -t tmpfs -o size=1m tmpfs "$SMALL_DISK"
	table_copy "s|^binary_cache = .*|binary_cache = $SMALL_DISK/go-bin|"
	custom_job full-disk go "$FIXTURES/print-env.go" > "$BATS_TEST_TMPDIR/job"
	sbx_run "$BATS_TEST_TMPDIR/job"
	assert_job full-disk '.exec.compile.exitCode == 0 and .exec.runs[0].exitCode == 0'
	[[ "$stderr" == *"binary cache"*"No space left on device"* ]] || fail "no ENOSPC logged: $stderr"
	assert_equal "$(find "$SMALL_DISK" -type f | wc -l)" 0
}

# --- bounded lines and slot time ------------------------------------------------

@test "a results file of 8 MB of control bytes: the line still fits the judge, which says the file was too large" {
	jq -cn --rawfile code "$FIXTURES/results-flood.py" '{tempId: "results-flood", language: "python",
		userCode: $code, entry: "f", testCases: [{Id: "a", input: "[1]", output: "1"}]}' > "$BATS_TEST_TMPDIR/job"
	sbx_run "$BATS_TEST_TMPDIR/job"
	[ "$(wc -c < "$SBX_OUT")" -le $((16 << 20)) ] || fail "a line of $(wc -c < "$SBX_OUT") bytes"
	assert_job results-flood '.exec.runs[0].resultsError == "too-large" and (.exec.runs[0] | has("results") | not)'
	run -0 --separate-stderr "$ROOT/bin/judge" < "$SBX_OUT"
	assert_equal "$(jq -c '.result.executionResult | [.verdict, .testResults[0].output]' <<< "$output")" \
		'["runtime_error","Failed to read results file: too-large"]'
}

@test "stdout of control bytes in every testcase: the exec section stops at its room, with the output limit, never a line the judge refuses" {
	local inputs=() i
	for ((i = 0; i < 40; i++)); do
		inputs+=("$i")
	done
	stdio_job control-out python "$FIXTURES/control-stdout.py" "${inputs[@]}" > "$BATS_TEST_TMPDIR/job"
	sbx_run "$BATS_TEST_TMPDIR/job"
	[ "$(wc -c < "$SBX_OUT")" -le $((16 << 20)) ] || fail "a line of $(wc -c < "$SBX_OUT") bytes"
	assert_job control-out '.exec.stopped == "output" and (.exec.runs | length) < 40
		and (.exec.runs[-1] | .limit == "output" and .stdoutTruncated)
		and (.exec.runs[:-1] | all(.limit == null and (.stdout | length) == 60000))'
	run -0 --separate-stderr "$ROOT/bin/judge" < "$SBX_OUT"
	assert_equal "$(jq -c '[.result.executionResult.verdict, (.result.executionResult.testResults | map(.verdict) | unique)]' <<< "$output")" \
		'["wrong_answer",["output_limit_exceeded","wrong_answer"]]'
	[ "$(jq -c '.result | tostring | length' <<< "$output")" -le 900000 ]
}

@test "a job's time in its slot is bounded: testcases that each nap under the wall limit stop at the budget" {
	# wallMs 3000: a budget of 9000 ms. Each testcase naps 2.35 s, more
	# than a quarter of the budget with the interpreter's start: three fit,
	# the fourth is cut at what is left, the fifth never runs. (Times
	# CLOCK_SCALE where the clocks run slower: there a first start can
	# take 2 s.)
	local k=$CLOCK_SCALE
	printf 'import time\ntime.sleep(%d.%02d)\nprint("ok")\n' $((235 * k / 100)) $((235 * k % 100)) \
		> "$BATS_TEST_TMPDIR/nap.py"
	stdio_job budget python "$BATS_TEST_TMPDIR/nap.py" 1 2 3 4 5 |
		jq -c --argjson w $((3000 * k)) '.limits = {wallMs: $w}' > "$BATS_TEST_TMPDIR/job"
	local start=$SECONDS
	sbx_run "$BATS_TEST_TMPDIR/job"
	[ $((SECONDS - start)) -le $((12 * k)) ] || fail "the job took $((SECONDS - start)) s"
	assert_job budget ".exec.budgetMs == $((9000 * k)) and .exec.stopped == \"time\" and (.exec.runs | length) == 4
		and (.exec.runs[:3] | all(.limit == null)) and .exec.runs[3].limit == \"wall\"
		and ([.exec.runs[].wallMs] | add) <= $((9500 * k))"
	run -0 --separate-stderr "$ROOT/bin/judge" < "$SBX_OUT"
	assert_equal "$(jq -c '[.result.executionResult.testResults[] | .verdict]' <<< "$output")" \
		'["wrong_answer","wrong_answer","wrong_answer","time_limit_exceeded","time_limit_exceeded"]'
}

@test "what a job line alone shows can never run is refused before a slot is taken, naming what is allowed" {
	{
		custom_job python-cap python "$FIXTURES/hello.py" | jq -c '.language = "Python"'
		custom_job one-process python "$FIXTURES/hello.py" '{"processes":1}'
		custom_job node-few javascript "$FIXTURES/print-env.js" '{"processes":4}'
		stdio_job bad-compare python "$FIXTURES/hello.py" 1 | jq -c '.compare = "fuzzy"'
		jq -cn '{tempId: "bad-input", language: "python", userCode: "def f(x): return x", entry: "f",
			testCases: [{Id: "a", input: "[1,", output: "1"}]}'
		printf '{"tempId":"nul","language":"python","userCode":"\\"print(1)\\u0000\\""}\n'
		printf '{"tempId":"utf8","language":"python","userCode":"\\"print(1)\\"","x":"\xff"}\n'
	} > "$BATS_TEST_TMPDIR/jobs"
	table_copy 's/^acquire_ms = .*/acquire_ms = 300/; s/^slots = .*/slots = 1/'
	# Every slot held: a job that took one would be a slot-timeout.
	local lock
	lock=$(slot_lock_path python 0)
	mkdir -p "${lock%/*}"
	flock -w 30 -o "$lock" sleep 30 3>&- &
	SLOT_HOLDER=$!
	until ! flock -n "$lock" true; do sleep 0.05; done
	sbx_run "$BATS_TEST_TMPDIR/jobs"
	run -0 jq -r '[.tempId, .error.kind, .error.code, .error.message] | @tsv' "$SBX_OUT"
	assert_line "$(printf 'python-cap\tpoison\tunknown-language\tunknown language '"'"'Python'"'"' (python, javascript, go, c, cpp, rust, java)')"
	assert_line "$(printf 'one-process\tpoison\tinvalid-job\tlimits.processes 1 is below the 2 python needs to start')"
	assert_line "$(printf 'node-few\tpoison\tinvalid-job\tlimits.processes 4 is below the 8 javascript needs to start')"
	assert_line "$(printf 'bad-compare\tpoison\tinvalid-job\tcompare: unknown comparator "fuzzy"')"
	assert_line "$(printf 'bad-input\tpoison\tinvalid-job\ttestCases[0].input is not a JSON text')"
	assert_line --regexp '^nul	poison	invalid-job	a string holds .+u0000 \(NUL, byte [0-9]+\), which no field may carry$'
	assert_line --regexp '^utf8	poison	invalid-job	the line is not valid UTF-8 \(byte [0-9]+\)$'
}

# --- what the program sees ---------------------------------------------------

@test "a Python or Node.js run is as python3 -I -B PROGRAM or node PROGRAM on the host: its main module, argv, tracebacks, exit statuses, recursion, exit handlers" {
	# In an ns box the runtime is started before the step (the table's
	# `launch`): nothing the program can see may tell.
	local f name lang n=0
	for f in "$FIXTURES"/as-run/*; do
		lang=python
		[ "${f##*.}" = py ] || lang=javascript
		custom_job "as-run-$(basename "$f")" "$lang" "$f"
	done > "$BATS_TEST_TMPDIR/jobs"
	sbx_run -j 2 -- "$BATS_TEST_TMPDIR/jobs"
	mkdir "$BATS_TEST_TMPDIR/code"
	for f in "$FIXTURES"/as-run/*; do
		local status=0 native=(/usr/bin/python3 -I -B code.py) file=code.py
		if [ "${f##*.}" = js ]; then native=(/usr/bin/node code.js) file=code.js; fi
		cp "$f" "$BATS_TEST_TMPDIR/code/$file"
		(cd "$BATS_TEST_TMPDIR/code" && env -i PATH=/usr/bin:/bin HOME=/tmp LANG=C.UTF-8 \
			"${native[@]}" < /dev/null > ../out 2> ../err) || status=$?
		sed -i "s|$BATS_TEST_TMPDIR/code|/sandbox/code|g" "$BATS_TEST_TMPDIR/out" "$BATS_TEST_TMPDIR/err"
		assert_job "as-run-$(basename "$f")" ".exec.runs[0] | .exitCode == $status
			and .stdout == $(jq -Rs . < "$BATS_TEST_TMPDIR/out")
			and .stderr == $(jq -Rs . < "$BATS_TEST_TMPDIR/err")"
		n=$((n + 1))
	done
	assert [ "$n" -ge 17 ]
	# And no fd of its start is left to it.
	printf 'import os\nprint(sorted(os.listdir("/proc/self/fd")))\n' > "$BATS_TEST_TMPDIR/fds.py"
	custom_job fds python "$BATS_TEST_TMPDIR/fds.py" > "$BATS_TEST_TMPDIR/job"
	sbx_run "$BATS_TEST_TMPDIR/job"
	assert_job fds ".exec.runs[0].stdout == \"['0', '1', '2', '3']\\n\""
}

@test "a Python run ends as the interpreter does: a file it left open and unflushed is written" {
	# A run forked from a zygote ends without tearing the zygote's objects
	# down (docs/sandbox.md, "Zygotes"), but its own are released.
	stdio_job unclosed python "$FIXTURES/unclosed-file.py" "" "" > "$BATS_TEST_TMPDIR/job"
	sbx_run "$BATS_TEST_TMPDIR/job"
	assert_job unclosed '[.exec.runs[].stdout] == ["wrote\n", "found: written, never closed\n"]'
}

@test "the environment is the table's whitelist only: nothing of the caller's" {
	custom_job env-python python "$FIXTURES/print-env.py" > "$BATS_TEST_TMPDIR/py"
	custom_job env-javascript javascript "$FIXTURES/print-env.js" > "$BATS_TEST_TMPDIR/js"
	custom_job env-go go "$FIXTURES/print-env.go" > "$BATS_TEST_TMPDIR/go"
	SECRET_TEST_VAR=leaked-from-the-caller sbx_run -j 2 -- "$BATS_TEST_TMPDIR"/{py,js,go}
	refute_output --partial SECRET_TEST_VAR
	refute_output --partial leaked-from-the-caller
	local lang names
	for lang in python javascript go; do
		names=$(table_env_names "$lang" | sort | jq -R . | jq -sc .)
		assert_job "env-$lang" ".exec.runs[0].exitCode == 0 and (.exec.runs[0].stdout
			| split(\"\n\") | map(select(length > 0) | split(\"=\")[0]) | sort) == $names"
	done
	assert_job env-python '.exec.runs[0].stdout | contains("HOME=/tmp\n") and contains("LANG=C.UTF-8\n")
		and contains("PATH=/usr/local/bin:/usr/bin:/bin\n") and contains("TMPDIR=/tmp\n")'
	# The ns box overlays the warm cache; the runner image has it read-only.
	local gocache=/sandbox/.gocache
	[ "$BACKEND" = ns ] || gocache=/opt/codex/go-build
	assert_job env-go ".exec.runs[0].stdout | contains(\"GOCACHE=$gocache\n\")"
}

@test "the program runs as the slot's uid and gid, no groups, no capabilities, NoNewPrivs, seccomp" {
	custom_job identity python "$FIXTURES/identity.py" > "$BATS_TEST_TMPDIR/job"
	sbx_run "$BATS_TEST_TMPDIR/job"
	local id=$(($(table_value uid_base) + $(job_field identity '.exec.slot'))) groups=
	# A docker slot's uid (lib/sandbox/pool.c; python is the table's first language),
	# its own group as its only group.
	if [ "$BACKEND" = docker ]; then
		id=$((id + 100000))
		groups=$id
	fi
	local zero=0000000000000000
	run -0 job_field identity '.exec.runs[0].stdout'
	assert_line "Uid=$id $id $id $id"
	assert_line "Gid=$id $id $id $id"
	assert_line "Groups=$groups"
	assert_line "CapInh=$zero"
	assert_line "CapPrm=$zero"
	assert_line "CapEff=$zero"
	assert_line "CapBnd=$zero"
	assert_line "CapAmb=$zero"
	assert_line 'NoNewPrivs=1'
	assert_line 'Seccomp=2'
}

@test "the seccomp filter refuses io_uring, userfaultfd, sockets but unix and inet (whatever the high bits say), another process's limits or priority, and the channels of shared inodes" {
	custom_job syscalls python "$FIXTURES/syscalls.py" > "$BATS_TEST_TMPDIR/job"
	sbx_run "$BATS_TEST_TMPDIR/job"
	assert_job syscalls '.exec.runs[0].exitCode == 0'
	run -0 job_field syscalls '.exec.runs[0].stdout'
	assert_output "prlimit own: ok
prlimit pid 1: EPERM
setpriority own: ok
setpriority pid 1: EPERM
setpriority user: EPERM
setpriority user high bits: EPERM
sched_setaffinity pid 1: EPERM
io_uring_setup: EPERM
userfaultfd: EPERM
socket vsock: EAFNOSUPPORT
socket vsock high bits: EAFNOSUPPORT
inotify_init1: EPERM
flock: EPERM
fcntl F_SETLK: EPERM
fcntl F_SETLK high bits: EPERM
fcntl F_GETLK: EPERM
fcntl F_OFD_SETLK: EPERM
fcntl F_SETLEASE: EPERM
fcntl F_NOTIFY: EPERM
fcntl F_GETFD: ok
socket netlink uevent: EAFNOSUPPORT
socket netlink high bits: EAFNOSUPPORT
socket alg: EAFNOSUPPORT
socket packet: EAFNOSUPPORT
socket unix: ok
socket inet: ok
socket inet6: ok
modify_ldt: EPERM
io_setup: EPERM
sync: EPERM"
}

# --- instances -----------------------------------------------------------------

@test "two instances side by side: their own slots, cgroups and uids; neither kills the other's job" {
	# A: the default table (instance codex), one slot, a job napping 3 s.
	custom_job nap-a python "$FIXTURES/long-nap.py" > "$BATS_TEST_TMPDIR/a.jsonl"
	env -u CODEX_LANGUAGES timeout 60 "$SBX" --slots 1 < "$BATS_TEST_TMPDIR/a.jsonl" \
		> "$BATS_TEST_TMPDIR/a.out" 2> "$BATS_TEST_TMPDIR/a.err" &
	local a=$!
	sleep 1
	# A third instance with A's uids is refused while A runs (first: on a
	# slow machine B's jobs may outlast A's).
	table_copy "s|^state_dir = .*|state_dir = $BATS_TEST_TMPDIR/c|"
	run -100 --separate-stderr timeout 60 "$SBX" --slots 1 < /dev/null
	assert_stderr_has 'slot uids 61000.. of instance codex-'
	assert_stderr_has 'are in use by instance codex (state dir /run/codex-sandbox): give each instance its own uid_base'
	# B (the ns backend: its boxes): a state dir and uids of its own, one
	# slot, jobs in the same slot number while A's runs: before instances,
	# B's cgroup set-up of slot-0 killed A's job.
	if [ "$BACKEND" = ns ]; then
		table_copy "s|^state_dir = .*|state_dir = $BATS_TEST_TMPDIR/b|; s|^uid_base = .*|uid_base = 71000|"
		local i
		for i in 1 2 3 4; do
			custom_job "b-$i" python "$FIXTURES/identity.py"
		done > "$BATS_TEST_TMPDIR/b.jsonl"
		run -0 --separate-stderr timeout 60 "$SBX" --slots 1 < "$BATS_TEST_TMPDIR/b.jsonl"
		assert_equal "$(jq -r '[.exec.slot, .exec.runs[0].exitCode, (.exec.runs[0].stdout | capture("Uid=(?<u>[0-9]+)").u)] | @tsv' <<< "$output" | sort -u)" \
			"$(printf '0\t0\t71000')"
		[ -e "$BATS_TEST_TMPDIR/b/slots/0.lock" ]
		# B's boxes had a cgroup parent of its own, named by its instance
		# (codex- and 8 hex digits of its state dir's SHA-256).
		local hash own dir
		hash=$(printf '%s' "$BATS_TEST_TMPDIR/b" | sha256sum | cut -c1-8)
		if [ -e /sys/fs/cgroup/cgroup.controllers ]; then
			# From the supervisor leaf of a delegated group, its parent.
			own=$(awk -F: '$1 == 0 { print $3 }' /proc/self/cgroup)
			own=${own%/supervisor}
			dir=/sys/fs/cgroup${own%/}
		else
			own=$(awk -F: '$2 == "pids" { print $3 }' /proc/self/cgroup)
			dir=/sys/fs/cgroup/pids${own%/}
		fi
		[ -d "$dir/codex-$hash-sandbox" ] || fail "no $dir/codex-$hash-sandbox"
		[ -d "$dir/codex-sandbox" ] || fail "no $dir/codex-sandbox"
	fi
	wait "$a"
	local uid=61000
	[ "$BACKEND" = ns ] || uid=$(jq -r '.exec.slot + 161000' "$BATS_TEST_TMPDIR/a.out")
	run -0 jq -r '[.exec.runs[0].exitCode, .exec.runs[0].stdout] | @tsv' "$BATS_TEST_TMPDIR/a.out"
	assert_output "$(printf '0\t%s\\nwoke up\\n' "$uid")"
}

# --- several jobs, signals, slots ----------------------------------------------

@test "-j 2 with 4 jobs: every job comes out exactly once, in any order" {
	custom_job j1 python "$FIXTURES/nap.py" > "$BATS_TEST_TMPDIR/1"
	custom_job j2 python "$FIXTURES/hello.py" > "$BATS_TEST_TMPDIR/2"
	custom_job j3 python "$FIXTURES/nap.py" > "$BATS_TEST_TMPDIR/3"
	custom_job j4 python "$FIXTURES/hello.py" > "$BATS_TEST_TMPDIR/4"
	sbx_run -j 2 -- "$BATS_TEST_TMPDIR"/{1,2,3,4}
	assert_equal "${#lines[@]}" 4
	run -0 jq -r '.tempId' "$SBX_OUT"
	assert_equal "$(sort <<< "$output" | paste -sd' ')" 'j1 j2 j3 j4'
	assert_job j1 '.exec.runs[0].stdout == "woke up\n"'
	assert_job j4 '.exec.runs[0].stdout == "hello\n"'
}

@test "CONTAINER_POOL_SIZE=1 is the number of slots: every job runs in slot 0" {
	custom_job p1 python "$FIXTURES/hello.py" > "$BATS_TEST_TMPDIR/1"
	custom_job p2 python "$FIXTURES/hello.py" > "$BATS_TEST_TMPDIR/2"
	custom_job p3 python "$FIXTURES/hello.py" > "$BATS_TEST_TMPDIR/3"
	CONTAINER_POOL_SIZE=1 sbx_run -j 2 -- "$BATS_TEST_TMPDIR"/{1,2,3}
	assert_job p1 '.exec.slot == 0 and .exec.runs[0].stdout == "hello\n"'
	assert_job p2 '.exec.slot == 0 and .exec.runs[0].stdout == "hello\n"'
	assert_job p3 '.exec.slot == 0 and .exec.runs[0].stdout == "hello\n"'
}

# --- warm boxes (ns) -----------------------------------------------------------

# warm_instance [SED_SCRIPT]: the table edited by SED_SCRIPT; with the ns
# backend, an instance of the test's own (state dir and uids), so that no
# other process's wish for a slot (slot.h's want file) keeps its worker
# ahead from taking one. The docker backend has no warm box: the same jobs
# must come out the same.
warm_instance() {
	if [ "$BACKEND" = ns ]; then
		table_copy "s|^state_dir = .*|state_dir = $BATS_TEST_TMPDIR/state|; s|^uid_base = .*|uid_base = 91000|; ${1:-}"
	else
		table_copy "${1:-}"
	fi
}

# warm_debug_counts: "COLD AHEAD", the number of steps whose box was made
# when they came and of those whose box was made ahead, from a debug log.
warm_debug_counts() {
	local msgs
	msgs=$(jq -r 'select(.level == 20) | .msg' <<< "$stderr")
	echo "$(grep -c '^box step: ' <<< "$msgs") $(grep -c '^box step made ahead: ' <<< "$msgs")"
}

@test "a job's first step starts in a box made before the job came, once the job before let the slot go; --cold makes each when its job comes" {
	warm_instance
	local i
	for i in 1 2 3; do custom_job "warm-$i" python "$FIXTURES/hello.py"; done > "$BATS_TEST_TMPDIR/jobs"
	LOG_LEVEL=debug sbx_run -j 1 --slots 1 -- "$BATS_TEST_TMPDIR/jobs"
	for i in 1 2 3; do assert_job "warm-$i" '.error == null and .exec.runs[0].stdout == "hello\n"'; done
	[ "$BACKEND" = docker ] || assert_equal "$(warm_debug_counts)" "1 2"
	LOG_LEVEL=debug sbx_run -j 1 --slots 1 --cold -- "$BATS_TEST_TMPDIR/jobs"
	for i in 1 2 3; do assert_job "warm-$i" '.error == null and .exec.runs[0].stdout == "hello\n"'; done
	[ "$BACKEND" = docker ] || assert_equal "$(warm_debug_counts)" "3 0"
}

@test "a Go job whose binary is cached runs in a box made before it came; one that compiles makes its own" {
	warm_instance "s|^binary_cache = .*|binary_cache = $BATS_TEST_TMPDIR/go-bin|"
	# A source of its own: the first job compiles it, the next two find it cached.
	printf 'package main\n\nimport "fmt"\n\nfunc main() { fmt.Println("hello") }\n\n// %s\n' \
		"$BATS_TEST_TMPDIR" > "$BATS_TEST_TMPDIR/main.go"
	local i
	for i in 1 2 3; do custom_job "go-$i" go "$BATS_TEST_TMPDIR/main.go"; done > "$BATS_TEST_TMPDIR/jobs"
	LOG_LEVEL=debug sbx_run -j 1 --slots 1 -- "$BATS_TEST_TMPDIR/jobs"
	for i in 1 2 3; do assert_job "go-$i" '.error == null and .exec.runs[0].stdout == "hello\n"'; done
	assert_job go-1 '.exec.compile.cached == null'
	assert_job go-2 '.exec.compile.cached == true'
	assert_job go-3 '.exec.compile.cached == true'
	# go-1: its compile made when it came, its run while it compiled;
	# go-2 and go-3: their runs made before they came.
	[ "$BACKEND" = docker ] || assert_equal "$(warm_debug_counts)" "1 3"
}

@test "a job unlike the one before (language, limits, work dir) runs as it would cold: its warm box is not used" {
	warm_instance
	# A Go source of its own: no cached binary, d compiles.
	{ cat "$FIXTURES/print-env.go"; echo "// $BATS_TEST_TMPDIR"; } > "$BATS_TEST_TMPDIR/main.go"
	{
		custom_job a python "$FIXTURES/hello.py"
		custom_job b python "$FIXTURES/hello.py" '{"memoryMb": 128}'
		custom_job c python "$FIXTURES/hello.py" '{"workdirMb": 8}'
		custom_job d go "$BATS_TEST_TMPDIR/main.go"
		custom_job e javascript "$FIXTURES/print-env.js"
		custom_job f python "$FIXTURES/hello.py"
	} > "$BATS_TEST_TMPDIR/jobs"
	LOG_LEVEL=debug sbx_run -j 1 --slots 1 -- "$BATS_TEST_TMPDIR/jobs"
	local id
	for id in a b c d e f; do
		assert_job "$id" '.error == null and .exec.runs[0].exitCode == 0 and .exec.runs[0].limit == null'
	done
	assert_job f '.exec.runs[0].stdout == "hello\n"'
	# Each job's first step is unlike the job before's: all made when they
	# came; only d's run was made ahead, while d compiled.
	[ "$BACKEND" = docker ] || assert_equal "$(warm_debug_counts)" "6 1"
}

# first_done LOG: the first job of a sandbox-exec logging to LOG is out,
# and with the ns backend a warm box is made for the next.
first_done() {
	grep -q '"msg":"executed' "$1" || return 1
	[ "$BACKEND" = docker ] || [ "$(grep -c '"msg":"box open' "$1")" = 2 ]
}

@test "a warm box gives its slot up at once to another process that wants one" {
	warm_instance 's/^acquire_ms = .*/acquire_ms = 20000/; s/^slots = .*/slots = 1/'
	mkfifo "$BATS_TEST_TMPDIR/stdin"
	LOG_LEVEL=debug timeout 120 "$SBX" < "$BATS_TEST_TMPDIR/stdin" > "$BATS_TEST_TMPDIR/a-out" \
		2> "$BATS_TEST_TMPDIR/a-err" 3>&- &
	local pid=$! writer status=0 tries=0
	exec {writer}> "$BATS_TEST_TMPDIR/stdin"
	custom_job a-1 python "$FIXTURES/hello.py" >&"$writer"
	# The first job done; with the ns backend, its worker ahead then holds
	# the only slot with a warm box (the box opened twice).
	until first_done "$BATS_TEST_TMPDIR/a-err"; do
		sleep 0.05
		[ $((tries += 1)) -lt 600 ] || fail "no warm box in 30 s: $(cat "$BATS_TEST_TMPDIR/a-err")"
	done
	local started=$SECONDS
	custom_job b-1 python "$FIXTURES/hello.py" > "$BATS_TEST_TMPDIR/b"
	sbx_run "$BATS_TEST_TMPDIR/b"
	assert_job b-1 '.error == null and .exec.runs[0].stdout == "hello\n"'
	# Not after acquire_ms (20 s): at once.
	assert [ $((SECONDS - started)) -lt 10 ]
	# The first process goes on: its next job takes the slot when it comes.
	custom_job a-2 python "$FIXTURES/hello.py" >&"$writer"
	exec {writer}>&-
	wait "$pid" || status=$?
	assert_equal "$status" 0
	SBX_OUT=$BATS_TEST_TMPDIR/a-out
	assert_job a-1 '.error == null and .exec.runs[0].stdout == "hello\n"'
	assert_job a-2 '.error == null and .exec.runs[0].stdout == "hello\n"'
	if [ "$BACKEND" = ns ]; then
		run grep -c 'wanted elsewhere: its warm box is given up' "$BATS_TEST_TMPDIR/a-err"
		assert_output 1
	fi
}

@test "SIGTERM: the in-flight job still comes out, then exit 0 without waiting for stdin" {
	mkfifo "$BATS_TEST_TMPDIR/stdin"
	timeout 120 "$SBX" < "$BATS_TEST_TMPDIR/stdin" > "$BATS_TEST_TMPDIR/out" 2> "$BATS_TEST_TMPDIR/err" 3>&- &
	local pid=$! writer status=0 started
	exec {writer}> "$BATS_TEST_TMPDIR/stdin"
	custom_job slow python "$FIXTURES/slow.py" >&"$writer"
	sleep 0.5
	started=$SECONDS
	kill -TERM "$pid"	# timeout(1) passes it on to sandbox-exec
	wait "$pid" || status=$?
	exec {writer}>&-
	assert_equal "$status" 0
	assert [ $((SECONDS - started)) -lt 10 ]
	SBX_OUT=$BATS_TEST_TMPDIR/out
	assert_job slow '.error == null and .exec.runs[0].exitCode == 0 and .exec.runs[0].stdout == "done\n"'
}

@test "SIGTERM while the zygotes start: exit 0, having run nothing" {
	local pid writer status=0
	if [ "$BACKEND" = ns ]; then
		# A share dir whose zygote takes 3 s to start (the docker backend
		# starts none: a SIGTERM at its start ends it cleanly too).
		local share=$BATS_TEST_TMPDIR/share
		cp -r "$ROOT/share/harness" "$share"
		{ echo 'import time; time.sleep(3)'; cat "$ROOT/share/harness/zygote.py"; } > "$share/zygote.py"
		table_copy ''
		export CODEX_SHARE=$share
	fi
	mkfifo "$BATS_TEST_TMPDIR/stdin"
	"$SBX" < "$BATS_TEST_TMPDIR/stdin" > "$BATS_TEST_TMPDIR/out" 2> "$BATS_TEST_TMPDIR/err" 3>&- &
	pid=$!
	exec {writer}> "$BATS_TEST_TMPDIR/stdin"
	sleep 0.5
	kill -TERM "$pid"
	wait "$pid" || status=$?
	exec {writer}>&-
	assert_equal "$status" 0
	[ ! -s "$BATS_TEST_TMPDIR/out" ] || fail "output: $(cat "$BATS_TEST_TMPDIR/out")"
	[ "$BACKEND" = ns ] || return 0
	# The signal came while the zygote started: it had started by the end.
	run -0 jq -r .msg "$BATS_TEST_TMPDIR/err"
	assert_line --regexp '^python zygote [0-9]+ started$'
}

@test "a Python zygote that cannot start: said once at start, and Python runs are launched" {
	table_copy 's/^zygote = .*/zygote = missing-zygote.py/'
	custom_job z-none python "$FIXTURES/hello.py" > "$BATS_TEST_TMPDIR/job"
	sbx_run "$BATS_TEST_TMPDIR/job"
	assert_job z-none '.error == null and .exec.runs[0].stdout == "hello\n"'
	if [ "$BACKEND" = ns ]; then
		assert_stderr_has 'no python zygote: '
		assert_stderr_has 'launched runs instead'
	else
		[[ "$stderr" != *zygote* ]] || fail "a zygote on the $BACKEND backend: $stderr"
	fi
}

@test "a Python zygote killed: every job is still answered, and it is started again" {
	if [ "$BACKEND" != ns ]; then
		# Zygotes are the ns backend's: the docker backend starts none.
		custom_job z-docker python "$FIXTURES/hello.py" > "$BATS_TEST_TMPDIR/job"
		sbx_run "$BATS_TEST_TMPDIR/job"
		assert_job z-docker '.error == null and .exec.runs[0].stdout == "hello\n"'
		[[ "$stderr" != *zygote* ]] || fail "a zygote on the $BACKEND backend: $stderr"
		return
	fi
	mkfifo "$BATS_TEST_TMPDIR/stdin"
	timeout 120 "$SBX" -j 1 < "$BATS_TEST_TMPDIR/stdin" > "$BATS_TEST_TMPDIR/out" \
		2> "$BATS_TEST_TMPDIR/err" 3>&- &
	local pid=$! writer i zygote
	exec {writer}> "$BATS_TEST_TMPDIR/stdin"
	SBX_OUT=$BATS_TEST_TMPDIR/out
	answered() {	# answered N: N lines out, within 30 s
		local end=$((SECONDS + 30))
		until [ "$(wc -l < "$SBX_OUT")" -ge "$1" ]; do
			[ "$SECONDS" -lt "$end" ] || fail "no answer $1 in: $(cat "$SBX_OUT")"
			sleep 0.05
		done
	}
	custom_job z-1 python "$FIXTURES/hello.py" >&"$writer"
	answered 1
	zygote=$(jq -r 'select(.msg | test("^python zygote [0-9]+ started$")) | .msg | split(" ")[2]' \
		"$BATS_TEST_TMPDIR/err")
	[ -n "$zygote" ] || fail "no zygote in: $(cat "$BATS_TEST_TMPDIR/err")"
	kill -KILL "$zygote"
	custom_job z-2 python "$FIXTURES/hello.py" >&"$writer"
	answered 2
	sleep 5.5	# it is started again at most every 5 s
	for i in 3 4; do
		custom_job "z-$i" python "$FIXTURES/hello.py" >&"$writer"
		answered "$i"
	done
	exec {writer}>&-
	wait "$pid"
	for i in 1 2 3 4; do
		assert_job "z-$i" '.error == null and .exec.runs[0].stdout == "hello\n"'
	done
	run -0 jq -r .msg "$BATS_TEST_TMPDIR/err"
	assert_line "the python zygote $zygote ended (status 0x9)"
	assert_equal "$(grep -c '^python zygote [0-9]* started$' <<< "$output")" 2
}

@test "no slot free within acquire_ms: infrastructure slot-timeout, exit 0" {
	table_copy 's/^acquire_ms = .*/acquire_ms = 300/; s/^slots = .*/slots = 1/'
	local lock
	lock=$(slot_lock_path python 0)
	mkdir -p "${lock%/*}"
	flock -w 30 -o "$lock" sleep 30 3>&- &
	SLOT_HOLDER=$!	# let go in teardown
	until ! flock -n "$lock" true; do sleep 0.05; done	# the holder has it
	custom_job no-slot python "$FIXTURES/hello.py" > "$BATS_TEST_TMPDIR/job"
	sbx_run "$BATS_TEST_TMPDIR/job"
	assert_job no-slot '.error.kind == "infrastructure" and .error.code == "slot-timeout" and .exec == null'
	assert_job no-slot '.error.message | contains("300 ms")'
}

@test "a missing runtime: an infrastructure error naming the path, exit 0" {
	table_copy '/^\[python\]/,/^\[/ { s|^run = .*|run = /usr/bin/nonexistent {main}|; s|^launch = /usr/bin/python3|launch = /usr/bin/nonexistent| }'
	custom_job no-runtime python "$FIXTURES/hello.py" > "$BATS_TEST_TMPDIR/job"
	sbx_run "$BATS_TEST_TMPDIR/job"
	local code=box-setup
	[ "$BACKEND" = ns ] || code=docker
	assert_job no-runtime ".error.kind == \"infrastructure\" and .error.code == \"$code\" and .exec == null"
	assert_job no-runtime '.error.message | contains("/usr/bin/nonexistent")'
}

@test "sandbox-exec's own memory stays under 50 MB while a box floods its output" {
	sbx_peak_rss "$HOSTILE/python/output-flood.json"
	assert_job hostile-output-flood '.exec.runs[0].limit == "output"'
	assert [ "$PEAK_RSS_KB" -gt 0 ]
	assert [ "$PEAK_RSS_KB" -lt 51200 ]
}
