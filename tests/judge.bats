#!/usr/bin/env bats
# judge(1): exec lines in, result lines out (docs/formats.md, sections 2-4).
# Fixtures are written by hand in tests/fixtures/judge/: *.json are one job
# each, pretty-printed for reading (compacted to a line here), *.jsonl are
# given to judge byte for byte.

bats_require_minimum_version 1.5.0

setup() {
	load '/usr/lib/bats/bats-support/load'
	load '/usr/lib/bats/bats-assert/load'
	JUDGE="$BATS_TEST_DIRNAME/../bin/judge"
	FIX="$BATS_TEST_DIRNAME/fixtures/judge"
	IN="$BATS_TEST_TMPDIR/in.jsonl"
	: > "$IN"
}

# add FIXTURE [JQ-FILTER]: appends the fixture, as one line, to the input.
add() {
	jq -c "${2:-.}" "$FIX/$1.json" >> "$IN"
}

# judge_in STATUS [OPTION...]: runs judge on the input, expecting STATUS.
judge_in() {
	local status=$1
	shift
	run "-$status" --separate-stderr "$JUDGE" "$@" < "$IN"
}

# judge_fixture FIXTURE [JQ-FILTER]: judges one job, which must exit 0.
judge_fixture() {
	add "$@"
	judge_in 0
	assert_equal "$(wc -l <<< "$output")" 1
}

# q FILTER: the compact value of FILTER over the (first) output line.
q() {
	head -n 1 <<< "$output" | jq -c "$1"
}

# er FILTER: FILTER over the executionResult.
er() {
	q ".result.executionResult | $1"
}

# --- compat: the platform's rules ---

@test "compat submit, all passed: stats only, with the maxima and the program's stdout" {
	judge_fixture compat-submit-pass
	assert_equal "$(q '.result | del(.executionResult)')" '{"submissionId":"sub-1","userId":"user-1"}'
	assert_equal "$(er .stats)" \
		'{"totalTestCase":2,"passedTestCase":2,"failedTestCase":0,"executionTimeMs":1.75,"memoryMB":8.5,"stdout":"debug print\n"}'
	assert_equal "$(er 'has("failedTestCase"), has("testResults")')" $'false\nfalse'
	assert_equal "$(er '[.verdict, .timeMs, .wallMs, .memoryKb, .exitCode, .signal, .stderr]')" \
		'["accepted",41,60,9216,0,null,""]'
}

@test "compat: every other field of the line is kept" {
	judge_fixture compat-submit-pass
	assert_equal "$(q '.traceparent')" '"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"'
	assert_equal "$(q '[.executableCode, .exec.slot, .testCases[1].Id]')" '["print('"'"'wrapped'"'"')",0,"tc-b"]'
	assert_equal "$(q 'keys_unsorted')" \
		'["submissionId","userId","language","executableCode","traceparent","testCases","exec","result"]'
}

@test "compat submit stops at the first failing testcase" {
	judge_fixture compat-submit-fail
	assert_equal "$(er .failedTestCase)" \
		'{"index":1,"input":"[[3,2,4],6]","output":"[2,1]","expectedOutput":"[1,2]","verdict":"wrong_answer"}'
	# maxima over the lines read so far only (the third said 99); stderr
	# goes into stats.stdout, as the platform does
	assert_equal "$(er .stats)" \
		'{"totalTestCase":3,"passedTestCase":1,"failedTestCase":2,"executionTimeMs":3.5,"memoryMB":31.5,"stdout":"warning: deprecated\n"}'
	assert_equal "$(er .verdict)" '"wrong_answer"'
	assert_equal "$(q '.result | [.submissionId, .userId, has("tempId")]')" '["sub-2","user-2",false]'
}

@test "compat submit failure without stderr leaves stats.stdout out" {
	judge_fixture compat-submit-fail '.exec.runs[0].stderr = ""'
	assert_equal "$(er '.stats | has("stdout")')" false
}

@test "compat run lists every testcase, with the platform's output quirks" {
	judge_fixture compat-run-all
	assert_equal "$(q '.result | keys_unsorted')" '["tempId","executionResult"]'
	assert_equal "$(q .result.tempId)" '"tmp-3"'
	assert_equal "$(er '.testResults | length')" 4
	# a falsy actual (0) shows the expected output
	assert_equal "$(er '.testResults[0]')" \
		'{"Id":"tc-a","index":0,"input":"[1]","output":"0","expectedOutput":"0","passed":false,"executionTimeMs":1.5,"memoryMB":7.25,"verdict":"wrong_answer"}'
	# a string actual is JSON.stringify-ed; "4.5ms" parses as 4.5
	assert_equal "$(er '.testResults[1]')" \
		'{"Id":"tc-b","index":1,"input":"[2]","output":"\"xyz\"","expectedOutput":"\"xyz\"","passed":true,"executionTimeMs":4.5,"memoryMB":9,"verdict":"accepted"}'
	# JavaScript's key order and number forms; a missing figure is null
	assert_equal "$(er '.testResults[2] | [.output, .executionTimeMs, .memoryMB, .verdict]')" \
		'["{\"10\":[1e+21,1e-7,0.5],\"b\":1,\"a\":2.5}",null,6,"wrong_answer"]'
	# a status other than passed/failed is a runtime error; false is falsy too
	assert_equal "$(er '.testResults[3] | [.output, .passed, .memoryMB, .verdict]')" \
		'["true",false,null,"runtime_error"]'
	assert_equal "$(er .stats)" \
		'{"totalTestCase":4,"passedTestCase":1,"failedTestCase":3,"executionTimeMs":4.5,"memoryMB":9,"stdout":"hello from user\n"}'
	assert_equal "$(er .verdict)" '"wrong_answer"'
}

@test "compat run: the job's verdict is the first failing testcase by index" {
	judge_fixture compat-run-all '.exec.runs[0].results |= sub("\"status\":\"failed\",\"actual\":0"; "\"status\":\"passed\",\"actual\":0")'
	assert_equal "$(er '[.testResults[].verdict]')" '["accepted","accepted","wrong_answer","runtime_error"]'
	assert_equal "$(er .verdict)" '"wrong_answer"'
	assert_equal "$(er '.stats.passedTestCase')" 2
}

