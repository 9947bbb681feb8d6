#!/usr/bin/env bats
# What every program says about itself (lib/core/util.h): -h/--help and
# -V/--version on stdout with exit 0, and a command line it cannot take
# with its usage on stderr, then a fatal line naming what was wrong, in
# the configured log format, nothing on stdout and exit 100.

bats_require_minimum_version 1.5.0

setup() {
	load '/usr/lib/bats/bats-support/load'
	load '/usr/lib/bats/bats-assert/load'
	BIN="$BATS_TEST_DIRNAME/../bin"
	unset LOG_FORMAT LOG_LEVEL
}

PROGRAMS=(sandbox-exec judge kcat-jobs retryd pool-ctl codex-agent)

# bad_args PROGRAM: a command line with an option PROGRAM does not know.
bad_args() {
	case $1 in
	retryd) echo schedule --bogus ;;
	kcat-jobs) echo consume --bogus ;;
	*) echo --bogus ;;
	esac
}

@test "every program: -h and --help print its usage on stdout and exit 0" {
	local p flag
	for p in "${PROGRAMS[@]}"; do
		for flag in -h --help; do
			run -0 --separate-stderr timeout 10 "$BIN/$p" "$flag"
			assert_line --index 0 --regexp "^usage: $p"
			assert_equal "$stderr" ''
		done
	done
}

@test "every program: -V and --version print its name and version and exit 0" {
	local p flag
	for p in "${PROGRAMS[@]}"; do
		for flag in -V --version; do
			run -0 --separate-stderr timeout 10 "$BIN/$p" "$flag"
			assert_output --regexp "^$p [0-9]+\.[0-9]+\.[0-9]+$"
		done
	done
}

@test "every program: an unknown option exits 100 with the usage, then a fatal line naming it" {
	local p
	for p in "${PROGRAMS[@]}"; do
		# shellcheck disable=SC2046
		run -100 --separate-stderr timeout 10 "$BIN/$p" $(bad_args "$p") < /dev/null
		assert_equal "$output" ''
		[[ "$stderr" == "usage: $p"* ]] || fail "$p: no usage first: $stderr"
		[[ "$(tail -n 1 <<< "$stderr")" == *--bogus* ]] || fail "$p: the option is not named: $stderr"
	done
}

@test "the fatal line is pino's JSON by default and 'HH:MM:SS prog  fatal: ...' with LOG_FORMAT=text" {
	local p
	# codex-agent has no log of its own: its lines are always text.
	for p in sandbox-exec judge kcat-jobs retryd pool-ctl; do
		# shellcheck disable=SC2046
		run -100 --separate-stderr timeout 10 "$BIN/$p" $(bad_args "$p") < /dev/null
		run jq -c 'select(.level == 60) | {name, bogus: (.msg | contains("--bogus"))}' \
			<<< "$(tail -n 1 <<< "$stderr")"
		assert_output "{\"name\":\"$p\",\"bogus\":true}"
		# shellcheck disable=SC2046
		LOG_FORMAT=text run -100 --separate-stderr timeout 10 "$BIN/$p" $(bad_args "$p") < /dev/null
		assert_regex "$(tail -n 1 <<< "$stderr")" "^[0-9]{2}:[0-9]{2}:[0-9]{2} $p  fatal: .*--bogus"
	done
	run -100 --separate-stderr timeout 10 "$BIN/codex-agent" --bogus
	assert_equal "$(tail -n 1 <<< "$stderr")" 'codex-agent: fatal: unexpected argument --bogus'
}

@test "a missing command is named: kcat-jobs, pool-ctl" {
	run -100 --separate-stderr timeout 10 "$BIN/kcat-jobs" < /dev/null
	assert_regex "$stderr" 'no command \(consume, produce, pipeline or mock-cluster\)'
	run -100 --separate-stderr timeout 10 "$BIN/pool-ctl" < /dev/null
	assert_regex "$stderr" 'no command \(up, status, watch or down\)'
	run -100 --separate-stderr timeout 10 "$BIN/pool-ctl" frobnicate < /dev/null
	assert_regex "$stderr" 'unknown command frobnicate'
}

