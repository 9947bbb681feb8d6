# Shared helpers of the bats suites: `load helpers` from tests/*.bats.
#
# sandbox-exec always runs through sbx_run (under `timeout 120`, exit status
# checked, stderr kept apart); its output lines stay in $SBX_OUT, where
# line_of / assert_job find a job's line by its id (submissionId or tempId),
# whatever the completion order was.

load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SBX=$ROOT/bin/sandbox-exec
# The language table: the project's, or CODEX_TEST_TABLE (scripts/run-tests
# gives the cgroup v2 guest one with its times scaled for emulation).
TABLE=${CODEX_TEST_TABLE:-$ROOT/etc/languages.conf}
EXAMPLES=$ROOT/examples
FIXTURES=$ROOT/tests/fixtures/sandbox-exec
HOSTILE=$ROOT/tests/fixtures/hostile
SBX_TIMEOUT=120
# The backend under test: the judging suites run once per backend
# (scripts/run-tests sets SANDBOX_BACKEND=docker for the second round).
BACKEND=${SANDBOX_BACKEND:-ns}

# The platform's settings in the caller's environment would change the
# defaults under test.
unset EXECUTION_TIMEOUT MAX_OUTPUT_LENGTH CONTAINER_POOL_SIZE CODEX_LANGUAGES CODEX_SHARE \
	CODEX_INSTANCE CODEX_UID_BASE
# How many times slower than here the machine's clocks run: a test that
# sets a job's own time limits multiplies them (scripts/run-tests gives the
# emulated guest 4, the factor of its table's limits).
CLOCK_SCALE=${CODEX_TEST_SCALE:-1}
if [ -n "${CODEX_TEST_TABLE:-}" ]; then
	export CODEX_LANGUAGES=$TABLE CODEX_SHARE=$ROOT/share/harness
	SBX_TIMEOUT=600
fi

# table_value KEY: KEY's value in the [box] section of the language table.
table_value() {
	awk -v key="$1" '/^\[/ { box = ($0 == "[box]") }
		box && $1 == key && $2 == "=" { sub(/^[^=]*= */, ""); print; exit }' "$TABLE"
}

# table_languages: the table's languages, one a line, in its order.
table_languages() {
	awk '/^\[/ && $0 != "[box]" { gsub(/[][]/, ""); print }' "$TABLE"
}

# table_env_names LANGUAGE: the variable names the table gives every box
# ([box] env) and LANGUAGE's boxes (its own env), one a line.
table_env_names() {
	awk -v lang="[$1]" '/^\[/ { sec = $0 }
		(sec == "[box]" || sec == lang) && $1 == "env" && $2 == "=" {
			for (i = 3; i <= NF; i++) { split($i, kv, "="); print kv[1] } }' "$TABLE"
}

# table_copy SED_SCRIPT: uses a copy of the language table edited by
# SED_SCRIPT (through CODEX_LANGUAGES; CODEX_SHARE too, since the function
# harness is no longer found next to the table).
table_copy() {
	sed -e "$1" "$TABLE" > "$BATS_TEST_TMPDIR/languages.conf"
	export CODEX_LANGUAGES=$BATS_TEST_TMPDIR/languages.conf
	export CODEX_SHARE=$ROOT/share/harness
}

# custom_job ID LANGUAGE PROGRAM_FILE [LIMITS_JSON]: a custom job line, its
# userCode the JSON-encoded program text as the platform sends it.
custom_job() {
	jq -cn --arg id "$1" --arg lang "$2" --rawfile code "$3" --argjson limits "${4:-null}" \
		'{tempId: $id, language: $lang, userCode: ($code | tojson)}
		 + if $limits then {limits: $limits} else {} end'
}