@test "compat: a crash is failedTestCase 0 with stderr as output" {
	judge_fixture compat-crash
	assert_equal "$(er .stats)" \
		'{"totalTestCase":2,"passedTestCase":0,"failedTestCase":2,"executionTimeMs":0,"memoryMB":0}'
	assert_equal "$(er .failedTestCase)" \
		'{"index":0,"input":"[[1,2],3]","output":"Traceback (most recent call last):\nValueError\n","expectedOutput":"[0,1]","verdict":"runtime_error"}'
	assert_equal "$(er '[.verdict, .exitCode, .signal, .stderr]')" \
		'["runtime_error",1,null,"Traceback (most recent call last):\nValueError\n"]'
}

@test "compat: a crash with an empty stderr shows stdout, in run mode too" {
	judge_fixture compat-crash-stdout
	assert_equal "$(er '.failedTestCase.output')" '"only stdout\n"'
	assert_equal "$(er 'has("testResults")')" false
	assert_equal "$(q '.result.tempId')" '"tmp-5"'
	assert_equal "$(er '[.verdict, .exitCode]')" '["runtime_error",3]'
}

@test "compat: a time limit gives the platform's timeout text" {
	judge_fixture compat-timeout
	assert_equal "$(er '.failedTestCase')" \
		'{"index":0,"input":"[5]","output":"TimeoutError: Execution took too long","expectedOutput":"120","verdict":"time_limit_exceeded"}'
	assert_equal "$(er '[.verdict, .exitCode, .signal, .timeMs, .wallMs]')" \
		'["time_limit_exceeded",null,"SIGKILL",2004,3001]'
}

@test "compat: the CPU time limit is a timeout too" {
	judge_fixture compat-timeout '.exec.runs[0].limit = "time"'
	assert_equal "$(er '[.failedTestCase.output, .verdict]')" \
		'["TimeoutError: Execution took too long","time_limit_exceeded"]'
}

@test "compat: a memory limit is memory_limit_exceeded with the program's output" {
	judge_fixture compat-memory
	assert_equal "$(er '[.failedTestCase.output, .failedTestCase.verdict, .verdict, .memoryKb]')" \
		'["MemoryError\n","memory_limit_exceeded","memory_limit_exceeded",262144]'
}

@test "compat: no results file after a clean exit appends the read error to stderr" {
	judge_fixture compat-no-results
	assert_equal "$(er '.failedTestCase')" \
		'{"index":0,"input":"[5]","output":"\nFailed to read results file: missing","expectedOutput":"120","verdict":"runtime_error"}'
	assert_equal "$(er .verdict)" '"runtime_error"'
}

@test "compat: a refused results file (symlink) after stderr output" {
	judge_fixture compat-results-symlink
	assert_equal "$(er '.failedTestCase.output')" '"a warning\nFailed to read results file: symlink"'
	assert_equal "$(er 'has("testResults")')" false
}

@test "compat: neither results nor resultsError counts as a missing file" {
	judge_fixture compat-no-results 'del(.exec.runs[0].resultsError)'
	assert_equal "$(er '.failedTestCase.output')" '"\nFailed to read results file: missing"'
}

@test "compat: a results line that is not JSON ends judging with 'Invalid judge output'" {
	judge_fixture compat-invalid-line
	assert_equal "$(er .stats)" \
		'{"totalTestCase":2,"passedTestCase":0,"failedTestCase":2,"executionTimeMs":7,"memoryMB":5}'
	assert_equal "$(er .failedTestCase)" \
		'{"index":0,"input":"","output":"Invalid judge output: I am not JSON","expectedOutput":"","verdict":"runtime_error"}'
	assert_equal "$(er 'has("testResults")')" false
	assert_equal "$(er .verdict)" '"runtime_error"'
}

@test "compat: an index out of range is invalid judge output (its figures counted first)" {
	judge_fixture compat-index-range
	assert_equal "$(er '.failedTestCase.output')" \
		'"Invalid judge output: {\"index\":2,\"status\":\"passed\",\"actual\":2,\"executionTimeMs\":8,\"memoryMB\":9}"'
	assert_equal "$(er '.stats | [.passedTestCase, .failedTestCase, .executionTimeMs, .memoryMB]')" '[0,2,8,9]'
}

@test "compat: a non-integral or non-numeric index is invalid judge output" {
	judge_fixture compat-index-range '.exec.runs[0].results = "{\"index\":\"0\",\"status\":\"passed\"}"'
	assert_equal "$(er '.failedTestCase.output')" '"Invalid judge output: {\"index\":\"0\",\"status\":\"passed\"}"'
	: > "$IN"
	judge_fixture compat-index-range '.exec.runs[0].results = "{\"index\":0.5,\"status\":\"passed\"}"'
	assert_equal "$(er '.verdict')" '"runtime_error"'
}

@test "compat: an empty results file is one empty line, so invalid output" {
	judge_fixture compat-empty-results
	assert_equal "$(er '[.failedTestCase.output, .stats.failedTestCase, .verdict]')" \
		'["Invalid judge output: ",1,"runtime_error"]'
}

@test "compat: a line missing for a testcase (exit midway) is a runtime error" {
	judge_fixture compat-submit-pass '.exec.runs[0].results |= split("\n")[0]'
	assert_equal "$(er '.stats | [.passedTestCase, .failedTestCase]')" '[1,0]'
	assert_equal "$(er .verdict)" '"runtime_error"'
}

@test "compat Go: a compile failure shows the compiler's output" {
	judge_fixture compat-go-compile
	assert_equal "$(er '.failedTestCase')" \
		'{"index":0,"input":"[1]","output":"# command-line-arguments\n./main.go:2:14: syntax error: unexpected EOF\n","expectedOutput":"1","verdict":"compilation_error"}'
	assert_equal "$(er '[.verdict, .compileOutput, .exitCode, .timeMs]')" \
		'["compilation_error","# command-line-arguments\n./main.go:2:14: syntax error: unexpected EOF\n",1,0]'
}

@test "compat Go: a compile time-out gives the timeout text" {
	judge_fixture compat-go-compile '.exec.compile.limit = "wall" | .exec.compile.exitCode = null'
	assert_equal "$(er '[.failedTestCase.output, .verdict]')" \
		'["TimeoutError: Execution took too long","compilation_error"]'
}

