#!/usr/bin/env bats
# scripts/demo: its check of every example's verdict (scripts/lib/demo-check),
# its summary and exit status, and the offline demo end to end.
bats_require_minimum_version 1.5.0

setup() {
	load '/usr/lib/bats/bats-support/load'
	load '/usr/lib/bats/bats-assert/load'
	ROOT=$(cd "$BATS_TEST_DIRNAME/.." && pwd)
	CHECK=$ROOT/scripts/lib/demo-check
	# The platform's result message each example expects, in the order of
	# expected.tsv: {submissionId, executionResult} or {tempId, verdict}.
	RESULTS=$BATS_TEST_TMPDIR/results.jsonl
	while IFS="$(printf '\t')" read -r path verdict; do
		jq -c --arg v "$verdict" 'if .submissionId then {submissionId, executionResult: {verdict: $v}}
			else {tempId, verdict: $v} end' "$ROOT/examples/$path"
	done < "$ROOT/examples/expected.tsv" > "$RESULTS"
	TOTAL=$(wc -l < "$ROOT/examples/expected.tsv")
}

@test "demo-check: every example as expected: a row each, the summary, exit 0" {
	run -0 "$CHECK" "$ROOT/examples" < "$RESULTS"
	assert_line --index 0 --regexp '^example +expected +got$'
	assert_line --regexp '^python/compat-accepted +accepted +accepted +ok$'
	assert_line --index -1 "$TOTAL/$TOTAL as expected"
	assert_equal "${#lines[@]}" $((TOTAL + 2))
}

@test "demo-check: a verdict that differs, a result missing, a second result: named, exit 1" {
	{
		sed -n '1s/"accepted"/"wrong_answer"/p' "$RESULTS"
		sed -n '3,$p' "$RESULTS"
		sed -n '3p' "$RESULTS"
	} > "$BATS_TEST_TMPDIR/bad.jsonl"
	run -1 "$CHECK" "$ROOT/examples" < "$BATS_TEST_TMPDIR/bad.jsonl"
	assert_line --regexp '^python/compat-accepted +accepted +wrong_answer +DIFFERS$'
	assert_line --regexp '^python/compat-wrong-answer +wrong_answer +\(no result\) +MISSING$'
	assert_line --regexp '^\(a second result: [0-9a-f-]+\) +runtime_error +DIFFERS$'
	assert_line --index -1 "$((TOTAL - 2))/$TOTAL as expected, and 1 result more"
}

@test "demo-check: judge's own output lines are read too; bad usage exits 100" {
	jq -c '{result: .}' "$RESULTS" > "$BATS_TEST_TMPDIR/judged.jsonl"
	run -0 "$CHECK" "$ROOT/examples" < "$BATS_TEST_TMPDIR/judged.jsonl"
	assert_line --index -1 "$TOTAL/$TOTAL as expected"
	run -100 --separate-stderr "$CHECK" /nonexistent < /dev/null
	run -0 "$CHECK" --help
	assert_output --partial 'usage: scripts/lib/demo-check'
}

@test "demo --offline: every example through sandbox-exec | judge, as expected, exit 0" {
	# sandbox-exec as an instance of the test's own: its state dir and uids
	sed -e "s|^state_dir = .*|state_dir = $BATS_TEST_TMPDIR/state|" -e "s|^uid_base = .*|uid_base = 92000|" \
		"$ROOT/etc/languages.conf" > "$BATS_TEST_TMPDIR/languages.conf"
	CODEX_LANGUAGES=$BATS_TEST_TMPDIR/languages.conf CODEX_SHARE=$ROOT/share/harness \
		run -0 --separate-stderr timeout 600 "$ROOT/scripts/demo" --offline
	assert_line --index -1 "$TOTAL/$TOTAL as expected"
	refute_output --partial 'DIFFERS'
	[[ "$stderr" == *"demo: installing what is missing and building (log: "* ]] ||
		fail "no progress line: $stderr"
	# quiet: progress lines only, no log line of the programs
	run grep -vc '^demo: ' <<< "$stderr"
	assert_output 0
}
