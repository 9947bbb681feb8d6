#!/usr/bin/env bats
# Hostile programs against sandbox-exec(1): one test per behaviour of
# tests/fixtures/hostile/README.md, each running the python, javascript and
# go fixture in one sandbox-exec invocation. These fixtures only ever run
# through bin/sandbox-exec.
bats_require_minimum_version 1.5.0
load helpers

# hostile NAME [OPTION...]: runs NAME's python, javascript and go fixtures
# in one sandbox-exec with OPTIONs (default: -j 2).
hostile() {
	local name=$1
	shift
	local opts=("$@")
	[ ${#opts[@]} -gt 0 ] || opts=(-j 2)
	sbx_run "${opts[@]}" -- \
		"$HOSTILE/python/$name.json" "$HOSTILE/javascript/$name.json" "$HOSTILE/go/$name.json"
}

# assert_runs NAME PREDICATE: the jq PREDICATE holds on the run of NAME's
# fixture in python, javascript and go (.exec.runs[0], executed, no error).
assert_runs() {
	assert_job "hostile-$1/python" ".error == null and (.exec.runs[0] | $2)"
	assert_job "hostile-$1/javascript" ".error == null and (.exec.runs[0] | $2)"
	assert_job "hostile-$1/go" ".error == null and (.exec.runs[0] | $2)"
}

# The language table's defaults: the limits every fixture runs under.
TIME_MS=$(table_value time_ms)
WALL_MS=$(table_value wall_ms)
MEMORY_KB=$(($(table_value memory_mb) * 1024))
OUTPUT_BYTES=$(table_value output_bytes)
FILE_BYTES=$(table_value file_bytes)

# Whatever a hostile program did, once its slot is free no process of the
# box is left on the host.
teardown() {
	assert_no_box_process
}

@test "infinite-loop: killed by SIGKILL at the CPU time limit" {
	hostile infinite-loop
	assert_runs infinite-loop '.limit == "time" and .signal == "SIGKILL" and .exitCode == null'
	assert_runs infinite-loop ".timeMs >= $TIME_MS and .timeMs < $TIME_MS + 1500"
}

@test "sleep-forever: killed at the wall limit, having used almost no CPU" {
	hostile sleep-forever -j 3	# asleep, not on a CPU: all three at once
	assert_runs sleep-forever '.limit == "wall" and .signal == "SIGKILL" and .stdout == "sleeping\n"'
	# Almost no CPU: what starting the runtime costs, under a tenth of the
	# wall limit (a slow or emulated machine has its limits scaled).
	assert_runs sleep-forever ".wallMs >= $WALL_MS and .wallMs < $WALL_MS + 2000 and .timeMs < $WALL_MS / 10"
}

@test "memory-bomb: killed at the memory limit, its peak within the limit" {
	hostile memory-bomb
	assert_runs memory-bomb '.limit == "memory" and .exitCode != 0'
	# + 4: cgroup v1 memory.max_usage_in_bytes was seen one page over limit_in_bytes
	assert_runs memory-bomb ".memoryKb <= $MEMORY_KB + 4"
}

@test "fork-bomb: ends with a limit or an error within the wall limit; the host is unaffected" {
	local before
	before=$(host_processes)
	hostile fork-bomb
	assert_runs fork-bomb '.limit != null or .exitCode != 0'
	assert_runs fork-bomb ".wallMs < $WALL_MS + 2000"
	assert_no_box_process
	assert [ "$(host_processes)" -le $((before + 20)) ]
}

@test "thread-bomb: stopped well before 100000 threads; the host is unaffected" {
	local before
	before=$(host_processes)
	hostile thread-bomb
	assert_runs thread-bomb '.limit != null or .exitCode != 0'
	assert_runs thread-bomb '.stdout | test("started [0-9]+ (threads|workers)") | not'
	assert_job hostile-thread-bomb/python '.exec.runs[0] | .exitCode == 3
		and (.stdout | test("thread creation failed after [0-9]+ threads"))'
	assert_job hostile-thread-bomb/go '.exec.runs[0].stderr | contains("runtime: failed to create new OS thread")'
	assert_no_box_process
	assert [ "$(host_processes)" -le $((before + 20)) ]
}

@test "output-flood: killed at the output limit, each stream cut at outputBytes" {
	hostile output-flood
	assert_runs output-flood '.limit == "output" and .signal == "SIGKILL"'
	assert_runs output-flood ".stdoutTruncated and (.stdout | utf8bytelength) == $OUTPUT_BYTES"
	# stderr reached the cap too, but the box may die before it writes past it
	assert_runs output-flood "(.stderr | utf8bytelength) == $OUTPUT_BYTES"
	assert_runs output-flood ".wallMs < $WALL_MS / 2"
}

@test "output-flood, javascript, twelve times: always the output limit, never the memory limit" {
	# Node.js queues in its heap what a full pipe refuses; with 64 KiB pipes
	# this ended at the memory limit in about one run of seven.
	local i
	for i in $(seq 1 12); do
		jq -c --arg id "flood-$i" '.tempId = $id' "$HOSTILE/javascript/output-flood.json"
	done > "$BATS_TEST_TMPDIR/floods.jsonl"
	sbx_run -j 2 -- "$BATS_TEST_TMPDIR/floods.jsonl"
	for i in $(seq 1 12); do
		assert_job "flood-$i" '.error == null and (.exec.runs[0] | .limit == "output" and .stdoutTruncated)'
	done
}

@test "disk-fill: writes stop at the file size limit or the work dir size; the host disk is unaffected" {
	local before after
	before=$(df -k --output=used / | tail -n 1)
	hostile disk-fill
	after=$(df -k --output=used / | tail -n 1)
	assert_runs disk-fill ".limit == \"file\" or .exitCode != 0 or (.stdout
		| [scan(\"stopped after ([0-9]+) bytes\")[0] | tonumber] | length == 2 and all(. <= $FILE_BYTES))"
	assert_runs disk-fill '.stdout | contains("no limit hit") | not'
	assert [ $((after - before)) -lt $((100 * 1024)) ]
}

@test "network-connect: every connection fails, the program prints BLOCKED" {
	hostile network-connect
	assert_runs network-connect '.exitCode == 0 and (.stdout | endswith("BLOCKED\n"))'
	assert_runs network-connect '.stdout | (contains("CONNECTED") or test(": ok$"; "m")) | not'
}

@test "write-outside: every path outside the work dirs is denied; nothing lands on the host" {
	hostile write-outside
	assert_runs write-outside '.exitCode == 0 and (.stdout | contains("WROTE") | not)'
	assert_runs write-outside '[.stdout | scan("(?m)^DENIED (\\S+?):")[0]]
		== ["/etc/pwned", "/usr/pwned", "/pwned", "/tmp/../pwned", "/sandbox/pwned"]'
	assert [ ! -e /etc/pwned ]
	assert [ ! -e /usr/pwned ]
	assert [ ! -e /pwned ]
}

@test "read-host: no /etc/shadow, no /root, no host process or environment; a non-root uid" {
	SECRET_TEST_VAR=of-the-caller hostile read-host
	assert_runs read-host '.exitCode == 0'
	assert_runs read-host '.stdout | test("^READ (/etc/shadow|/etc/gshadow|/root|/proc/1/environ)"; "m") | not'
	if [ "$BACKEND" = ns ]; then
		assert_runs read-host '.stdout | test("^uid=6100[0-9] gid=6100[0-9]"; "m")'
	else
		# A uid per docker slot: uid_base + 100000 + language * 1024 + slot.
		assert_runs read-host '.stdout | test("^uid=16[0-9]{4} gid=16[0-9]{4}"; "m")'
	fi
	assert_runs read-host '.stdout | contains("/var/run/docker.sock: absent") or contains("/var/run/docker.sock: no such file")'
	run -0 cat "$SBX_OUT"
	refute_output --partial SECRET_TEST_VAR
	refute_output --partial of-the-caller
	assert_no_host_lines /etc/shadow
	refute_output --partial "READ /proc/1/cmdline: $(tr '\0' ' ' < /proc/1/cmdline | sed 's/ $//')"
}

@test "read-host: mountinfo lists only the box's own mounts" {
	hostile read-host
	if [ "$BACKEND" = docker ]; then
		# Docker's own set: the image, /proc, /dev, /sys and the work dirs
		assert_runs read-host '[.stdout | scan("(?m)^[0-9]+ [0-9]+ [0-9]+:[0-9]+ \\S+ (\\S+) ")[0]]
			| length > 0 and all(test("^/$|^/(proc|dev|sys)(/|$)|^/(tmp|sandbox/(code|bin|results))$|^/etc/(hostname|hosts|resolv\\.conf)$"))'
		return
	fi
	# the table's host paths, the device nodes, /proc and Go's cache overlay
	local allowed mount_point='(?m)^[0-9]+ [0-9]+ [0-9]+:[0-9]+ \\S+ (\\S+) '
	allowed=$(printf '%s\n' / $(table_value mounts) /dev/{null,zero,full,random,urandom} /proc \
		/sandbox/.gocache | jq -R . | jq -sc .)
	assert_runs read-host "[.stdout | scan(\"$mount_point\")[0]] | length > 0 and . - $allowed == []"
}

@test "background: a daemon does not hold the job, dies with the box, leaves nothing to the next job" {
	custom_job peek-after-python python "$FIXTURES/peek-leftovers.py" > "$BATS_TEST_TMPDIR/peek1"
	custom_job peek-after-javascript python "$FIXTURES/peek-leftovers.py" > "$BATS_TEST_TMPDIR/peek2"
	custom_job peek-after-go python "$FIXTURES/peek-leftovers.py" > "$BATS_TEST_TMPDIR/peek3"
	# one slot, one job at a time: each peek runs in the daemon's slot right after it
	sbx_run -j 1 --slots 1 -- \
		"$HOSTILE/python/background.json" "$BATS_TEST_TMPDIR/peek1" \
		"$HOSTILE/javascript/background.json" "$BATS_TEST_TMPDIR/peek2" \
		"$HOSTILE/go/background.json" "$BATS_TEST_TMPDIR/peek3"
	assert_runs background '.exitCode == 0 and (.stdout | test("^spawned a daemon"))'
	# At once: well under the wall limit (a third of it, 2 s as shipped).
	assert_runs background ".wallMs < $WALL_MS / 3"
	assert_job peek-after-python '.exec.slot == 0 and .exec.runs[0].stdout ==
		"CLEAN /tmp/leftover\nCLEAN /sandbox/code/leftover-marker\n/sandbox/code: code.py\n/tmp: \n"'
	assert_job peek-after-javascript '.exec.runs[0].stdout | contains("LEFTOVER") | not'
	assert_job peek-after-go '.exec.runs[0].stdout | contains("LEFTOVER") | not'
	assert_no_box_process
	assert [ ! -e /tmp/leftover ]
}

@test "next-testcase: a testcase finds nothing of the one before it, whose run overlapped its box's making" {
	# In an ns box each testcase's box (namespaces, group, init, the held
	# program) is made while the testcase before it runs; it must meet no
	# shared memory, socket, process or pipe of that run, and a kill(-1)
	# there must not reach it. The docker backend runs a job's steps in one
	# container: no process or socket of a testcase reaches the next.
	stdio_job next python "$FIXTURES/next-testcase.py" 1 2 3 4 > "$BATS_TEST_TMPDIR/job"
	sbx_run -j 1 --slots 1 -- "$BATS_TEST_TMPDIR/job"
	assert_job next '.error == null and (.exec.runs | length) == 4'
	assert_job next '[.exec.runs[] | .exitCode == 0 and .limit == null] | all'
	if [ "$BACKEND" = docker ]; then
		# One container per job: the agent is pid 1 beside the program, and
		# SysV shared memory, like the files, lasts from one testcase to the
		# next of the same job (the agent wipes them between jobs).
		assert_job next '[.exec.runs[].stdout | sub("shm (fresh|errno 17) "; "shm ")
			| sub(" host [0-9a-f]+\n$"; "")] == [range(1; 5) | "input \(.) shm socket fresh pids 2"]'
	else
		assert_job next '[.exec.runs[].stdout] == [range(1; 5) |
			"input \(.) shm fresh socket fresh pids 1 host sandbox\n"]'
	fi
	# Each run read its stdin to the end at once: none waited on a pipe
	# that another process kept open.
	assert_job next "[.exec.runs[].wallMs < $WALL_MS / 3] | all"
}

@test "next-job: a job finds nothing of the job before it in its slot, though its box was made before it came" {
	# In an ns box a job's first step starts in a box made (warm) as soon
	# as the job before let the slot go, before the job came: it must meet
	# no shared memory, socket or process of that job.
	# An instance of its own: no other process's wish for a slot keeps the
	# worker ahead from taking one (sandbox-exec(1), "Warm boxes").
	table_copy "s|^state_dir = .*|state_dir = $BATS_TEST_TMPDIR/state|; s|^uid_base = .*|uid_base = 91000|"
	local i
	for i in 1 2 3 4; do stdio_job "next-$i" python "$FIXTURES/next-testcase.py" "$i"; done \
		> "$BATS_TEST_TMPDIR/jobs"
	LOG_LEVEL=debug sbx_run -j 1 --slots 1 -- "$BATS_TEST_TMPDIR/jobs"
	for i in 1 2 3 4; do
		assert_job "next-$i" '.error == null and .exec.runs[0].exitCode == 0 and .exec.runs[0].limit == null'
		if [ "$BACKEND" = docker ]; then
			# The agent wipes a container between jobs.
			assert_job "next-$i" ".exec.runs[0].stdout | test(\"^input $i shm fresh socket fresh pids 2 host [0-9a-f]+\n\$\")"
		else
			assert_job "next-$i" ".exec.runs[0].stdout == \"input $i shm fresh socket fresh pids 1 host sandbox\n\""
		fi
	done
	if [ "$BACKEND" = ns ]; then
		run -0 jq -r 'select(.level == 20) | .msg' <<< "$stderr"
		assert_equal "$(grep -c '^box step made ahead: ' <<< "$output")" 3
	fi
}

@test "launcher-tamper: a testcase cannot change what the next testcase's runtime runs before its go" {
	# In an ns box a Python or Node.js runtime starts before its step with
	# a launcher (/sandbox/launch.py), and no clock counts what it does
	# before the go: the job's code must not be able to change it.
	stdio_job tamper python "$FIXTURES/launcher-tamper.py" 1 2 3 > "$BATS_TEST_TMPDIR/job"
	sbx_run -j 1 -- "$BATS_TEST_TMPDIR/job"
	assert_job tamper '.error == null and (.exec.runs | length) == 3'
	assert_job tamper '[.exec.runs[] | .exitCode == 0 and (.stdout | test(" done") | not)] | all'
	if [ "$BACKEND" = ns ]; then
		local want
		want=$(sha256sum < "$ROOT/share/harness/launch.py" | cut -c1-12)
		assert_job tamper "[.exec.runs[].stdout] == [range(1; 4) | \"\\(.) | append errno 13, unlink errno 13, rename errno 13, chmod errno 1, create errno 13 | $want\\n\"]"
	fi
}

@test "zygote-tamper: what a Python run does to its interpreter reaches no later run; it sees and signals nothing but itself" {
	# On the ns backend each Python run is a fork of one zygote
	# (lib/sandbox/zygote.h): two jobs of two testcases, one after the
	# other in one slot, each changing all it can of its interpreter and
	# signalling all it may, each seeing nothing of the runs before.
	stdio_job zt-1 python "$FIXTURES/zygote-tamper.py" 1 2 > "$BATS_TEST_TMPDIR/jobs"
	stdio_job zt-2 python "$FIXTURES/zygote-tamper.py" 3 4 >> "$BATS_TEST_TMPDIR/jobs"
	sbx_run -j 1 --slots 1 -- "$BATS_TEST_TMPDIR/jobs"
	local clean='json ok, builtins clean, env clean, modules clean, recursion clean'
	local who='uid [1-9][0-9]* cap 0 0 0 nnp 1 seccomp 2'
	assert_job zt-1 "[.exec.runs[].stdout | test(\"^[12] [|] $clean [|] pids [0-9]+ [|] $who [|] \")] == [true, true]"
	assert_job zt-2 "[.exec.runs[].stdout | test(\"^[34] [|] $clean [|] pids [0-9]+ [|] $who [|] \")] == [true, true]"
	if [ "$BACKEND" = ns ]; then
		# Alone in its pid namespace (the zygote, its parent, outside),
		# holding only its stdio, with nothing to signal.
		assert_job zt-1 '[.exec.runs[].stdout | test(" [|] pids 1 [|] .* [|] fds 0 1 2 [|] kill errno 3\n$")] == [true, true]'
		assert_job zt-2 '[.exec.runs[].stdout | test(" [|] pids 1 [|] .* [|] fds 0 1 2 [|] kill errno 3\n$")] == [true, true]'
		assert_stderr_has 'python zygote'
		[[ "$stderr" != *"zygote did not take"* && "$stderr" != *"zygote "*" ended"* ]] ||
			fail "the zygote was hurt: $stderr"
	fi
}

@test "slot-network: a slot's network namespace, kept between steps, holds nothing of the step before" {
	# Each testcase binds one abstract Unix name, holds it, then leaves a
	# socket bound to it in flight; two jobs run at once in two slots.
	stdio_job net-a python "$FIXTURES/slot-net.py" 1 2 3 > "$BATS_TEST_TMPDIR/a"
	stdio_job net-b python "$FIXTURES/slot-net.py" 1 2 3 > "$BATS_TEST_TMPDIR/b"
	sbx_run -j 2 --slots 2 -- "$BATS_TEST_TMPDIR/a" "$BATS_TEST_TMPDIR/b"
	assert_job net-a '[.exec.runs[].stdout] == ["bound\n", "bound\n", "bound\n"]'
	assert_job net-b '[.exec.runs[].stdout] == ["bound\n", "bound\n", "bound\n"]'
	local slot_b
	slot_b=$(line_of net-b | jq .exec.slot)
	assert_job net-a ".exec.slot != $slot_b"
}

@test "read-other-job: a box sees only its own files and processes, nothing of a job running beside it" {
	custom_job writer python "$FIXTURES/write-secret.py" > "$BATS_TEST_TMPDIR/writer"
	custom_job lister python "$FIXTURES/list-box.py" > "$BATS_TEST_TMPDIR/lister"
	# The read-other-job fixture walks the whole box (with /usr): more room
	# than the default 64 KiB of output, and three times the time (over 9p in
	# an emulated guest, a walk is slow).
	jq -c --argjson t "$((TIME_MS * 3))" --argjson w "$((WALL_MS * 3))" \
		'.limits = {outputBytes: 1048576, timeMs: $t, wallMs: $w}' \
		"$HOSTILE"/{python,javascript,go}/read-other-job.json \
		> "$BATS_TEST_TMPDIR/walkers"
	# -j 4: the writer (alive 3 s) and three others at once, each in its own slot
	sbx_run -j 4 -- "$BATS_TEST_TMPDIR/writer" "$BATS_TEST_TMPDIR/lister" "$BATS_TEST_TMPDIR/walkers"
	assert_job writer '.exec.runs[0].stdout | contains("wrote /sandbox/code/s3cr3t") and contains("wrote /tmp/s3cr3t")'
	run -0 jq -c 'select(.tempId != "writer")' "$SBX_OUT"
	refute_output --partial s3cr3t
	assert_runs read-other-job '.exitCode == 0 and .limit == null'
	assert_runs read-other-job '.stdout | split("== /sandbox\n")[0] | [scan("(?m)^/sandbox/code/\\S+")]
		| length == 1 and (.[0] | test("^/sandbox/code/(code\\.py|code\\.js|main\\.go)$"))'
	if [ "$BACKEND" = docker ]; then
		# The image's read-only /var/tmp; the agent (pid 1) and the program
		assert_job lister '.exec.runs[0].stdout | startswith(
			"/sandbox/code: code.py\n/tmp: \n/dev/shm: No such file or directory\n/var/tmp: \n")'
		assert_job lister '.exec.runs[0].stdout | [scan("(?m)^pid [0-9]+: ")] | length == 2'
		assert_job lister '.exec.runs[0].stdout | test("(?m)^pid 1: /usr/local/bin/codex-agent")'
		return
	fi
	assert_job lister '.exec.runs[0].stdout | startswith(
		"/sandbox/code: code.py\n/tmp: \n/dev/shm: No such file or directory\n/var/tmp: No such file or directory\n")'
	assert_job lister '.exec.runs[0].stdout | [scan("(?m)^pid [0-9]+: ")] | length == 1'
	assert_runs read-other-job '.stdout | test("^/sandbox/\\.\\./(home|root|run|var|opt|srv|mnt|boot|media) "; "m") | not'
}