@test "compat Go: a clean compile is reported as compileOutput" {
	judge_fixture compat-go-ok
	assert_equal "$(er '[.verdict, .compileOutput, .testResults[0].output, .stats.memoryMB]')" \
		'["accepted","","1",1.9]'
}

@test "compat with no testcases and a clean run is accepted" {
	judge_fixture compat-no-testcases
	assert_equal "$(er '.stats | [.totalTestCase, .passedTestCase, .failedTestCase]')" '[0,0,0]'
	assert_equal "$(er '.verdict')" '"accepted"'
}

@test "compat with no testcases and a crash: empty input and expected output" {
	judge_fixture compat-no-testcases '.exec.runs[0].exitCode = 1 | .exec.runs[0].stderr = "boom"'
	assert_equal "$(er '.failedTestCase')" \
		'{"index":0,"input":"","output":"boom","expectedOutput":"","verdict":"runtime_error"}'
}

@test "our stderr field is capped at 4 KiB" {
	judge_fixture compat-crash '.exec.runs[0].stderr = ("é" * 3000)'
	assert_equal "$(er '.stderr | utf8bytelength')" 4096
	assert_equal "$(er '.failedTestCase.output | length')" 3000
}

@test "the mode comes from the job when exec has none" {
	judge_fixture compat-submit-fail 'del(.exec.mode)'
	assert_equal "$(er 'has("failedTestCase")')" true
	: > "$IN"
	judge_fixture compat-run-all 'del(.exec.mode)'
	assert_equal "$(er '.testResults | length')" 4
}

# --- custom ---

@test "custom: a clean run gives its stdout" {
	judge_fixture custom-ok
	assert_equal "$(q .result)" \
		'{"tempId":"cus-1","stdOut":"hello\n","verdict":"accepted","timeMs":15,"wallMs":20,"memoryKb":6144,"exitCode":0,"signal":null,"stderr":"note on stderr\n"}'
}

@test "custom: a failed run gives its stderr" {
	judge_fixture custom-fail
	assert_equal "$(q '.result | [.stdOut, .verdict, .exitCode]')" \
		'["Error: x\n    at main.js:1\n","runtime_error",1]'
}

@test "custom: a failed run with an empty stderr gives its stdout" {
	judge_fixture custom-fail-stdout
	assert_equal "$(q '.result | [.stdOut, .verdict, .exitCode]')" '["bye\n","runtime_error",2]'
}

@test "custom: a time-out gives the timeout text" {
	judge_fixture custom-timeout
	assert_equal "$(q '.result | [.tempId, .stdOut, .verdict, .signal]')" \
		'["cus-4","TimeoutError: Execution took too long","time_limit_exceeded","SIGKILL"]'
}

@test "custom Go: a compile failure gives the compiler's output" {
	judge_fixture custom-go-compile
	assert_equal "$(q '.result | [.stdOut, .verdict, .compileOutput]')" \
		'["./main.go:2:15: undefined: x\n","compilation_error","./main.go:2:15: undefined: x\n"]'
}

# --- native function jobs ---

@test "function submit, all passed: JSON comparison by default" {
	judge_fixture function-submit-pass
	# executionTimeMs is the run's CPU time, measured from outside: the
	# harness's own figures (2.25 at most here) are the program's to forge.
	assert_equal "$(er .stats)" \
		'{"totalTestCase":3,"passedTestCase":3,"failedTestCase":0,"executionTimeMs":44,"memoryMB":10,"stdout":"printed by the user\n"}'
	assert_equal "$(er '[.verdict, has("failedTestCase")]')" '["accepted",false]'
	assert_equal "$(q '.result | del(.executionResult)')" '{"submissionId":"fn-1","userId":"user-1"}'
}

@test "function submit stops at the first wrong answer" {
	judge_fixture function-submit-wa
	assert_equal "$(er .failedTestCase)" \
		'{"index":1,"input":"[[3,2,4],6]","output":"[2,1]","expectedOutput":"[1,2]","verdict":"wrong_answer"}'
	assert_equal "$(er .stats)" \
		'{"totalTestCase":3,"passedTestCase":1,"failedTestCase":2,"executionTimeMs":44,"memoryMB":10,"stdout":"user warning\n"}'
	assert_equal "$(er .verdict)" '"wrong_answer"'
}

@test "function run: every testcase in index order; an error line is a runtime error" {
	judge_fixture function-run-mixed
	# The output is the value as the harness wrote it (1.0, equal to 1);
	# every testcase's time is the run's.
	assert_equal "$(er '[.testResults[] | [.index, .output, .passed, .executionTimeMs, .verdict]]')" \
		'[[0,"1.0",true,30,"accepted"],[1,"0",true,30,"accepted"],[2,"ZeroDivisionError: division by zero",false,30,"runtime_error"],[3,"8",false,30,"wrong_answer"]]'
	assert_equal "$(er '.testResults[3] | [.Id, .input, .expectedOutput, .memoryMB]')" '["tc-d","[3]","9",8]'
	assert_equal "$(er .stats)" \
		'{"totalTestCase":4,"passedTestCase":2,"failedTestCase":2,"executionTimeMs":30,"memoryMB":8,"stdout":"dbg\n"}'
	assert_equal "$(er .verdict)" '"runtime_error"'
}

@test "function: testcases after the program died take the run's verdict" {
	judge_fixture function-timeout-midway
	assert_equal "$(er '[.testResults[] | [.verdict, .output]]')" \
		'[["accepted","1"],["time_limit_exceeded","TimeoutError: Execution took too long"],["time_limit_exceeded","TimeoutError: Execution took too long"]]'
	assert_equal "$(er '[.verdict, .signal, .stats.passedTestCase]')" '["time_limit_exceeded","SIGKILL",1]'
}

@test "function: a harness that could not load the code fails testcase 0" {
	judge_fixture function-crash-submit
	assert_equal "$(er .failedTestCase)" \
		'{"index":0,"input":"[1]","output":"SyntaxError: invalid syntax\nharness: could not load solution.py\n","expectedOutput":"1","verdict":"runtime_error"}'
	assert_equal "$(er '[.verdict, .exitCode, .stats.passedTestCase]')" '["runtime_error",1,0]'
}

