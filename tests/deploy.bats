#!/usr/bin/env bats
# The service as it is deployed (docs/deploy.md): the image codex-service
# (scripts/build-images, images/service/Dockerfile) run with `docker run`
# against a real broker and Redis of the file's own on 127.0.0.1 (host
# network): the ns backend with the privileges it needs and no more, the
# docker backend through the Engine's socket; jobs in, results out, a
# `docker stop` drains, nothing is lost. Also what `make install` installs,
# run from where it is installed. The containers are the file's own (named
# codex-deploy-<pid>-*, their instances likewise) and are removed at the end.
bats_require_minimum_version 1.5.0
load helpers
load kafka-helpers

IMAGE=codex-service:latest
DOCKER=/usr/bin/docker
LANE_TOPICS=SUBMISSION_JOBS,SUBMISSION_RESULTS,RUN_JOBS,RUN_RESULTS,CUSTOM_JOBS,CUSTOM_RESULTS,DLQ_QUEUE
# The least the ns backend needs in a container (docs/deploy.md): mounts,
# namespaces and pivot_root (CAP_SYS_ADMIN, and a seccomp profile that lets
# pivot_root through), the box's files and uids (CHOWN, DAC_OVERRIDE,
# FOWNER, SETUID, SETGID), signals to other uids (KILL), a Python run's
# fork joining its box (SYS_CHROOT, with SYS_ADMIN: setns into a mount
# namespace), and a cgroup namespace of its own. Without any one of the
# capabilities but SYS_CHROOT, jobs fail; without SYS_CHROOT, Python runs
# are launched, not forked from the zygote.
NS_PRIVILEGES="--cap-drop ALL --cap-add SYS_ADMIN --cap-add CHOWN --cap-add DAC_OVERRIDE
	--cap-add FOWNER --cap-add SETUID --cap-add SETGID --cap-add KILL --cap-add SYS_CHROOT
	--security-opt seccomp=unconfined --cgroupns private"

setup_file() {
	"$SCRIPTS/dockerd-up" --owner "${CODEX_DOCKERD_OWNER:--}" > /dev/null || return 1
	"$SCRIPTS/build-images" > /dev/null 2>&1 || return 1
	kafka_up 39992 "$LANE_TOPICS" || return 1
	export RDIR=$BATS_FILE_TMPDIR/redis
	RURL=$(timeout 60 "$SCRIPTS/redis-up" --dir "$RDIR" --port 36879) || return 1
	export RURL NAME=codex-deploy-$$
}

teardown_file() {
	local ids
	ids=$($DOCKER ps -aq --filter "name=^$NAME-" 2> /dev/null)
	[ -z "$ids" ] || $DOCKER rm -f $ids > /dev/null 2>&1
	# The docker backend's pool, made through the socket by the service.
	ids=$($DOCKER ps -aq --filter "label=codex.pool=$NAME-docker" 2> /dev/null)
	[ -z "$ids" ] || $DOCKER rm -f $ids > /dev/null 2>&1
	kafka_down
	timeout 60 "$SCRIPTS/redis-down" --dir "$RDIR"
}

setup() {
	cd "$ROOT"
	kafka_lane custom
	# Idempotency keys of an earlier test's jobs would skip them here.
	timeout 10 redis-cli -u "$RURL" FLUSHALL > /dev/null
	SERVICE=''
}

teardown() {
	[ -z "$SERVICE" ] || keep_logs
}

# service_start SUFFIX [DOCKER_RUN_OPTION...]: the service container
# $NAME-SUFFIX on the host's network, configured for the test's custom
# lane, the others idle; SERVICE is its name.
service_start() {
	SERVICE=$NAME-$1
	shift
	$DOCKER rm -f "$SERVICE" > /dev/null 2>&1 || true
	run -0 $DOCKER run -d --name "$SERVICE" --network host "$@" \
		-e KAFKA_BROKERS="$BROKER" -e REDIS_URL="$RURL" \
		-e KAFKA_CUSTOM_JOBS_TOPIC="$JOBS" -e KAFKA_CUSTOM_RESULTS_TOPIC="$RESULTS" \
		-e KAFKA_CUSTOM_GROUP_ID="$GROUP" -e KAFKA_DLQ_TOPIC="$DLQ" \
		-e CODEX_LANES=custom -e CODEX_INSTANCE="$SERVICE" "$IMAGE"
}

# healthy: the service's health command says so.
healthy() {
	$DOCKER exec "$SERVICE" codex-service health > /dev/null 2>&1
}

# sleepers N PREFIX SECONDS: N custom jobs (Python) that print and sleep.
sleepers() {
	local i
	for ((i = 1; i <= $1; i++)); do
		jq -cn --arg id "$2-$i" --arg code "import time
print('up $i', flush=True)
time.sleep($3)
print('done $i')
" '{tempId: $id, language: "python", userCode: ($code | tojson)}'
	done
}

