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
}

# --- usage -----------------------------------------------------------------

@test "--help prints the usage on stdout and exits 0" {
	run -0 --separate-stderr timeout 120 "$SBX" --help
	assert_line --index 0 --regexp '^usage: sandbox-exec '
	assert_equal "$stderr" ''
	run -0 --separate-stderr timeout 120 "$SBX" -h
	assert_line --index 0 --regexp '^usage: sandbox-exec '
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

@test "an empty line is not a JSON object: poison invalid-json" {
	poison_case ''
	assert_unparsable invalid-json
}

@test "a JSON array is not a job: poison invalid-json" {
	poison_case '[{"tempId":"in-an-array","language":"python"}]'
	assert_unparsable invalid-json
}

@test "a JSON string is not a job: poison invalid-json" {
	poison_case '"print(1)"'
	assert_unparsable invalid-json
}

@test "an object followed by more text is not a JSON object line: poison invalid-json" {
	poison_case '{"tempId":"trailing","language":"python","userCode":"\"print(1)\""} rm -rf /'
	assert_unparsable invalid-json
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
	run -0 --separate-stderr timeout 120 "$SBX" -j 2 < "$BATS_FILE_TMPDIR/examples-in.jsonl"
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

@test "examples: runtime errors exit non-zero with no limit" {
	run_examples
	assert_examples '._verdict == "runtime_error" and .exec.shape != "function"' \
		'any(.exec.runs[]; .exitCode > 0 and .signal == null and .limit == null)'
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

@test "examples: a normal run has CPU time, wall time and memory above 0" {
	run_examples
	assert_examples '._verdict == "accepted"' \
		'all(.exec.runs[]; .timeMs > 0 and .wallMs > 0 and .memoryKb > 0)'
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

# --- limits ------------------------------------------------------------------

@test "limits.wallMs 500 stops a sleeping program at the wall limit" {
	custom_job wall-500 python "$FIXTURES/sleep.py" '{"wallMs":500}' > "$BATS_TEST_TMPDIR/job"
	sbx_run "$BATS_TEST_TMPDIR/job"
	assert_job wall-500 '.exec.runs[0] | .limit == "wall" and .signal == "SIGKILL" and .stdout == "sleeping\n"'
	assert_job wall-500 '.exec.runs[0] | .wallMs >= 500 and .wallMs < 1500 and .timeMs < 500'
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

# --- what the program sees ---------------------------------------------------

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
	# A docker slot's uid (lib/pool.c; python is the table's first language),
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

@test "the seccomp filter refuses io_uring, userfaultfd, AF_VSOCK (whatever the high bits say) and another process's limits or priority" {
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
socket vsock high bits: EAFNOSUPPORT"
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
	table_copy '/^\[python\]/,/^\[/ s|^run = .*|run = /usr/bin/nonexistent {main}|'
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