@test "function: a testcase with two results lines is not trusted; garbage lines are ignored" {
	judge_fixture function-duplicate
	assert_equal "$(er .failedTestCase)" \
		'{"index":1,"input":"[2]","output":"more than one result for this testcase","expectedOutput":"2","verdict":"runtime_error"}'
}

@test "function: a clean exit without results fails every testcase" {
	judge_fixture function-submit-pass 'del(.exec.runs[0].results) | .exec.runs[0].resultsError = "too-large"'
	assert_equal "$(er '[.failedTestCase.output, .verdict]')" \
		'["Failed to read results file: too-large","runtime_error"]'
}

@test "function: a run that fails after its last result keeps the run's verdict" {
	judge_fixture function-submit-pass '.exec.runs[0].limit = "memory" | .exec.runs[0].exitCode = null'
	assert_equal "$(er '[.stats.passedTestCase, .verdict]')" '[3,"memory_limit_exceeded"]'
}

@test "function with no testcases and a clean run is accepted" {
	judge_fixture function-no-testcases
	assert_equal "$(er '[.verdict, .stats.totalTestCase, .stats.failedTestCase]')" '["accepted",0,0]'
}

@test "function Go: a compile failure is compilation_error at index 0" {
	judge_fixture function-go-compile
	assert_equal "$(er '.failedTestCase | [.index, .output, .verdict]')" \
		'[0,"./solution.go:1:29: undefined: y\n","compilation_error"]'
	assert_equal "$(er '[.verdict, .compileOutput]')" '["compilation_error","./solution.go:1:29: undefined: y\n"]'
}

# function-compare: actual [1,2,3], expected "[1,2,3]" unless changed.
fn_compare() {
	judge_fixture function-compare "$1"
	er '.testResults[0].verdict'
}

@test "function comparators: json (default), exact, trimmed" {
	assert_equal "$(fn_compare '.testCases[0].output = "[1, 2, 3.0]"')" '"accepted"'
	: > "$IN"
	assert_equal "$(fn_compare '.testCases[0].output = "[1,3,2]"')" '"wrong_answer"'
	: > "$IN"
	assert_equal "$(fn_compare '.compare = "exact" | .testCases[0].output = "[1, 2, 3]"')" '"wrong_answer"'
	: > "$IN"
	assert_equal "$(fn_compare '.compare = "exact"')" '"accepted"'
	: > "$IN"
	assert_equal "$(fn_compare '.compare = "trimmed" | .testCases[0].output = "[1,2,3]\n"')" '"accepted"'
}

@test "function comparators: unordered, tokens, float" {
	assert_equal "$(fn_compare '.compare = "unordered" | .testCases[0].output = "[3,1,2]"')" '"accepted"'
	: > "$IN"
	assert_equal "$(fn_compare '.compare = "unordered" | .testCases[0].output = "[3,1,1]"')" '"wrong_answer"'
	: > "$IN"
	assert_equal "$(fn_compare '.compare = "tokens"')" '"accepted"'
	: > "$IN"
	assert_equal "$(fn_compare '.compare = {"type":"float","epsilon":0.5} | .exec.runs[0].results = "{\"index\":0,\"actual\":2.25}" | .testCases[0].output = "2"')" '"accepted"'
}

@test "function comparator jq: \$actual and \$expected are the parsed values" {
	assert_equal "$(fn_compare '.compare = {"type":"jq","expr":"($actual|length) == ($expected|length)"} | .testCases[0].output = "[7,8,9]"')" '"accepted"'
	: > "$IN"
	judge_fixture function-compare '.compare = {"type":"jq","expr":"$actual[0] == 9"}'
	assert_equal "$(er '.testResults[0] | [.verdict, .output]')" '["wrong_answer","[1,2,3]"]'
}

@test "function: a jq expression that does not compile is an internal error with the reason" {
	judge_fixture function-compare '.compare = {"type":"jq","expr":"$actual =="}'
	assert_equal "$(er '.verdict')" '"internal_error"'
	assert_equal "$(er '.failedTestCase | [.index, .verdict]')" '[0,"internal_error"]'
	assert_output --partial 'internal error: jq expression does not compile'
}

@test "function: an unknown comparator is an internal error" {
	judge_fixture function-compare '.compare = "fuzzy"'
	assert_equal "$(er '[.verdict, .failedTestCase.output]')" \
		'["internal_error","internal error: unknown comparator \"fuzzy\""]'
}

@test "function: an expected output that is not JSON is an internal error of that testcase" {
	judge_fixture function-compare '.testCases[0].output = "not json"'
	assert_equal "$(er '.testResults[0] | [.verdict, .output]')" \
		'["internal_error","internal error: expected output is not JSON"]'
	assert_equal "$(er .verdict)" '"internal_error"'
}

@test "function: numbers and strings are compared exactly, not as doubles or C strings" {
	# The json comparator (the default): 2^64 + 1 is not 2^64, a string
	# with a NUL inside is not the string before it; 1.50 is 1.5.
	add function-submit-pass '.mode = "run" | .testCases = [
		{Id: "a", input: "[1]", output: "18446744073709551616"},
		{Id: "b", input: "[2]", output: "\"ab\""},
		{Id: "c", input: "[3]", output: "[1.5, 9007199254740993]"},
		{Id: "d", input: "[4]", output: "{\"k\": 123456789012345678901234567890}"}]
		| .exec.mode = "run"
		| .exec.runs[0].results = ([
			{index: 0, actual: "18446744073709551617"},
			{index: 1, actual: "\"ab\\u0000anything\""},
			{index: 2, actual: "[1.50,9007199254740993]"},
			{index: 3, actual: "{\"k\":1.23456789012345678901234567890e29}"}]
		  | map("{\"index\":\(.index),\"actual\":\(.actual)}") | join("\n"))'
	judge_in 0
	assert_equal "$(er '[.testResults[] | [.output, .verdict]]')" \
		'[["18446744073709551617","wrong_answer"],["\"ab\\u0000anything\"","wrong_answer"],["[1.50,9007199254740993]","accepted"],["{\"k\":1.23456789012345678901234567890e29}","accepted"]]'
}

