#!/usr/bin/env bats
# The docker backend's warm pool: pool-ctl --backend docker up, status,
# watch and down, and sandbox-exec --backend docker, against a real dockerd
# (scripts/dockerd-up) and the runner image (scripts/build-images). The file
# has a pool of its own: a copy of the language table with its own `pool`
# name and `state_dir`, taken down in teardown_file, so no container of it
# survives the file. One test restarts dockerd (scripts/dockerd-up
# --restart), which stops the containers of every other pool too.
bats_require_minimum_version 1.5.0
load helpers
source "$BATS_TEST_DIRNAME/otlp/env.bash"
source "$BATS_TEST_DIRNAME/otlp/receiver.bash"

POOL_CTL=$ROOT/bin/pool-ctl
SCRIPTS=$ROOT/scripts
DOCKER_FIXTURES=$ROOT/tests/fixtures/docker
SOCK=/run/docker.sock
# The table's languages, in its order (pool-ctl's order too).
mapfile -t LANGS < <(table_languages)

setup_file() {
	timeout 300 "$SCRIPTS/dockerd-up" > /dev/null
	timeout 900 "$SCRIPTS/build-images"
	sed -e "s|^state_dir = .*|state_dir = $BATS_FILE_TMPDIR/state|" \
		-e "s|^pool = .*|pool = batsdk$$|" "$TABLE" > "$BATS_FILE_TMPDIR/languages.conf"
}

teardown_file() {
	export CODEX_LANGUAGES=$BATS_FILE_TMPDIR/languages.conf DOCKER_HOST=unix://$SOCK
	timeout 60 "$POOL_CTL" --backend docker down
	POOL=$(awk '$1 == "pool" && $2 == "=" { print $3 }' "$CODEX_LANGUAGES")
	left=$(pool_names)
	[ -z "$left" ] || fail "containers of pool $POOL survived down: $left"
}

setup() {
	export CODEX_LANGUAGES=$BATS_FILE_TMPDIR/languages.conf
	export CODEX_SHARE=$ROOT/share/harness
	export DOCKER_HOST=unix://$SOCK
	unset SANDBOX_BACKEND
	POOL=$(awk '$1 == "pool" && $2 == "=" { print $3 }' "$CODEX_LANGUAGES")
	STATE=$BATS_FILE_TMPDIR/state
	[[ "$POOL" == batsdk* ]] || fail "the table copy has no pool of its own: $POOL"
	custom_job hello python "$FIXTURES/hello.py" > "$BATS_TEST_TMPDIR/hello.json"
}

teardown() {
	if [ -n "${SLOT_HOLDER:-}" ]; then	# flock(1) and its sleep
		kill "$SLOT_HOLDER" $(pgrep -P "$SLOT_HOLDER") 2> /dev/null || true
	fi
	if [ -n "${WATCHER:-}" ]; then
		kill "$WATCHER" 2> /dev/null || true
	fi
	otlp_receiver_stop
	if [ -n "${OTHER_TABLE:-}" ]; then
		CODEX_LANGUAGES=$OTHER_TABLE timeout 60 "$POOL_CTL" --backend docker down 2> /dev/null || true
	fi
}

# pool_ctl ARG...: pool-ctl --backend docker ARG..., under a timeout.
pool_ctl() {
	timeout 60 "$POOL_CTL" --backend docker "$@"
}

# engine METHOD PATH: dockerd's reply to METHOD PATH (below /v1.41).
engine() {
	curl -sS --max-time 20 --unix-socket "$SOCK" -X "$1" "http://d/v1.41$2"
}

# pool_names [POOL]: the names of every container labelled codex.pool=POOL
# (default: the file's), running or not, sorted.
pool_names() {
	local filter
	filter=$(jq -rn --arg l "codex.pool=${1:-$POOL}" '{label: [$l]} | tojson | @uri')
	engine GET "/containers/json?all=1&filters=$filter" | jq -r '.[].Names[0] | ltrimstr("/")' | sort
}

# expected_names SLOTS: <pool>-<language>-<k> for every language and slot.
expected_names() {
	local l k
	for l in "${LANGS[@]}"; do
		for ((k = 0; k < $1; k++)); do
			echo "$POOL-$l-$k"
		done
	done | sort
}

# slot_field LANGUAGE K FILTER: FILTER (jq, raw) of the slot's state file.
slot_field() {
	jq -r "$3" "$STATE/docker-$1/slots/$2.json"
}

# status_of LANGUAGE K FILTER: FILTER (jq, raw) of the slot's row of
# `pool-ctl status --json` (over $SLOTS slots, default 2).
status_of() {
	pool_ctl --slots "${SLOTS:-2}" status --json 2> /dev/null |
		jq -r --arg l "$1" --argjson k "$2" "select(.language == \$l and .slot == \$k) | $3"
}