@test "symlink-results: output.json -> /etc/passwd is refused (resultsError symlink)" {
	hostile symlink-results
	assert_runs symlink-results '.resultsError == "symlink" and (has("results") | not)'
	run -0 cat "$SBX_OUT"
	assert_no_host_lines /etc/passwd
}

@test "symlink-dir: /sandbox/results cannot become a link to /etc (resultsError missing)" {
	hostile symlink-dir
	assert_runs symlink-dir '.resultsError == "missing" and (has("results") | not)'
	assert_runs symlink-dir '.stdout | contains("/sandbox/results -> /etc") | not'
	run -0 cat "$SBX_OUT"
	assert_no_host_lines /etc/passwd
}

@test "hardlink-results: no link to a host file; a second name of its own file is refused (hard-link)" {
	hostile hardlink-results
	assert_runs hardlink-results '.stdout | test("^LINKED /(etc|usr)/"; "m") | not'
	assert_runs hardlink-results '.resultsError == "hard-link" and (has("results") | not)'
	run -0 cat "$SBX_OUT"
	assert_no_host_lines /etc/passwd
}

@test "fifo-results: a FIFO (or socket) as output.json is refused at once (not-regular)" {
	hostile fifo-results
	assert_runs fifo-results '.resultsError == "not-regular" and (has("results") | not)'
	assert_runs fifo-results ".wallMs < $WALL_MS / 3"
}