@test "function: the harness's executionTimeMs is not believed" {
	add function-submit-pass '.exec.runs[0].results |= gsub("\"executionTimeMs\":[0-9.]+"; "\"executionTimeMs\":0")
		| .exec.runs[0].timeMs = 2500'
	judge_in 0
	assert_equal "$(er '.stats.executionTimeMs')" 2500
}

# --- native stdio jobs ---

@test "stdio run: one run per testcase, trimmed comparison by default" {
	judge_fixture stdio-run
	assert_equal "$(er '[.testResults[] | [.Id, .output, .passed, .executionTimeMs, .verdict]]')" \
		'[["tc-a","3\n",true,11,"accepted"],["tc-b","5 \r\n",true,17,"accepted"],["tc-c","7\n",false,12,"wrong_answer"]]'
	assert_equal "$(er .stats)" \
		'{"totalTestCase":3,"passedTestCase":2,"failedTestCase":1,"executionTimeMs":17,"memoryMB":6}'
	# the figures of the failing testcase's run
	assert_equal "$(er '[.verdict, .exitCode, .stderr, .timeMs, .memoryKb]')" \
		'["wrong_answer",0,"stderr of the third run\n",17,6144]'
}

# --- scored groups ---

@test "scored groups on a run: all or nothing, or in proportion; the platform's fields as without them" {
	judge_fixture stdio-run '.groups = [{name: "ab", points: 40, testCases: ["tc-a", "tc-b"]},
		{name: "bc", points: 60, testCases: ["tc-b", "tc-c"], scoring: "sum"},
		{name: "c", points: 10, testCases: ["tc-c"], scoring: "all"}]'
	assert_equal "$(er '[.score, .maxScore]')" '[70,110]'
	assert_equal "$(er '.groups | map([.name, .score, .maxScore, .scoring, .passedTestCase, .totalTestCase])')" \
		'[["ab",40,40,"all",2,2],["bc",30,60,"sum",1,2],["c",0,10,"all",0,1]]'
	assert_equal "$(er '[.testResults[].verdict]')" '["accepted","accepted","wrong_answer"]'
	assert_equal "$(er '[.verdict, .stats.passedTestCase]')" '["wrong_answer",2]'
	q .result | "$BATS_TEST_DIRNAME/../scripts/validate-schema" run-result
}

@test "scored groups on a submission: its first failure is failedTestCase, and the testcases after it score" {
	judge_fixture stdio-run '.submissionId = "sub-g" | .userId = "u" | del(.tempId) | .exec.mode = "submit"
		| .exec.runs[0].stdout = "4\n"
		| .groups = [{name: "all3", points: 90, testCases: ["tc-a", "tc-b", "tc-c"], scoring: "sum"}]'
	assert_equal "$(er '[.failedTestCase.index, .failedTestCase.verdict, .verdict]')" '[0,"wrong_answer","wrong_answer"]'
	assert_equal "$(er '[.stats.passedTestCase, .stats.failedTestCase, has("testResults")]')" '[1,2,false]'
	# A third of 90 points: tc-b (tc-c is a wrong answer too).
	assert_equal "$(er '[.score, .maxScore, .groups[0].passedTestCase]')" '[30,90,1]'
	q .result | "$BATS_TEST_DIRNAME/../scripts/validate-schema" submission-result
}

@test "scored groups and a compile error: nothing scores" {
	judge_fixture function-go-compile '.groups = [{name: "g", points: 5, testCases: [.testCases[0].Id]}]'
	assert_equal "$(er '[.verdict, .score, .maxScore, .groups[0].score]')" '["compilation_error",0,5,0]'
}

@test "scored groups the judge cannot read (a line made by hand): an internal error naming them" {
	judge_fixture stdio-run '.groups = [{name: "g", points: 5, testCases: ["nope"]}]'
	assert_equal "$(er '[.verdict, .failedTestCase.output]')" \
		'["internal_error","internal error: groups[0].testCases[0] is not the Id of exactly one testcase"]'
}

@test "stdio: each limit gives its verdict" {
	judge_fixture stdio-limits
	assert_equal "$(er '[.testResults[].verdict]')" \
		'["accepted","memory_limit_exceeded","output_limit_exceeded","runtime_error","runtime_error","output_limit_exceeded"]'
	assert_equal "$(er '.testResults[1].output, .testResults[3].output')" \
		$'"MemoryError\\n"\n"fork: Resource temporarily unavailable\\n"'
	assert_equal "$(er '[.verdict, .signal, .exitCode]')" '["memory_limit_exceeded","SIGKILL",null]'
}

@test "stdio submit stops at the first failure, even with fewer runs than testcases" {
	judge_fixture stdio-submit-short
	assert_equal "$(er .failedTestCase)" \
		'{"index":1,"input":"2\n","output":"TimeoutError: Execution took too long","expectedOutput":"2","verdict":"time_limit_exceeded"}'
	assert_equal "$(er '.stats | [.passedTestCase, .failedTestCase, has("stdout")]')" '[1,2,false]'
}

@test "stdio run: a testcase with no run takes the last run's verdict" {
	judge_fixture stdio-fewer-runs
	assert_equal "$(er '[.testResults[] | .verdict]')" '["accepted","time_limit_exceeded","time_limit_exceeded"]'
	assert_equal "$(er '.testResults[2].output')" '"not run"'
}

@test "stdio Go: a clean compile and run are accepted" {
	judge_fixture stdio-go-pass
	assert_equal "$(er '[.verdict, .compileOutput, .stats.passedTestCase]')" '["accepted","",1]'
}

# stdio-compare: stdout "3\n", expected "3" unless changed.
io_compare() {
	judge_fixture stdio-compare "$1"
	er '.testResults[0].verdict'
}

@test "stdio comparators: trimmed (default) and exact" {
	assert_equal "$(io_compare .)" '"accepted"'
	: > "$IN"
	assert_equal "$(io_compare '.exec.runs[0].stdout = "3\r\n\n\n"')" '"accepted"'
	: > "$IN"
	assert_equal "$(io_compare '.compare = "exact"')" '"wrong_answer"'
	: > "$IN"
	assert_equal "$(io_compare '.compare = "exact" | .testCases[0].output = "3\n"')" '"accepted"'
}