# assert_json JSON [JQ_OPTION...] PREDICATE: the jq PREDICATE holds on JSON.
assert_json() {
	local json=$1
	shift
	jq -e "$@" <<< "$json" > /dev/null ||
		batslib_print_kv_single_or_multi 9 predicate "${*: -1}" json "$(short <<< "$json")" |
		batslib_decorate 'JSON does not match' | fail
}

# hold_slot LANGUAGE K SECONDS: holds the lock of slot K of LANGUAGE for
# SECONDS in the background ($SLOT_HOLDER; teardown kills it), as a job in
# it would, and returns once it is held.
hold_slot() {
	local lock=$STATE/docker-$1/slots/$2.lock i
	mkdir -p "$(dirname "$lock")"
	touch "$lock"
	flock "$lock" sleep "$3" 3>&- &
	SLOT_HOLDER=$!
	for ((i = 0; i < 50; i++)); do
		flock -n "$lock" true || break
		sleep 0.05
	done
}

# inspect NAME: the container's inspection, which must succeed.
inspect() {
	local reply
	reply=$(engine GET "/containers/$1/json") || fail "dockerd did not answer about $1"
	jq -e .Id <<< "$reply" > /dev/null || fail "no container $1: $reply"
	printf '%s\n' "$reply"
}

# kill_container NAME: SIGKILL from outside; returns once it has stopped.
kill_container() {
	local i
	engine POST "/containers/$1/kill" || fail "cannot kill $1"
	for ((i = 0; i < 100; i++)); do
		[ "$(inspect "$1" | jq .State.Running)" = false ] && return 0
		sleep 0.1
	done
	fail "$1 still runs 10 s after its kill"
}

# now_ms: the wall clock in milliseconds.
now_ms() {
	echo $(($(date +%s%N) / 1000000))
}

