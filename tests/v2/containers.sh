#!/bin/sh
# Containers on a cgroup v2 host: runs in a guest of scripts/vm with room
# for the images, after scripts/build-images on this host:
#
#   docker save codex-runner:latest -o /var/cache/codex-images/vm-runner.tar
#   docker save codex-service:latest -o /var/cache/codex-images/vm-service.tar
#   scripts/vm --cgroup child --mem 6144 -- tests/v2/containers.sh
#
# Starts Debian's dockerd in the guest (cgroup v2, a cgroup namespace per
# container), loads the two images, then prints: the docker backend's
# figures for a few examples and a pool container's memory.max and
# memory.swap.max after a step; the service image with the least
# privileges of docs/deploy.md judging every example (its verdicts
# counted). Not part of make test: loading the images takes 5 minutes.
set -u
cd "$(dirname "$0")/../.."
[ -f /sys/fs/cgroup/cgroup.controllers ] || { echo "not a cgroup v2 host: run it through scripts/vm" >&2; exit 100; }
images=/var/cache/codex-images
mkdir -p /run/dk
/usr/sbin/dockerd --data-root /var/lib/docker -H unix:///run/docker.sock --exec-root /run/dk \
	--iptables=false --bridge=none > /tmp/dockerd.log 2>&1 &
for i in $(seq 1 120); do docker version > /dev/null 2>&1 && break; sleep 1; done
docker info 2>/dev/null | grep -E "Cgroup (Driver|Version)"
t0=$(date +%s)
docker load -i $images/vm-runner.tar | tail -1
docker load -i $images/vm-service.tar | tail -1
echo "== images loaded in $(($(date +%s) - t0)) s"

echo "== docker backend"
export SANDBOX_BACKEND=docker CONTAINER_POOL_SIZE=1 CODEX_INSTANCE=v2containers
bin/pool-ctl up 2>&1 | jq -Mr .msg | tail -1
for f in examples/python/compat-memory-limit.json examples/javascript/compat-memory-limit.json \
	examples/go/stdio-accepted.json examples/python/function-accepted.json; do
	timeout 600 bin/sandbox-exec < "$f" 2> /dev/null | jq -Mc '{id: (.submissionId // .tempId),
		runs: [.exec.runs[] | {limit, memoryKb, exitCode}]}'
done
cid=$(docker ps -q --filter label=codex.pool=v2containers --filter label=codex.language=python | head -n 1)
cg=/sys/fs/cgroup$(sed -n 's/^0:://p' "/proc/$(docker inspect -f '{{.State.Pid}}' "$cid")/cgroup")
echo "python container: memory.max $(cat "$cg/memory.max"), memory.swap.max $(cat "$cg/memory.swap.max")"
bin/pool-ctl down > /dev/null 2>&1
unset SANDBOX_BACKEND CONTAINER_POOL_SIZE CODEX_INSTANCE

echo "== the service image, ns backend, least privileges"
# shellcheck disable=SC2016 # the script is the container's
cat examples/*/*.json | docker run --rm -i --network none --cap-drop ALL \
	--cap-add SYS_ADMIN --cap-add CHOWN --cap-add DAC_OVERRIDE --cap-add FOWNER \
	--cap-add SETUID --cap-add SETGID --cap-add KILL --security-opt seccomp=unconfined \
	--cgroupns private -v "$PWD/build/v2/languages.conf:/etc/codex-v2.conf:ro" \
	-e CODEX_LANGUAGES=/etc/codex-v2.conf --entrypoint /bin/sh codex-service:latest -c '
	awk "\$9 ~ /^cgroup2?\$/ && \$6 ~ /(^|,)ro(,|\$)/ { print \$5 }" /proc/self/mountinfo |
		while read -r m; do mount -o remount,bind,rw "$m"; done
	echo "own group: $(cat /proc/self/cgroup)" >&2
	sandbox-exec -j 2 | judge' 2> /tmp/service.err > /tmp/service.out
grep '^own group' /tmp/service.err
jq -r '.result.executionResult.verdict // .result.verdict' /tmp/service.out | sort | uniq -c