@test "stdio comparators: tokens and float" {
	assert_equal "$(io_compare '.compare = "tokens" | .exec.runs[0].stdout = "1  2\n3\n" | .testCases[0].output = "1 2 3"')" '"accepted"'
	: > "$IN"
	assert_equal "$(io_compare '.compare = "tokens" | .exec.runs[0].stdout = "12 3" | .testCases[0].output = "1 2 3"')" '"wrong_answer"'
	: > "$IN"
	assert_equal "$(io_compare '.compare = "float" | .exec.runs[0].stdout = "0.3333333\n" | .testCases[0].output = "0.333333333"')" '"accepted"'
	: > "$IN"
	assert_equal "$(io_compare '.compare = {"type":"float","epsilon":1e-9} | .exec.runs[0].stdout = "0.3333333\n" | .testCases[0].output = "0.333333333"')" '"wrong_answer"'
}

@test "stdio comparators: json and unordered parse stdout" {
	assert_equal "$(io_compare '.compare = "json" | .exec.runs[0].stdout = "{\"a\": [1, 2.0]}\n" | .testCases[0].output = "{\"a\":[1,2]}"')" '"accepted"'
	: > "$IN"
	assert_equal "$(io_compare '.compare = "json" | .exec.runs[0].stdout = "not json"')" '"wrong_answer"'
	: > "$IN"
	assert_equal "$(io_compare '.compare = "unordered" | .exec.runs[0].stdout = "[2,1,2]" | .testCases[0].output = "[2,2,1]"')" '"accepted"'
}

@test "stdio comparator jq: \$actual and \$expected are strings" {
	assert_equal "$(io_compare '.compare = {"type":"jq","expr":"($actual|ascii_downcase|rtrimstr(\"\\n\")) == $expected"} | .exec.runs[0].stdout = "YES\n" | .testCases[0].output = "yes"')" '"accepted"'
	: > "$IN"
	assert_equal "$(io_compare '.compare = {"type":"jq","expr":"$actual == $expected"}')" '"wrong_answer"'
}

@test "stdio: testcases left when the job's time or output budget ran out say so" {
	add stdio-submit-short '.submissionId = "t-budget" | .mode = "run" | .exec.mode = "run"
		| .exec.runs = [.exec.runs[0], (.exec.runs[1] | .limit = "wall")] | .exec.stopped = "time"'
	add stdio-submit-short '.submissionId = "o-budget" | .mode = "run" | .exec.mode = "run"
		| .exec.runs = [.exec.runs[0], (.exec.runs[1] | .limit = "output" | .signal = null | .exitCode = 0
			| .stdoutTruncated = true)] | .exec.stopped = "output"'
	judge_in 0
	assert_equal "$(sed -n 1p <<< "$output" | jq -c '[.result.executionResult.testResults[] | [.verdict, .output]]')" \
		'[["accepted","1\n"],["time_limit_exceeded","TimeoutError: Execution took too long"],["time_limit_exceeded","not run: the job'"'"'s time budget ran out"]]'
	assert_equal "$(sed -n 2p <<< "$output" | jq -c '[.result.executionResult.testResults[] | .verdict]')" \
		'["accepted","output_limit_exceeded","output_limit_exceeded"]'
}

@test "a job whose budget ran out in its compile step, before its run: time_limit_exceeded, nothing run" {
	add custom-go-compile '.tempId = "spent" | .exec.compile = (.exec.compile | .exitCode = 0 | .stderr = "")
		| .exec.runs = [] | .exec.stopped = "time"'
	add function-go-compile '.tempId = "spent-fn" | .exec.compile = (.exec.compile | .exitCode = 0 | .stderr = "")
		| .exec.runs = [] | .exec.stopped = "time"'
	judge_in 0
	assert_equal "$(sed -n 1p <<< "$output" | jq -c '.result | [.verdict, .stdOut]')" \
		'["time_limit_exceeded","TimeoutError: Execution took too long"]'
	assert_equal "$(sed -n 2p <<< "$output" | jq -c '.result.executionResult | [.verdict, .failedTestCase.output, .stats.passedTestCase]')" \
		'["time_limit_exceeded","TimeoutError: Execution took too long",0]'
}

@test "a result too large for a Kafka message has its texts cut and flagged, never its verdict" {
	# 40 testcases, each echoing 60 KB of input and printing 30000 control
	# bytes (180 KB printed): about 9.6 MB, well over the 900000 bytes a
	# result may take.
	jq -c '.tempId = "big" | .testCases = [range(40) | {Id: "t\(.)", input: ("i" * 60000), output: "x"}]
		| .exec.runs = [range(40) | {exitCode: 0, signal: null, timeMs: 1, wallMs: 1, memoryKb: 1, limit: null,
			stdout: ("\u0001" * 30000), stderr: ""}]' "$FIX/stdio-run.json" > "$IN"
	judge_in 0
	[ "$(q .result | wc -c)" -le 900000 ] || fail "result of $(q .result | wc -c) bytes"
	assert_equal "$(er '[.verdict, .stats.totalTestCase, .stats.failedTestCase, (.testResults | length)]')" \
		'["wrong_answer",40,40,40]'
	assert_equal "$(er '[.testResults[] | .outputTruncated and .inputTruncated and .verdict == "wrong_answer"] | all')" true
	assert_equal "$(er '.testResults[0].Id')" '"t0"'
}

@test "a run of more testcases than a message can list keeps its stats and verdict, and says the list is cut" {
	jq -c '.tempId = "many" | .testCases = [range(6000) | {Id: ("id-\(.)-" + "z" * 100), input: "1", output: "1"}]
		| .exec.runs = [range(6000) | {exitCode: 0, signal: null, timeMs: 1, wallMs: 1, memoryKb: 1, limit: null,
			stdout: "1", stderr: ""}]' "$FIX/stdio-run.json" > "$IN"
	judge_in 0
	[ "$(q .result | wc -c)" -le 900000 ] || fail "result of $(q .result | wc -c) bytes"
	assert_equal "$(er '[.verdict, .stats.totalTestCase, .stats.passedTestCase, .testResultsTruncated, (.testResults | length < 6000)]')" \
		'["accepted",6000,6000,true,true]'
}

# --- lines that are not jobs ---

@test "a line that is not JSON gives an error line, and the next job is still judged" {
	printf 'this is {not json\n' > "$IN"
	add custom-ok
	judge_in 0
	assert_equal "$(wc -l <<< "$output")" 2
	assert_equal "$(q .)" \
		'{"error":{"kind":"poison","code":"invalid-json","message":"the line is not a JSON object"},"line":"this is {not json"}'
	assert_equal "$(sed -n 2p <<< "$output" | jq -c '.result.verdict')" '"accepted"'
	assert_regex "$stderr" '"msg":"error line: invalid-json"'
}

@test "a JSON value that is not an object is invalid-json" {
	printf '[1,2]\n"job"\n' > "$IN"
	judge_in 0
	assert_equal "$(jq -c '.error.code' <<< "$output")" $'"invalid-json"\n"invalid-json"'
}

@test "a line with an error section is passed through byte for byte" {
	cp "$FIX/error-line.jsonl" "$IN"
	judge_in 0
	assert_output "$(cat "$FIX/error-line.jsonl")"
}

@test "an oversized line gives an error line carrying its head, then judging goes on" {
	{ head -c $((16 * 1024 * 1024 + 10)) /dev/zero | tr '\0' 'x'; echo; } > "$IN"
	add custom-ok
	judge_in 0
	assert_equal "$(wc -l <<< "$output")" 2
	assert_equal "$(q '[.error.kind, .error.code, (.line | length)]')" '["poison","oversized",4096]'
	assert_equal "$(sed -n 2p <<< "$output" | jq -c '.result.tempId')" '"cus-1"'
}

@test "a line without exec gets an invalid-job error and keeps its fields" {
	cp "$FIX/no-exec.jsonl" "$IN"
	judge_in 0
	assert_equal "$(q .error)" '{"kind":"poison","code":"invalid-job","message":"no exec section: judge reads what sandbox-exec writes (sandbox-exec < jobs | judge)"}'
	assert_equal "$(q '[.submissionId, has("result")]')" '["sub-x",false]'
}

@test "a malformed exec section is an invalid-job error naming the field" {
	add custom-ok '.exec.runs = 5'
	add custom-ok '.exec.shape = "weird"'
	add custom-ok '.exec.runs[0].exitCode = "0"'
	add custom-ok '.exec.runs[0].limit = "cpu"'
	add compat-crash 'del(.testCases)'
	add compat-crash '.exec.runs = []'
	add function-compare '.testCases[0].output = 5'
	add compat-crash '.exec.mode = "custom"'
	judge_in 0
	assert_equal "$(jq -r '.error.code' <<< "$output" | sort -u)" invalid-job
	assert_equal "$(jq -c '.error.message' <<< "$output")" "$(printf '%s\n' \
		'"exec.runs is not an array"' \
		'"unknown exec.shape \"weird\""' \
		'"exec.runs[0]: exitCode must be a number or null"' \
		'"exec.runs[0]: unknown limit \"cpu\""' \
		'"testCases is missing or not an array"' \
		'"exec.runs is empty"' \
		'"testCases[0] has no string \"output\""' \
		'"exec.shape \"compat\" does not go with mode \"custom\""')"
}

@test "blank lines are skipped" {
	printf '\n  \n' > "$IN"
	add custom-ok
	printf '\n' >> "$IN"
	judge_in 0
	assert_equal "$(wc -l <<< "$output")" 1
	assert_equal "$(q .result.verdict)" '"accepted"'
}

@test "a stream of JSON values: a pretty-printed line and two on one line give a line each" {
	jq . "$FIX/custom-ok.json" > "$IN"
	echo "$(jq -c . "$FIX/compat-submit-fail.json") $(jq -c . "$FIX/custom-ok.json")" >> "$IN"
	judge_in 0
	assert_equal "$(jq -c '.result.verdict // .result.executionResult.verdict' <<< "$output")" \
		$'"accepted"\n"wrong_answer"\n"accepted"'
}

@test "one log line per job on stderr, stdout carries JSON only" {
	add custom-ok
	add compat-submit-fail
	judge_in 0
	assert_equal "$(jq -c '.result.verdict // .result.executionResult.verdict' <<< "$output")" \
		$'"accepted"\n"wrong_answer"'
	assert_equal "$(jq -c 'select(.name == "judge") | [.msg, .tempId // .submissionId]' <<< "$stderr")" \
		$'["judged: accepted","cus-1"]\n["judged: wrong_answer","sub-2"]'
}

@test "a line whose strings hold \\u0000, or that is not UTF-8, is an invalid job" {
	add stdio-run '.testCases[0].output = "3\u0000 and more"'
	printf '{"tempId":"u8","language":"python","x":"\xff\xfe","exec":{}}\n' >> "$IN"
	judge_in 0
	assert_equal "$(sed -n 1p <<< "$output" | jq -c '[.tempId, .error.code, .error.message]')" \
		'["io-1","invalid-job","a string holds \\u0000 (NUL, byte 150), which no field may carry"]'
	assert_equal "$(sed -n 2p <<< "$output" | jq -c '[.tempId, .error.code, .error.message]')" \
		'["u8","invalid-job","the line is not valid UTF-8 (byte 40)"]'
}

# --- options ---

@test "--exit-status: 0 when every job was accepted" {
	add custom-ok
	add compat-submit-pass
	judge_in 0 --exit-status
	assert_equal "$(wc -l <<< "$output")" 2
}

@test "--exit-status: 1 when a job was not accepted" {
	add custom-ok
	add compat-submit-fail
	judge_in 1 --exit-status
	assert_equal "$(wc -l <<< "$output")" 2
}

@test "--exit-status: 2 when a line was an error line" {
	add compat-submit-fail
	printf 'garbage\n' >> "$IN"
	add custom-ok
	judge_in 2 --exit-status
	assert_equal "$(wc -l <<< "$output")" 3
}

@test "without --exit-status verdicts and error lines do not change the status" {
	add compat-submit-fail
	printf 'garbage\n' >> "$IN"
	judge_in 0
	assert_equal "$(wc -l <<< "$output")" 2
}

@test "--pretty prints a readable table per job" {
	add stdio-run
	add compat-submit-fail
	add custom-ok
	printf 'garbage\n' >> "$IN"
	judge_in 0 --pretty
	assert_line --index 0 'job io-1  language python  verdict wrong_answer  time 17 ms  memory 6.0 MB  passed 2/3'
	assert_line --regexp '^  #    Id +verdict +time ms +memory MB$'
	assert_line --regexp '^  0    tc-a +accepted +11.00 +5.00$'
	assert_line --regexp '^  2    tc-c +wrong_answer +12.00 +5.50$'
	assert_line '       output:   7'
	assert_line '       expected: 8'
	assert_line 'job sub-2  language javascript  verdict wrong_answer  time 50 ms  memory 29.3 MB  passed 1/3'
	assert_line --regexp '^  1    tc-b +wrong_answer$'
	assert_line 'job cus-1  language python  verdict accepted  time 15 ms  memory 6.0 MB'
	assert_line '       stdOut:   hello'
	assert_line 'error -  poison/invalid-json: the line is not a JSON object'
	assert_line --index -1 "4 jobs: 1 accepted, 2 wrong_answer, 1 error line; 82 ms of the programs' time in all"
	refute_output --partial '{"'
	refute_output --partial $'\e['	# not a terminal: no colour
}

@test "--pretty: a compat program's own figures are said to be its own; measured ones are not" {
	add compat-run-all
	add function-run-mixed
	judge_in 0 --pretty
	assert_equal "$(grep -c '^  #    Id .*memory MB  (as the program reports them)$' <<< "$output")" 1
	assert_equal "$(grep -c '^  #    Id .*memory MB$' <<< "$output")" 1
}

@test "--pretty: a long output is wrapped and indented, its first and last lines kept" {
	local err
	err=$(for i in $(seq 1 40); do echo "  File \"/sandbox/code/code.py\", line $i, in f$i"; done
		printf 'RecursionError: %0120d\n' 0)
	add custom-ok ".exec.runs[0].stdout = \"\" | .exec.runs[0].stdout = $(jq -Rs . <<< "$err")"
	judge_in 0 --pretty
	assert_line '       stdOut:'
	assert_line '           File "/sandbox/code/code.py", line 1, in f1'
	assert_line '           File "/sandbox/code/code.py", line 4, in f4'
	refute_output --partial 'line 5, in f5'
	assert_line '         ... 22 lines not shown ...'
	refute_output --partial 'line 26, in f26'
	assert_line '           File "/sandbox/code/code.py", line 27, in f27'
	# the last line, 136 columns, wrapped at 100
	assert_line "         RecursionError: $(printf '%084d' 0)"
	assert_line "         $(printf '%036d' 0)"
}

@test "--pretty: verdicts in colour on a terminal, never with NO_COLOR" {
	add stdio-run
	printf 'garbage\n' >> "$IN"
	run -0 script -qec "$JUDGE --pretty < $IN 2> /dev/null" /dev/null
	assert_output --partial $'verdict \e[31mwrong_answer\e[0m'
	assert_output --partial $'\e[32maccepted\e[0m'
	assert_output --partial $'\e[33merror\e[0m -'
	run -0 script -qec "NO_COLOR=1 $JUDGE --pretty < $IN 2> /dev/null" /dev/null
	refute_output --partial $'\e['
	assert_output --partial 'verdict wrong_answer'
}

@test "--pretty shows the controls of program output, ids and messages escaped" {
	# A forged header line, an OSC 52 clipboard write, a C1 CSI and a
	# right-to-left override, in the output, the testcase's Id and the job id.
	add stdio-run '.tempId = "io\u001b[2J" | .testCases[2].Id = "tc\u009b31m"
		| .exec.runs[2].stdout = "7\u001b]52;c;cm0gLXJmIH4=\u0007\r\njob io-1  verdict accepted\u202e"'
	jq -cn '{tempId: "e\u001b[31m", error: {kind: "poison", code: "x\u0007", message: "bad\u001b[0m"}}' >> "$IN"
	judge_in 0 --pretty
	refute_output --partial $'\e'
	refute_output --partial $'\a'
	refute_output --partial $'\u009b'
	refute_output --partial $'\u202e'
	assert_line --index 0 --partial 'job io\u{001B}[2J  language python'
	assert_line --regexp '^  2    tc\\u\{009B\}31m +wrong_answer '
	assert_line '       output:'
	assert_line '         7\u{001B}]52;c;cm0gLXJmIH4=\u{0007}\r'
	assert_line '         job io-1  verdict accepted\u{202E}'
	assert_line 'error e\u{001B}[31m  poison/x\u{0007}: bad\u{001B}[0m'
}

@test "--help and -h print the usage and exit 0" {
	local opt
	for opt in --help -h; do
		run -0 --separate-stderr "$JUDGE" "$opt"
		assert_line --index 0 'usage: judge [--pretty] [--exit-status] < executions.jsonl'
		assert_output --partial '--exit-status'
	done
}

@test "--version and -V print the version" {
	local opt
	for opt in --version -V; do
		run -0 --separate-stderr "$JUDGE" "$opt"
		assert_output --regexp '^judge [0-9]+\.[0-9]+\.[0-9]+$'
	done
}

@test "an unknown option is a usage error (100)" {
	run -100 --separate-stderr "$JUDGE" --frobnicate
	assert_output ''
	assert_regex "$stderr" '"level":60,.*"name":"judge","msg":"unknown option --frobnicate"'
}

@test "a usage error in LOG_FORMAT=text is one plain line after the usage" {
	LOG_FORMAT=text run -100 --separate-stderr "$JUDGE" --frobnicate
	assert_output ''
	assert_regex "$stderr" $'^usage: judge.*\n[0-9:]{8} judge  fatal: unknown option --frobnicate$'
}

@test "an argument is a usage error (100)" {
	run -100 --separate-stderr "$JUDGE" jobs.jsonl
	assert_output ''
	assert_regex "$stderr" '"level":60,.*"msg":"unexpected argument jobs.jsonl"'
}

@test "empty input: no output, exit 0" {
	judge_in 0 --exit-status
	assert_output ''
}