@test "up --slots 2: two running containers per language, named and labelled by slot" {
	run -0 --separate-stderr pool_ctl down
	run -0 --separate-stderr pool_ctl --slots 2 up
	assert_output ''
	assert_stderr_has 'docker pool: 2 slots per language ready'
	run -0 pool_names
	assert_output "$(expected_names 2)"
	[ "${#lines[@]}" -eq $((2 * ${#LANGS[@]})) ]
	for l in "${LANGS[@]}"; do
		for k in 0 1; do
			c=$(inspect "$POOL-$l-$k")
			assert_json "$c" --arg pool "$POOL" --arg l "$l" --arg k "$k" \
				--arg id "$(slot_field "$l" "$k" .id)" --arg pid "$(slot_field "$l" "$k" .pid)" \
				'.State.Running and .Id == $id and (.State.Pid | tostring) == $pid
				 and .Config.Image == "codex-runner:latest"
				 and .Config.Labels["codex.pool"] == $pool and .Config.Labels["codex.language"] == $l
				 and .Config.Labels["codex.slot"] == $k'
			assert_json "$(cat "$STATE/docker-$l/slots/$k.json")" \
				'.jobs == 0 and .dirty == false and .created > 0 and .checked >= .created'
		done
	done
}

@test "pool containers are hardened: no network, read-only root, no capabilities, limits, tmpfs work dirs, a uid per slot" {
	run -0 --separate-stderr pool_ctl --slots 2 up
	local i l k uid base
	base=$(($(table_value uid_base) + 100000))
	for i in "${!LANGS[@]}"; do
		l=${LANGS[$i]}
		for k in 0 1; do
			# A uid per slot (lib/sandbox/pool.c), above the ns backend's.
			uid=$((base + i * 1024 + k))
			# codex-agent is the container's pid 1 (lib/sandbox/pool.c): no
			# docker-init, which would be a process of the job's uid
			# outliving the job.
			assert_json "$(inspect "$POOL-$l-$k")" --arg user "$uid:$uid" --arg owner "uid=$uid,gid=$uid" \
				'.HostConfig as $h
				 | $h.NetworkMode == "none" and .Config.NetworkDisabled == true
				 and $h.ReadonlyRootfs == true and $h.CapDrop == ["ALL"]
				 and ($h.SecurityOpt | any(.[]; startswith("no-new-privileges")))
				 and $h.Privileged == false
				 and $h.Memory > 0 and $h.MemorySwap == $h.Memory
				 and $h.PidsLimit > 0 and $h.NanoCpus > 0 and $h.Init != true
				 and ($h.IpcMode == "none" or $h.IpcMode == "private")
				 and ($h.Tmpfs | has("/sandbox/code") and has("/sandbox/bin")
				      and has("/sandbox/results") and has("/tmp"))
				 and ($h.Tmpfs | to_entries | all(.value | test("nosuid") and test("nodev")))
				 and ($h.Tmpfs["/tmp"] | test("noexec"))
				 and ($h.Tmpfs["/sandbox/code"] | test("noexec"))
				 and .Config.User == $user and $h.LogConfig.Type == "none"
				 and ($h.Tmpfs["/sandbox/results"] | contains($owner))
				 and (.Mounts | length) == 0'
		done
	done
	# Each language's container holds its largest step: Go's compile.
	run -0 inspect "$POOL-python-0"
	assert_json "$output" '.HostConfig.Memory >= (256 * 1048576) and .HostConfig.PidsLimit >= 64
		and .HostConfig.NanoCpus == 1000000000'
	run -0 inspect "$POOL-go-0"
	assert_json "$output" '.HostConfig.Memory >= (1024 * 1048576) and .HostConfig.PidsLimit >= 256'
}

@test "status: ready slots with their container ids and no jobs; after a job, that slot has run 1" {
	run -0 --separate-stderr pool_ctl down
	run -0 --separate-stderr pool_ctl --slots 2 up
	run -0 --separate-stderr pool_ctl --slots 2 status
	assert_line --index 0 --regexp '^SLOT +LANGUAGE +STATE +JOBS +AGE_S +CHECK_S +CONTAINER$'
	[ "${#lines[@]}" -eq $((1 + 2 * ${#LANGS[@]})) ]
	i=1
	for l in "${LANGS[@]}"; do
		for k in 0 1; do
			id=$(slot_field "$l" "$k" .id)
			assert_line --index "$i" --regexp "^$k +$l +ready +0 +[0-9]+ +[0-9]+ +${id:0:12}\$"
			i=$((i + 1))
		done
	done
	run -0 --separate-stderr pool_ctl --slots 2 status --json
	[ "${#lines[@]}" -eq $((2 * ${#LANGS[@]})) ]
	i=0
	for l in "${LANGS[@]}"; do
		for k in 0 1; do
			assert_json "${lines[$i]}" --arg l "$l" --argjson k "$k" --arg id "$(slot_field "$l" "$k" .id)" \
				'.language == $l and .slot == $k and .state == "ready" and .jobs == 0
				 and .container == $id and .ageS >= 0 and .checkedS >= 0'
			i=$((i + 1))
		done
	done
	id=$(slot_field python 0 .id)
	sbx_run --backend docker --slots 1 -- "$BATS_TEST_TMPDIR/hello.json"
	assert_job hello '.error == null and .exec.backend == "docker" and .exec.slot == 0
		and .exec.runs[0].exitCode == 0 and .exec.runs[0].stdout == "hello\n"'
	run -0 --separate-stderr pool_ctl --slots 2 status --json
	assert_json "$(status_of python 0 .)" --arg id "$id" '.state == "ready" and .jobs == 1 and .container == $id'
	assert_json "$(status_of python 1 .)" '.state == "ready" and .jobs == 0'
	assert_json "$(status_of javascript 0 .)" '.state == "ready" and .jobs == 0'
	run -0 --separate-stderr pool_ctl --slots 2 status
	assert_line --index 1 --regexp "^0 +python +ready +1 +[0-9]+ +[0-9]+ +${id:0:12}\$"
}

@test "two jobs at once (-j 2 --slots 2) run in the two slots of their language, one container each" {
	run -0 --separate-stderr pool_ctl down
	run -0 --separate-stderr pool_ctl --slots 2 up
	custom_job one python "$DOCKER_FIXTURES/look.py" > "$BATS_TEST_TMPDIR/one.json"
	custom_job two python "$DOCKER_FIXTURES/look.py" > "$BATS_TEST_TMPDIR/two.json"
	sbx_run --backend docker --slots 2 -j 2 -- "$BATS_TEST_TMPDIR"/{one,two}.json
	assert_job one '.error == null and .exec.runs[0].exitCode == 0'
	assert_job two '.error == null and .exec.runs[0].exitCode == 0'
	run -0 jq -s -c 'map(.exec.slot) | sort' "$SBX_OUT"
	assert_output '[0,1]'
	# Each saw its own container only: the agent and itself.
	for id in one two; do
		run -0 job_field "$id" '.exec.runs[0].stdout | split("\n") | map(select(startswith("pid "))) | length'
		assert_output 2
	done
	assert_json "$(status_of python 0 .)" '.state == "ready" and .jobs == 1'
	assert_json "$(status_of python 1 .)" '.state == "ready" and .jobs == 1'
}

@test "a job leaves nothing behind: files (unreadable dirs too), work dir xattrs, a SysV segment, a daemon of its own session" {
	run -0 --separate-stderr pool_ctl --slots 2 up
	id=$(slot_field python 0 .id)
	custom_job leave python "$DOCKER_FIXTURES/leave-behind.py" > "$BATS_TEST_TMPDIR/leave.json"
	custom_job look python "$DOCKER_FIXTURES/look.py" > "$BATS_TEST_TMPDIR/look.json"
	sbx_run --backend docker --slots 1 -j 1 -- "$BATS_TEST_TMPDIR"/{leave,look}.json
	assert_job leave '.error == null and .exec.slot == 0 and .exec.runs[0].exitCode == 0
		and (.exec.runs[0].stdout | test("^left behind: /tmp/x /sandbox/code/locked xattrs shm yes sleep [0-9]+\n$"))'
	assert_job look '.error == null and .exec.slot == 0 and .exec.runs[0].exitCode == 0'
	run -0 job_field look '.exec.runs[0].stdout'
	assert_line --index 0 '/tmp: '
	assert_line --index 1 '/sandbox/code: code.py'
	assert_line --index 2 'xattrs: 0'
	assert_line --index 3 'shm: 0'
	# Only the agent (pid 1) and this job's python3.
	assert_line --index 4 'pid 1: /usr/local/bin/codex-agent'
	assert_line --index 5 --regexp '^pid [0-9]+: /usr/bin/python3 -I -B code.py$'
	[ "${#lines[@]}" -eq 6 ]
	refute_output --partial sleep
	# The same container served both: it was cleaned, not replaced.
	assert_equal "$(slot_field python 0 .id)" "$id"
	assert_equal "$(slot_field python 0 .dirty)" false
}

@test "a program cannot change its agent (prlimit, setpriority, sched_setaffinity on pid 1): refused; the container serves the next job" {
	run -0 --separate-stderr pool_ctl --slots 1 up
	id=$(slot_field python 0 .id)
	custom_job tamper python "$DOCKER_FIXTURES/tamper-agent.py" > "$BATS_TEST_TMPDIR/tamper.json"
	sbx_run --backend docker --slots 1 -j 1 -- "$BATS_TEST_TMPDIR"/{tamper,hello}.json
	assert_job tamper '.error == null and .exec.runs[0].exitCode == 0
		and .exec.runs[0].stdout == "nproc: refused\nnice: refused\nnice of the uid: refused\naffinity: refused\n"'
	assert_job hello '.error == null and .exec.slot == 0 and .exec.runs[0].stdout == "hello\n"'
	# The agent is as it started (it checks at every clean): no replacement.
	assert_equal "$(slot_field python 0 .id)" "$id"
	assert_equal "$(slot_field python 0 .dirty)" false
}

@test "an agent changed from outside its container (renice from the host): the step fails, the container is replaced" {
	# What the seccomp filter keeps a program from doing; the agent's own
	# check is the second wall, tested by changing it from the host.
	run -0 --separate-stderr pool_ctl --slots 1 up
	id=$(slot_field python 0 .id)
	pid=$(inspect "$id" | jq -r .State.Pid)
	renice -n 5 -p "$pid" > /dev/null
	sbx_run --backend docker --slots 1 -j 1 -- "$BATS_TEST_TMPDIR/hello.json"
	assert_job hello '.exec == null and .error.kind == "infrastructure" and .error.code == "docker"
		and (.error.message | contains("the agent'"'"'s limits or scheduling were changed"))'
	assert_equal "$(slot_field python 0 .dirty)" true
	sbx_run --backend docker --slots 1 -j 1 -- "$BATS_TEST_TMPDIR/hello.json"
	assert_job hello '.error == null and .exec.runs[0].stdout == "hello\n"'
	new=$(slot_field python 0 .id)
	assert [ -n "$new" ]
	assert [ "$new" != "$id" ]
}

@test "a step killed by the OOM killer: the container is replaced after the job (dockerd's OOMKilled is then this job's only)" {
	run -0 --separate-stderr pool_ctl --slots 1 up
	id=$(slot_field python 0 .id)
	custom_job alloc python "$FIXTURES/alloc-100m.py" '{"memoryMb":64}' > "$BATS_TEST_TMPDIR/alloc.json"
	sbx_run --backend docker --slots 1 -j 1 -- "$BATS_TEST_TMPDIR/alloc.json"
	assert_job alloc '.error == null and .exec.runs[0].limit == "memory" and .exec.runs[0].signal == "SIGKILL"'
	assert_equal "$(slot_field python 0 .dirty)" true
	sbx_run --backend docker --slots 1 -j 1 -- "$BATS_TEST_TMPDIR/hello.json"
	assert_job hello '.error == null and .exec.runs[0].stdout == "hello\n"'
	new=$(slot_field python 0 .id)
	assert [ -n "$new" ]
	assert [ "$new" != "$id" ]
	assert_json "$(inspect "$new")" '.State.OOMKilled | not'
}

@test "a pool container killed from outside: the next job still runs, in a new container" {
	run -0 --separate-stderr pool_ctl --slots 2 up
	old=$(slot_field python 0 .id)
	kill_container "$POOL-python-0"
	sbx_run --backend docker --slots 1 -- "$BATS_TEST_TMPDIR/hello.json"
	assert_job hello '.error == null and .exec.slot == 0 and .exec.runs[0].stdout == "hello\n"'
	new=$(slot_field python 0 .id)
	assert [ -n "$new" ]
	assert [ "$new" != "$old" ]
	assert_json "$(status_of python 0 .)" --arg id "$new" '.state == "ready" and .jobs == 1 and .container == $id'
	assert_json "$(inspect "$POOL-python-0")" --arg id "$new" '.Id == $id and .State.Running'
	run -0 engine GET "/containers/$old/json"
	assert_output --partial 'No such container'
}

# dockerd takes an attach to a stopped container and waits for its start:
# the backend asks for the container's state first.
@test "a killed container costs the next job no wait: done within 10 s" {
	run -0 --separate-stderr pool_ctl --slots 2 up
	kill_container "$POOL-python-0"
	start=$(now_ms)
	sbx_run --backend docker --slots 1 -- "$BATS_TEST_TMPDIR/hello.json"
	took=$(($(now_ms) - start))
	assert_job hello '.error == null and .exec.runs[0].stdout == "hello\n"'
	[ "$took" -lt 10000 ] || fail "the job took $took ms; stderr: $stderr"
}

@test "the agent killed after an OOM kill in its container: the step is a memory limit, not an error" {
	run -0 --separate-stderr pool_ctl --slots 1 up
	custom_job oom python "$DOCKER_FIXTURES/oom-child.py" > "$BATS_TEST_TMPDIR/oom.json"
	local id pid memcg
	id=$(slot_field python 0 .id)
	pid=$(inspect "$POOL-python-0" | jq -r .State.Pid)
	memcg=/sys/fs/cgroup/memory$(awk -F: '$2 == "memory" { print $3 }' "/proc/$pid/cgroup")
	[ -r "$memcg/memory.oom_control" ] || fail "no v1 memory cgroup for $id"
	timeout 60 "$SBX" --backend docker --slots 1 < "$BATS_TEST_TMPDIR/oom.json" \
		> "$BATS_TEST_TMPDIR/out.jsonl" 2> "$BATS_TEST_TMPDIR/err" &
	local job=$! deadline=$((SECONDS + 30))
	# What the race leaves (the agent killed while a killed program's
	# memory is still charged), made on purpose: the agent dies after an
	# OOM kill in its container.
	until awk '$1 == "oom_kill" && $2 > 0 { found = 1 } END { exit !found }' "$memcg/memory.oom_control"; do
		[ "$SECONDS" -lt "$deadline" ] || fail "no OOM kill in $memcg"
		sleep 0.1
	done
	kill -KILL "$pid"
	wait "$job"
	SBX_OUT=$BATS_TEST_TMPDIR/out.jsonl
	assert_job oom '.error == null and (.exec.runs[0] | .limit == "memory" and .signal == "SIGKILL" and .exitCode == null)'
	run -0 cat "$BATS_TEST_TMPDIR/err"
	assert_output --partial "the agent was killed with the program at the memory limit"
	# The container went with its agent: the next job gets a new one.
	sbx_run --backend docker --slots 1 -- "$BATS_TEST_TMPDIR/hello.json"
	assert_job hello '.error == null and .exec.runs[0].stdout == "hello\n"'
	[ "$(slot_field python 0 .id)" != "$id" ]
}

@test "watch --once replaces a killed container: ready again, with a new id" {
	run -0 --separate-stderr pool_ctl --slots 2 up
	old=$(slot_field python 1 .id)
	other=$(slot_field go 1 .id)
	kill_container "$POOL-python-1"
	assert_equal "$(status_of python 1 .state)" dead
	run -0 --separate-stderr pool_ctl --slots 2 watch --once
	assert_output ''
	assert_stderr_has 'python slot 1: new container'
	assert_stderr_has '(dead)'
	new=$(slot_field python 1 .id)
	assert [ -n "$new" ]
	assert [ "$new" != "$old" ]
	assert_json "$(status_of python 1 .)" --arg id "$new" '.state == "ready" and .jobs == 0 and .container == $id'
	assert_json "$(inspect "$POOL-python-1")" --arg id "$new" '.Id == $id and .State.Running'
	# A healthy slot is left as it is.
	assert_equal "$(slot_field go 1 .id)" "$other"
	run -0 pool_names
	assert_output "$(expected_names 2)"
}

@test "watch with an OTEL endpoint: a span per replaced container, codex.pool.replaced and codex.pool.slots" {
	run -0 --separate-stderr pool_ctl --slots 2 up
	old=$(slot_field python 1 .id)
	kill_container "$POOL-python-1"
	hold_slot go 0 10
	otlp_receiver_start "$BATS_TEST_TMPDIR/otlp.jsonl"
	OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:$OTLP_GRPC OTEL_BSP_SCHEDULE_DELAY=100 \
		run -0 --separate-stderr pool_ctl --slots 2 watch --once
	otlp_receiver_stop
	new=$(slot_field python 1 .id)
	assert [ -n "$new" ]
	assert [ "$new" != "$old" ]
	run -0 jq -c -s '[.[] | select(.type == "span")] | map({name, kind, attributes,
		status: .status.code, service: .resource["service.name"]})' "$BATS_TEST_TMPDIR/otlp.jsonl"
	assert_output "[{\"name\":\"pool replace\",\"kind\":1,\"attributes\":{\"codex.language\":\"python\",\"codex.replace.reason\":\"dead\",\"codex.slot\":1,\"container.id\":\"$new\"},\"status\":0,\"service\":\"pool-ctl\"}]"
	run -0 jq -c -s '[.[] | select(.type == "metric" and .name == "codex.pool.replaced")
		| {attributes, value}]' "$BATS_TEST_TMPDIR/otlp.jsonl"
	assert_output '[{"attributes":{"codex.language":"python","codex.replace.reason":"dead","outcome":"replaced"},"value":1}]'
	run -0 jq -c -s '[.[] | select(.type == "metric" and .name == "codex.pool.slots"
		and .value > 0) | "\(.attributes["codex.language"]) \(.attributes.state) \(.value)"] | sort' \
		"$BATS_TEST_TMPDIR/otlp.jsonl"
	# Every language's two slots ready, but go's 0 (held) busy.
	assert_output "$(table_languages | jq -R . | jq -sc 'map(if . == "go" then "go busy 1", "go ready 1"
		else "\(.) ready 2" end) | sort')"
}

@test "up that cannot make a container: exit 111, and its failed 'pool replace' spans and metric still reach the collector" {
	# A pool of its own: the file's pool has running containers.
	sed -e 's|^image = .*|image = codex-runner:nonexistent|' -e "s|^pool = .*|pool = ${POOL}x|" \
		-e "s|^state_dir = .*|state_dir = $BATS_TEST_TMPDIR/state|" \
		"$BATS_FILE_TMPDIR/languages.conf" > "$BATS_TEST_TMPDIR/languages.conf"
	export CODEX_LANGUAGES=$BATS_TEST_TMPDIR/languages.conf
	otlp_receiver_start "$BATS_TEST_TMPDIR/otlp.jsonl"
	OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:$OTLP_GRPC run -111 --separate-stderr pool_ctl --slots 1 up
	otlp_receiver_stop
	assert_stderr_has "$(table_languages | wc -l) slots could not be readied"
	run -0 jq -c -s '[.[] | select(.type == "span")] | map({name, status: .status.code,
		error: .attributes["error.type"], lang: .attributes["codex.language"]}) | sort_by(.lang)' \
		"$BATS_TEST_TMPDIR/otlp.jsonl"
	assert_output "$(table_languages | jq -R . | jq -sc 'sort | map({name: "pool replace", status: 2,
		error: "docker", lang: .})')"
	run -0 jq -c -s '[.[] | select(.type == "metric" and .name == "codex.pool.replaced") | .attributes.outcome] | unique' \
		"$BATS_TEST_TMPDIR/otlp.jsonl"
	assert_output '["failed"]'
}

@test "watch heals every --interval seconds until SIGTERM, then exits 0" {
	run -0 --separate-stderr pool_ctl --slots 2 up
	old=$(slot_field javascript 0 .id)
	"$POOL_CTL" --backend docker --slots 2 watch --interval 1 2> "$BATS_TEST_TMPDIR/watch.err" 3>&- &
	WATCHER=$!
	sleep 0.5
	kill_container "$POOL-javascript-0"
	for ((i = 0; i < 50; i++)); do
		[ "$(slot_field javascript 0 .id)" != "$old" ] && break
		sleep 0.1
	done
	[ "$(slot_field javascript 0 .id)" != "$old" ] || fail "not replaced within 5 s: $(cat "$BATS_TEST_TMPDIR/watch.err")"
	kill -TERM "$WATCHER"
	status=0
	timeout 10 tail --pid="$WATCHER" -f /dev/null || fail "watch still runs 10 s after SIGTERM"
	wait "$WATCHER" || status=$?
	WATCHER=
	assert_equal "$status" 0
	grep -q 'javascript slot 0: new container' "$BATS_TEST_TMPDIR/watch.err"
	assert_equal "$(status_of javascript 0 .state)" ready
}

@test "no slot free within acquire_ms: error slot-timeout naming the ms, exit 0, at once" {
	sed -e 's|^acquire_ms = .*|acquire_ms = 300|' "$BATS_FILE_TMPDIR/languages.conf" \
		> "$BATS_TEST_TMPDIR/languages.conf"
	export CODEX_LANGUAGES=$BATS_TEST_TMPDIR/languages.conf
	hold_slot python 0 5
	SLOTS=1 run -0 status_of python 0 .state
	assert_output busy
	start=$(now_ms)
	sbx_run --backend docker --slots 1 -- "$BATS_TEST_TMPDIR/hello.json"
	took=$(($(now_ms) - start))
	[ "${#lines[@]}" -eq 1 ]
	assert_job hello '.exec == null and .error.kind == "infrastructure" and .error.code == "slot-timeout"
		and (.error.message | test("\\b300 ms\\b"))'
	[ "$took" -lt 2500 ] || fail "the job took $took ms"
}

@test "a job over its time limit leaves the slot dirty (stale); the next job gets a new container" {
	run -0 --separate-stderr pool_ctl --slots 2 up
	old=$(slot_field python 0 .id)
	custom_job spin python "$FIXTURES/busy.py" '{"timeMs":300}' > "$BATS_TEST_TMPDIR/spin.json"
	sbx_run --backend docker --slots 1 -- "$BATS_TEST_TMPDIR/spin.json"
	assert_job spin '.error == null and .exec.slot == 0 and .exec.runs[0].limit == "time"
		and .exec.runs[0].signal == "SIGKILL"'
	assert_equal "$(slot_field python 0 .dirty)" true
	assert_equal "$(slot_field python 0 .id)" "$old"
	assert_json "$(status_of python 0 .)" --arg id "$old" '.state == "stale" and .container == $id'
	sbx_run --backend docker --slots 1 -- "$BATS_TEST_TMPDIR/hello.json"
	assert_job hello '.error == null and .exec.runs[0].stdout == "hello\n"'
	new=$(slot_field python 0 .id)
	assert [ -n "$new" ]
	assert [ "$new" != "$old" ]
	assert_equal "$(slot_field python 0 .dirty)" false
	assert_json "$(status_of python 0 .)" --arg id "$new" '.state == "ready" and .jobs == 1 and .container == $id'
	run -0 engine GET "/containers/$old/json"
	assert_output --partial 'No such container'
}

@test "sandbox-exec --backend docker with a missing image exits 100 and names it" {
	sed -e 's|^image = .*|image = codex-runner:nonexistent|' "$BATS_FILE_TMPDIR/languages.conf" \
		> "$BATS_TEST_TMPDIR/languages.conf"
	export CODEX_LANGUAGES=$BATS_TEST_TMPDIR/languages.conf
	run -100 --separate-stderr timeout 60 "$SBX" --backend docker < "$BATS_TEST_TMPDIR/hello.json"
	assert_output ''
	assert_stderr_has 'image codex-runner:nonexistent not found'
	SANDBOX_BACKEND=docker run -100 --separate-stderr timeout 60 "$SBX" < "$BATS_TEST_TMPDIR/hello.json"
	assert_stderr_has 'codex-runner:nonexistent'
}

@test "sandbox-exec --backend docker: dockerd unreachable exits 111; a DOCKER_HOST not unix:// exits 100" {
	DOCKER_HOST=unix:///nonexistent.sock run -111 --separate-stderr \
		timeout 60 "$SBX" --backend docker < "$BATS_TEST_TMPDIR/hello.json"
	assert_output ''
	assert_stderr_has '/nonexistent.sock'
	DOCKER_HOST=unix:///nonexistent.sock SANDBOX_BACKEND=docker run -111 --separate-stderr \
		timeout 60 "$SBX" < "$BATS_TEST_TMPDIR/hello.json"
	DOCKER_HOST=tcp://x run -100 --separate-stderr timeout 60 "$SBX" --backend docker < "$BATS_TEST_TMPDIR/hello.json"
	assert_output ''
	assert_stderr_has 'DOCKER_HOST=tcp://x'
}

@test "pool-ctl --backend docker with dockerd unreachable exits 111 (100 for a DOCKER_HOST not unix://)" {
	for cmd in status up "watch --once" down; do
		# shellcheck disable=SC2086
		DOCKER_HOST=unix:///nonexistent.sock run -111 --separate-stderr pool_ctl $cmd
		assert_output ''
		assert_stderr_has '/nonexistent.sock'
	done
	DOCKER_HOST=tcp://x run -100 --separate-stderr pool_ctl status
	assert_stderr_has 'DOCKER_HOST=tcp://x'
}

@test "dockerd restarted: the next job runs with no manual step; watch --once readies every slot" {
	[ -x "$SCRIPTS/dockerd-up" ]
	grep -q -- '--restart' "$SCRIPTS/dockerd-up"
	run -0 --separate-stderr pool_ctl --slots 2 up
	declare -A before
	for l in "${LANGS[@]}"; do
		for k in 0 1; do
			before[$l-$k]=$(slot_field "$l" "$k" .id)
		done
	done
	run -0 --separate-stderr timeout 120 "$SCRIPTS/dockerd-up" --restart
	assert_output "unix://$SOCK"
	sbx_run --backend docker --slots 1 -- "$BATS_TEST_TMPDIR/hello.json"
	assert_job hello '.error == null and .exec.slot == 0 and .exec.runs[0].stdout == "hello\n"'
	run -0 --separate-stderr pool_ctl --slots 2 watch --once
	run -0 --separate-stderr pool_ctl --slots 2 status --json
	[ "${#lines[@]}" -eq $((2 * ${#LANGS[@]})) ]
	for row in "${lines[@]}"; do
		assert_json "$row" '.state == "ready" and (.container | length) == 64'
		key=$(jq -r '"\(.language)-\(.slot)"' <<< "$row")
		[ "$(jq -r .container <<< "$row")" != "${before[$key]}" ] || fail "slot $key kept its stopped container"
	done
	run -0 pool_names
	assert_output "$(expected_names 2)"
}

@test "down removes every container of the pool and no other pool's, exit 0; again, nothing to do" {
	run -0 --separate-stderr pool_ctl --slots 3 up
	# Another pool, with slot states of its own.
	sed -e "s|^pool = .*|pool = ${POOL}x|" -e "s|^state_dir = .*|state_dir = $BATS_TEST_TMPDIR/other|" \
		"$BATS_FILE_TMPDIR/languages.conf" > "$BATS_TEST_TMPDIR/other.conf"
	OTHER_TABLE=$BATS_TEST_TMPDIR/other.conf
	CODEX_LANGUAGES=$OTHER_TABLE run -0 --separate-stderr pool_ctl --slots 1 up
	run -0 pool_names
	assert_output "$(expected_names 3)"
	run -0 pool_names "${POOL}x"
	[ "${#lines[@]}" -eq "${#LANGS[@]}" ]
	run -0 --separate-stderr pool_ctl down
	assert_output ''
	assert_stderr_has "docker pool: $((3 * ${#LANGS[@]})) containers removed"
	run -0 pool_names
	assert_output ''
	run -0 pool_names "${POOL}x"
	[ "${#lines[@]}" -eq "${#LANGS[@]}" ]
	run -0 --separate-stderr pool_ctl --slots 3 status --json
	[ "${#lines[@]}" -eq $((3 * ${#LANGS[@]})) ]
	for row in "${lines[@]}"; do
		assert_json "$row" '.state == "none" and .container == "" and .jobs == 0'
	done
	run -0 --separate-stderr pool_ctl down
	assert_output ''
	assert_stderr_has 'docker pool: 0 containers removed'
	run -0 pool_names
	assert_output ''
}

@test "down --slots 1 removes the containers of every slot, also those past --slots" {
	run -0 --separate-stderr pool_ctl --slots 3 up
	run -0 --separate-stderr pool_ctl --slots 1 down
	assert_stderr_has "docker pool: $((3 * ${#LANGS[@]})) containers removed"
	run -0 pool_names
	assert_output ''
}

# down removes every container of the pool, whatever --slots says, and
# empties the state file of every slot that has one: none of them goes on
# naming a removed container, its jobs, age or last check.
@test "after down --slots 1, status shows every slot of the pool empty (none, no jobs, age or check)" {
	run -0 --separate-stderr pool_ctl --slots 3 up
	run -0 --separate-stderr pool_ctl --slots 1 down
	run -0 --separate-stderr pool_ctl --slots 3 status --json
	[ "${#lines[@]}" -eq $((3 * ${#LANGS[@]})) ]
	for row in "${lines[@]}"; do
		assert_json "$row" '.state == "none" and .container == "" and .jobs == 0
			and .ageS == null and .checkedS == null'
	done
	run -0 --separate-stderr pool_ctl --slots 3 status
	assert_line --index 1 --regexp '^0 +[a-z]+ +none +0 +- +-  -$'
}