# stdio_job [--submit] ID LANGUAGE PROGRAM_FILE INPUT...: a stdio job with
# one testcase per INPUT (a run job, or a submission with --submit).
stdio_job() {
	local key=tempId
	if [ "$1" = --submit ]; then
		key=submissionId
		shift
	fi
	local id=$1 lang=$2 program=$3
	shift 3
	jq -cn --arg key "$key" --arg id "$id" --arg lang "$lang" --rawfile code "$program" \
		'{($key): $id, language: $lang, userCode: $code, testCases:
		  [$ARGS.positional | to_entries[] | {Id: "t\(.key)", input: .value, output: ""}]}' \
		--args "$@"
}

# sbx_run [OPTION... --] FILE...: runs sandbox-exec with OPTIONs on the job
# lines of FILEs and expects exit 0; $output/$stderr/$lines as after `run`,
# and the output lines in $SBX_OUT.
sbx_run() {
	local opts=() f
	if [[ " $* " == *" -- "* ]]; then
		while [ "$1" != -- ]; do
			opts+=("$1")
			shift
		done
		shift
	fi
	SBX_IN=$BATS_TEST_TMPDIR/input.jsonl
	SBX_OUT=$BATS_TEST_TMPDIR/output.jsonl
	for f in "$@"; do
		cat "$f"
		[ -z "$(tail -c 1 "$f")" ] || echo
	done > "$SBX_IN"
	run -0 --separate-stderr timeout "$SBX_TIMEOUT" "$SBX" "${opts[@]}" < "$SBX_IN"
	printf '%s\n' "$output" > "$SBX_OUT"
}

# sbx_run_text LINE...: sbx_run on the given lines.
sbx_run_text() {
	printf '%s\n' "$@" > "$BATS_TEST_TMPDIR/lines.jsonl"
	sbx_run "$BATS_TEST_TMPDIR/lines.jsonl"
}

# sbx_peak_rss FILE: sbx_run on FILE that also sets PEAK_RSS_KB, the peak
# resident set of sandbox-exec: from time(1) (which counts the largest of its
# descendants too), or where time(1) is missing (or SBX_NO_TIME is set) the
# VmHWM of the sandbox-exec process, sampled while it runs.
sbx_peak_rss() {
	SBX_OUT=$BATS_TEST_TMPDIR/output.jsonl
	if [ -x /usr/bin/time ] && [ -z "${SBX_NO_TIME:-}" ]; then
		run -0 --separate-stderr timeout "$SBX_TIMEOUT" \
			/usr/bin/time -f %M -o "$BATS_TEST_TMPDIR/rss" "$SBX" < "$1"
		printf '%s\n' "$output" > "$SBX_OUT"
		PEAK_RSS_KB=$(tail -n 1 "$BATS_TEST_TMPDIR/rss")
		return
	fi
	"$SBX" < "$1" > "$SBX_OUT" 2> /dev/null 3>&- &
	local pid=$! hwm status=0 deadline=$((SECONDS + SBX_TIMEOUT))
	PEAK_RSS_KB=0
	while kill -0 "$pid" 2> /dev/null && [ "$SECONDS" -lt "$deadline" ]; do
		hwm=$(awk '$1 == "VmHWM:" { print $2 }' "/proc/$pid/status" 2> /dev/null)
		[ "${hwm:-0}" -le "$PEAK_RSS_KB" ] || PEAK_RSS_KB=$hwm
		sleep 0.01
	done
	kill "$pid" 2> /dev/null || true
	wait "$pid" || status=$?
	assert_equal "$status" 0
}

# line_of ID[/LANGUAGE]: the one output line of the job ID (in LANGUAGE).
line_of() {
	local id=${1%%/*} lang='' found
	[[ "$1" != */* ]] || lang=${1#*/}
	found=$(jq -c --arg id "$id" --arg lang "$lang" \
		'select((.submissionId // .tempId) == $id and ($lang == "" or .language == $lang))' \
		"$SBX_OUT") || return 1
	if [ -z "$found" ] || [ "$(wc -l <<< "$found")" -ne 1 ]; then
		echo "expected one output line for job $1, found $(grep -c . <<< "$found")" >&2
		return 1
	fi
	printf '%s\n' "$found"
}