# answered_once PREFIX N: RESULTS holds exactly one result for each of the
# N jobs PREFIX-1..N, and nothing else of PREFIX.
answered_once() {
	local got
	got=$(topic_json "$RESULTS" | jq -r .key | grep -c "^$1-" || true)
	[ "$got" = "$2" ] && [ "$(topic_json "$RESULTS" | jq -r .key | grep "^$1-" | sort -u | grep -c .)" = "$2" ]
}

# stop_service [SECONDS]: `docker stop` with a grace period (150 s); its
# duration in ms in STOP_MS, the container's exit code in STOP_RC.
stop_service() {
	local t0
	t0=$(date +%s%3N)
	run -0 $DOCKER stop -t "${1:-150}" "$SERVICE"
	STOP_MS=$(($(date +%s%3N) - t0))
	STOP_RC=$($DOCKER inspect -f '{{.State.ExitCode}}' "$SERVICE")
	echo "# docker stop: ${STOP_MS} ms, exit $STOP_RC" >&3
}

keep_logs() {
	$DOCKER logs "$SERVICE" > "$BATS_FILE_TMPDIR/$SERVICE.log" 2>&1 || true
	tail -n 20 "$BATS_FILE_TMPDIR/$SERVICE.log" >&2
}

@test "make install: the service tree runs what was installed, and nothing refers to the checkout" {
	local dest=$BATS_TEST_TMPDIR/dest
	run -0 make -s install DESTDIR="$dest" PREFIX=/usr/local
	for f in bin/codex-service bin/sandbox-exec bin/kcat-jobs etc/codex/languages.conf \
		share/codex/harness/harness.py share/man/man1/codex-service.1; do
		assert [ -e "$dest/usr/local/$f" ]
	done
	run grep -rl -- "$ROOT" "$dest"
	assert_failure 1
	run -0 --separate-stderr "$dest/usr/local/bin/codex-service" tree "$BATS_TEST_TMPDIR/tree" KAFKA_BROKERS=x:1
	run -0 cat "$BATS_TEST_TMPDIR/tree/sv/codex-submit/run"
	assert_output --partial "'$dest/usr/local/bin/codex-service' lane submit"
	refute_output --partial "$ROOT"
}

@test "codex-service: bad settings are a configuration error (exit 100) that names them" {
	run -100 --separate-stderr env CODEX_LANES="custom bogus" bin/codex-service lane custom
	assert_equal "$stderr" "codex-service: CODEX_LANES: unknown lane 'bogus' (submit, run, custom)"
	run -100 --separate-stderr env CODEX_CUSTOM_CONCURRENCY=0 bin/codex-service lane custom
	assert_equal "$stderr" "codex-service: CODEX_CUSTOM_CONCURRENCY: '0' is not a whole number from 1 up"
	run -100 --separate-stderr env CODEX_DRAIN_SECONDS=soon bin/codex-service health
	assert_equal "$stderr" "codex-service: CODEX_DRAIN_SECONDS: 'soon' is not a whole number from 1 up"
	run -100 --separate-stderr env CODEX_USER="x'y" bin/codex-service lane run
	assert_equal "$stderr" "codex-service: CODEX_USER: 'x'y' is not a user name (a-z, 0-9, '_', '-')"
	run -100 --separate-stderr bin/codex-service tree "$BATS_TEST_TMPDIR/t" 'NOT A=PAIR'
	assert_equal "$stderr" "codex-service: 'NOT A=PAIR' is not KEY=VALUE"
}

@test "deploy/: the Kubernetes manifests, the compose file and the systemd unit are valid; a broken one of each is caught" {
	local d=$BATS_TEST_TMPDIR/deploy
	run -0 timeout 600 "$SCRIPTS/validate-deploy"
	assert_line "ok: kubernetes/deployment.yaml (Kubernetes 1.30)"
	assert_line "ok: compose.yaml (Compose Specification)"
	assert_line "ok: systemd/codex-exec.service (systemd-analyze verify)"
	cp -r deploy "$d"
	sed -i 's/terminationGracePeriodSeconds: 150/terminationGracePeriodSeconds: soon/' "$d/kubernetes/deployment.yaml"
	sed -i 's/stop_grace_period: 150s/stop_grace_period: 150s\n    stop_grace: 1/' "$d/compose.yaml"
	sed -i 's/KillMode=mixed/KillMode=gently/' "$d/systemd/codex-exec.service"
	run -1 --separate-stderr timeout 600 "$SCRIPTS/validate-deploy" "$d"
	assert_line "invalid: kubernetes/deployment.yaml (Kubernetes 1.33)"
	assert_line "invalid: compose.yaml (Compose Specification)"
	assert_line "invalid: systemd/codex-exec.service (systemd-analyze verify)"
	assert_line "ok: kubernetes/configmap.yaml (Kubernetes 1.33)"
	[[ "$stderr" == *"'soon' is not of type 'integer'"* ]]
	[[ "$stderr" == *"'stop_grace' was unexpected"* ]]
	[[ "$stderr" == *"gently"* ]]
}