@test "every man page has the same footer: the project's name and version, and its month" {
	local version p
	version=$(sed -n 's/^VERSION *:= *//p' "$BATS_TEST_DIRNAME/../Makefile")
	for p in "${PROGRAMS[@]}" codex-service; do
		run -0 head -n 1 "$BATS_TEST_DIRNAME/../man/$p.1"
		assert_output --regexp "^\.TH ${p^^} 1 \"[0-9]{4}-[0-9]{2}\" \"codex-exec $version\" \"codex-exec Manual\"$"
	done
}

@test "every program's --help: what it does, then its environment and exit statuses" {
	local p
	for p in "${PROGRAMS[@]}"; do
		run -0 --separate-stderr timeout 10 "$BIN/$p" --help
		[ "${#lines[@]}" -ge 5 ] || fail "$p: a short help: $output"
		assert_line --regexp '^Exit status: 0'
		[ "$p" = codex-agent ] || assert_line --regexp '^Environment: '
	done
}

@test "scripts: --help prints the usage and exits 0; a bad argument exits 100 with the usage" {
	local s root=$BATS_TEST_DIRNAME/..
	for s in kafka-up kafka-down redis-up redis-down demo bench-pipeline bench-sandbox \
		bench-harness bench-telemetry soak fuzz vm build-images warm-go-cache; do
		run -0 --separate-stderr timeout 10 "$root/scripts/$s" --help
		assert_output --regexp '[Uu]sage: '
		run -100 --separate-stderr timeout 10 "$root/scripts/$s" --no-such-option < /dev/null
		[[ "$stderr" == *sage:* ]] || fail "$s: no usage on stderr: $stderr"
	done
}

@test "logs for a person: on a terminal, or with LOG_FORMAT=text, a short line with the time and the job's id" {
	local job='{"tempId":"0b281a8a-1111-2222-3333-444455556666","language":"python","userCode":"\"print(1)\"","exec":{"backend":"ns","shape":"custom","mode":"custom","language":"python","slot":0,"budgetMs":1,"compile":null,"runs":[{"exitCode":0,"signal":null,"timeMs":1,"wallMs":1,"memoryKb":1,"limit":null,"stdout":"1\n","stdoutTruncated":false,"stderr":"","stderrTruncated":false}]}}'
	# stderr a terminal (script(1) gives one): text
	run -0 script -qec "printf '%s\n' '$job' | $BIN/judge > /dev/null" /dev/null
	assert_output --regexp "^[0-9]{2}:[0-9]{2}:[0-9]{2} judge  0b281a8a  judged: accepted"
	# ... unless LOG_FORMAT=json
	run -0 script -qec "printf '%s\n' '$job' | LOG_FORMAT=json $BIN/judge > /dev/null" /dev/null
	assert_output --partial '"msg":"judged: accepted"'
	# not a terminal: JSON; LOG_FORMAT=text: text, with the id
	run -0 --separate-stderr "$BIN/judge" <<< "$job"
	assert_equal "$(jq -r .msg <<< "$stderr")" 'judged: accepted'
	LOG_FORMAT=text run -0 --separate-stderr "$BIN/judge" <<< "$job"
	assert_regex "$stderr" '^[0-9:]{8} judge  0b281a8a  judged: accepted$'
	# an id that is not a UUID is kept whole; a warning says its level
	LOG_FORMAT=text run -0 --separate-stderr "$BIN/judge" <<< '{"tempId":"my-first-job","language":"python"}'
	assert_regex "$stderr" '^[0-9:]{8} judge  my-first-job  warn: error line: invalid-job'
}

@test "warm-go-cache: what it did goes to stderr, nothing to stdout" {
	run -0 --separate-stderr timeout 300 "$BATS_TEST_DIRNAME/../scripts/warm-go-cache" "$BATS_TEST_TMPDIR/go-build"
	assert_output ''
	assert_regex "$stderr" "^warm-go-cache: .* in $BATS_TEST_TMPDIR/go-build$"
}