# job_field ID[/LANGUAGE] FILTER: FILTER (jq, raw output) of the job's line.
job_field() {
	local line
	line=$(line_of "$1") || return 1
	jq -r "$2" <<< "$line"
}

# short: a job line with its long strings cut, for failure messages.
short() {
	jq -c 'walk(if type == "string" and length > 300 then .[0:300] + "..." else . end)'
}

# assert_job ID[/LANGUAGE] PREDICATE: the jq PREDICATE holds on the job's line.
assert_job() {
	local line
	line=$(line_of "$1") || fail "no single output line for job $1 in: $(short < "$SBX_OUT")"
	if ! jq -e "$2" <<< "$line" > /dev/null; then
		batslib_print_kv_single_or_multi 9 job "$1" predicate "$2" line "$(short <<< "$line")" |
			batslib_decorate 'job line does not match' | fail
	fi
}

# assert_stderr_has TEXT: $stderr (after `run --separate-stderr`) has TEXT.
assert_stderr_has() {
	[[ "$stderr" == *"$1"* ]] ||
		batslib_print_kv_single_or_multi 8 expected "$1" stderr "$stderr" |
		batslib_decorate 'stderr does not contain the text' | fail
}

# assert_no_host_lines FILE: no line of the host's FILE appears in $output.
assert_no_host_lines() {
	local l
	while IFS= read -r l; do
		[ -z "$l" ] || [[ "$output" != *"$l"* ]] || fail "a line of the host's $1 leaked: $l"
	done < "$1"
}

# assert_no_box_process: for every sandbox slot, once its lock is free (no
# box runs there, whoever runs sandbox-exec), no process of the slot's uid
# is left on the host and every cgroup of the slot is empty.
assert_no_box_process() {
	if [ "$BACKEND" = docker ]; then
		assert_no_container_leftover
		return
	fi
	local base slots k fd uid left procs
	base=$(table_value uid_base)
	slots=$(table_value slots)
	for ((k = 0; k < slots; k++)); do
		[ -e "$(table_value state_dir)/slots/$k.lock" ] || continue
		exec {fd}< "$(table_value state_dir)/slots/$k.lock"
		flock -w 15 "$fd" || fail "slot $k stayed locked for 15 s"
		uid=$((base + k))
		left=$(ps -eo uid=,pid=,args= | awk -v uid="$uid" '$1 == uid')
		procs=$(find /sys/fs/cgroup -maxdepth 6 -path "*/codex-sandbox/slot-$k/cgroup.procs" \
			-exec cat {} + 2> /dev/null)
		exec {fd}<&-
		[ -z "$left" ] || fail "slot $k: processes of uid $uid left on the host: $left"
		[ -z "$procs" ] || fail "slot $k: processes left in its cgroups: $procs"
	done
}

# host_processes: the number of processes on the host.
host_processes() {
	ps -e --no-headers | wc -l
}

# assert_no_container_leftover: for every slot of the docker pool, once its
# lock is free, its container runs nothing but its init and codex-agent.
assert_no_container_leftover() {
	local state fd id procs
	for state in "$(table_value state_dir)"/docker-*/slots/*.json; do
		[ -e "$state" ] || continue
		exec {fd}< "${state%.json}.lock"
		flock -w 15 "$fd" || fail "$state: the slot stayed locked for 15 s"
		id=$(jq -r .id "$state")
		procs=$(find /sys/fs/cgroup/pids /sys/fs/cgroup -maxdepth 4 -path "*$id*/cgroup.procs" \
			-exec cat {} + 2> /dev/null | sort -u | wc -l)
		exec {fd}<&-
		[ -z "$id" ] || [ "$procs" -le 2 ] || fail "$state: $procs processes in container $id"
	done
}

# slot_lock_path LANGUAGE K: the lock file of slot K for LANGUAGE's jobs.
slot_lock_path() {
	if [ "$BACKEND" = docker ]; then
		echo "$(table_value state_dir)/docker-$1/slots/$2.lock"
	else
		echo "$(table_value state_dir)/slots/$2.lock"
	fi
}