@test "ns backend in a container with the least privileges (eight capabilities, seccomp unconfined, own cgroup namespace): every example judged, pino logs, healthy" {
	local n
	# shellcheck disable=SC2086
	service_start ns $NS_PRIVILEGES
	wait_until 60 healthy
	n=$(cat examples/*/*.json | jq -c 'select(.tempId and (.testCases | not))' | tee "$BATS_TEST_TMPDIR/jobs" | grep -c .)
	produce_jobs "$JOBS" < "$BATS_TEST_TMPDIR/jobs"
	wait_until 120 has_keys "$RESULTS" "$n"
	# Each example's verdict is the one its name gives.
	while read -r job; do
		id=$(jq -r .tempId <<< "$job")
		f=$(grep -l "\"$id\"" examples/*/custom-*.json | head -1)
		want=$(basename "$f" .json | sed 's/^custom-//; s/-/_/g')
		got=$(topic_messages "$RESULTS" | jq -r --arg id "$id" 'select(.key == $id) | .value.verdict' | head -1)
		assert_equal "$id $got" "$id $want"
	done < "$BATS_TEST_TMPDIR/jobs"
	# Every line on the container's stdout is a pino line.
	run -0 sh -c "$DOCKER logs $SERVICE 2>&1 | jq -e -s 'all(.level and .time and .name and .msg)'"
	# Python's runs came from its zygote, in each lane.
	run -0 sh -c "$DOCKER logs $SERVICE 2>&1 | jq -r .msg"
	assert_line --regexp '^python zygote [0-9]+ started$'
	refute_line --partial 'no python zygote'
}

@test "ns backend in a container: docker stop drains the running jobs, answers each once and exits 0 well within the grace period" {
	# shellcheck disable=SC2086
	service_start drain $NS_PRIVILEGES
	wait_until 60 healthy
	sleepers 6 drain 3 | produce_jobs "$JOBS"
	# Stopped while the jobs run: each has started (prints "up"), none done.
	wait_until 60 eval '[ "$($DOCKER logs "$SERVICE" 2>&1 | grep -c "consumed ")" -ge 6 ]'
	sleep 1
	stop_service 150
	assert_equal "$STOP_RC" 0
	assert [ "$STOP_MS" -lt 60000 ]
	answered_once drain 6
	topic_messages "$RESULTS" | jq -e -s '[.[] | select(.key | startswith("drain-"))]
		| all(.value.verdict == "accepted" and (.value.stdOut | test("done")))'
}

@test "ns backend in a container: a drain shorter than the jobs loses nothing; the next container answers the rest, once each" {
	# shellcheck disable=SC2086
	service_start short $NS_PRIVILEGES -e CODEX_DRAIN_SECONDS=1
	wait_until 60 healthy
	sleepers 4 short 8 | produce_jobs "$JOBS"
	wait_until 60 eval '[ "$($DOCKER logs "$SERVICE" 2>&1 | grep -c "consumed ")" -ge 4 ]'
	stop_service 150
	assert_equal "$STOP_RC" 0
	run -0 sh -c "$DOCKER logs $SERVICE 2>&1 | grep -c 'drain time-out'"
	# None answered yet: every offset is still uncommitted.
	assert_equal "$(topic_json "$RESULTS" | grep -c '"short-' || true)" 0
	keep_logs
	# shellcheck disable=SC2086
	service_start short2 $NS_PRIVILEGES
	wait_until 120 answered_once short 4
	sleep 2
	answered_once short 4
}

@test "ns backend in a container without CAP_SYS_ADMIN: unhealthy, and says why" {
	service_start bare --cgroupns private
	wait_until 30 eval '$DOCKER exec "$SERVICE" codex-service health | grep -q "pool-ctl up"'
	run -0 $DOCKER logs "$SERVICE"
	assert_output --partial "read-only and cannot be remounted (no CAP_SYS_ADMIN?)"
	run -1 $DOCKER exec "$SERVICE" codex-service health
	assert_output --partial "unhealthy: pool-ctl up:"
	assert_output --partial "Read-only file system"
}

@test "docker backend through the Engine's socket, only CAP_SETUID, CAP_SETGID and CAP_KILL: jobs in, results out, docker stop drains" {
	local sock=${DOCKER_HOST:-unix:///run/docker.sock}
	sock=${sock#unix://}
	service_start docker --cap-drop ALL --cap-add SETUID --cap-add SETGID --cap-add KILL \
		--security-opt no-new-privileges -v "$sock:/var/run/docker.sock" \
		-e SANDBOX_BACKEND=docker -e CONTAINER_POOL_SIZE=1 -e CODEX_INSTANCE="$NAME-docker"
	wait_until 120 healthy
	cat examples/python/custom-accepted.json examples/go/custom-accepted.json | produce_jobs "$JOBS"
	sleepers 2 dk 2 | produce_jobs "$JOBS"
	wait_until 120 has_keys "$RESULTS" 3
	stop_service 150
	assert_equal "$STOP_RC" 0
	answered_once dk 2
	assert_equal "$(topic_count "$RESULTS")" 4
	topic_messages "$RESULTS" | jq -e -s 'all(.value.verdict == "accepted")'
	# The pool is the service's own: containers of its instance, and no other.
	run -0 $DOCKER ps -a --filter "label=codex.pool=$NAME-docker" -q
	assert [ "${#lines[@]}" -ge 1 ]
}
