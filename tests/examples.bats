#!/usr/bin/env bats
# The judging path end to end: every example job through
# `sandbox-exec | judge` gets the verdict examples/expected.tsv names, and a
# result in the platform's shape.
bats_require_minimum_version 1.5.0
load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'

setup_file() {
	cd "$BATS_TEST_DIRNAME/.."
	export RESULTS="$BATS_FILE_TMPDIR/results.jsonl"
	cat examples/*/*.json | timeout 600 bin/sandbox-exec -j 2 2>/dev/null |
		bin/judge 2>/dev/null > "$RESULTS"
}

# Prints "path<TAB>expected<TAB>got" for each example of a language.
verdicts_of() {
	local lang=$1 rel id want got
	while IFS=$'\t' read -r rel want; do
		case $rel in "$lang"/*) ;; *) continue ;; esac
		id=$(jq -r '.submissionId // .tempId' "$BATS_TEST_DIRNAME/../examples/$rel")
		got=$(jq -r --arg id "$id" 'select((.submissionId // .tempId) == $id)
			| .result.executionResult.verdict // .result.verdict // .error.code' "$RESULTS")
		printf '%s\t%s\t%s\n' "$rel" "$want" "$got"
	done < "$BATS_TEST_DIRNAME/../examples/expected.tsv"
}

# check_language LANGUAGE [LEAST]: each of its examples (LEAST of them at
# least, 17 by default) got its verdict.
check_language() {
	run -0 verdicts_of "$1"
	[ "${#lines[@]}" -ge "${2:-17}" ]
	local bad
	bad=$(printf '%s\n' "${lines[@]}" | awk -F'\t' '$2 != $3')
	assert_equal "$bad" ""
}

@test "every example gives exactly one result line" {
	run -0 jq -s 'length' "$RESULTS"
	assert_output "$(ls "$BATS_TEST_DIRNAME"/../examples/*/*.json | wc -l)"
	run -0 jq -e -s 'map(.error) | all(. == null)' "$RESULTS"
}

@test "python examples get their expected verdicts" {
	check_language python
}

@test "javascript examples get their expected verdicts" {
	check_language javascript
}

@test "go examples get their expected verdicts" {
	check_language go
}

@test "c, cpp, rust and java examples get their expected verdicts" {
	local lang
	for lang in c cpp rust java; do
		check_language "$lang" 3
	done
}

@test "a submission with scored groups: its first failure reported as without them, and the small group's points" {
	run -0 jq -c --arg id "$(jq -r .submissionId "$BATS_TEST_DIRNAME/../examples/cpp/stdio-scored.json")" '
		select(.submissionId == $id) | .result.executionResult
		| [.verdict, .failedTestCase.index, .stats.passedTestCase, .score, .maxScore,
		   (.groups | map([.name, .score]))]' "$RESULTS"
	assert_output '["wrong_answer",2,2,40,100,[["small",40],["large",0]]]'
}

@test "submit results have the platform's keys and stop at the first failure" {
	run -0 jq -e -s '
		map(select(.exec.mode == "submit" and .exec.shape != "custom") | .result) | length > 0 and
		all(has("submissionId") and has("userId") and (.executionResult.stats |
			has("totalTestCase") and has("passedTestCase") and has("failedTestCase"))) and
		all(.executionResult.testResults == null) and
		all((.executionResult.verdict == "accepted") == (.executionResult.failedTestCase == null))' "$RESULTS"
}

@test "run results list every testcase, custom results carry stdOut" {
	run -0 jq -e -s '
		map(select(.exec.mode == "run" and .result.executionResult.verdict == "accepted") | .result)
		| length > 0 and
		all((.executionResult.testResults | length) == .executionResult.stats.totalTestCase)' "$RESULTS"
	run -0 jq -e -s '
		map(select(.exec.shape == "custom" and .result.verdict == "accepted") | .result)
		| length == $n and all(has("tempId") and .stdOut == "hello\n")' \
		--argjson n "$(ls "$BATS_TEST_DIRNAME"/../examples/*/custom-accepted.json | wc -l)" "$RESULTS"
}
