#!/usr/bin/env bats
# The runner image of the Docker sandbox backend: scripts/dockerd-up starts
# dockerd (or finds one answering) and scripts/build-images builds
# codex-base:bookworm and codex-runner once for the file (the first run on a
# machine fetches the packages from deb.debian.org). dockerd is left
# running: other suites use it too.
bats_require_minimum_version 1.5.0
load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'

SCRIPTS=$(cd "$BATS_TEST_DIRNAME/../scripts" && pwd)
DOCKER=/usr/bin/docker
IMAGE=codex-runner:latest

setup_file() {
	timeout 300 "$SCRIPTS/dockerd-up" >/dev/null
	timeout 900 "$SCRIPTS/build-images"
}

# in_runner [DOCKER_RUN_OPTION...] -- COMMAND...: runs COMMAND in the runner
# as a job runs: uid 1000, no network, read-only root, the work directories
# on tmpfs.
in_runner() {
	local opts=()
	while [ "$1" != -- ]; do
		opts+=("$1")
		shift
	done
	shift
	timeout 60 "$DOCKER" run --rm --network none --read-only --user 1000:1000 \
		--tmpfs /tmp:rw,exec,mode=1777 \
		--tmpfs /sandbox/code:rw,uid=1000,gid=1000,mode=0755 \
		--tmpfs /sandbox/bin:rw,exec,uid=1000,gid=1000,mode=0755 \
		"${opts[@]}" --entrypoint "$1" "$IMAGE" "${@:2}"
}

@test "build-images again: nothing to build, fast, exit 0" {
	local start=$SECONDS
	run -0 --separate-stderr timeout 120 "$SCRIPTS/build-images"
	assert_output ""
	[[ "$stderr" == *"codex-runner:latest is up to date"* ]]
	[ $((SECONDS - start)) -lt 10 ]
	version=$(sed -n 's/^VERSION *:*= *//p' "$BATS_TEST_DIRNAME/../Makefile")
	run -0 "$DOCKER" image inspect -f '{{.Id}}' "$IMAGE" "codex-runner:$version"
	[ "${#lines[@]}" -eq 2 ]
	assert_equal "${lines[0]}" "${lines[1]}"
}

@test "the runner is configured as a job's container: user, workdir, agent, PATH" {
	run -0 "$DOCKER" image inspect -f \
		'{{.Config.User}} {{.Config.WorkingDir}} {{json .Config.Entrypoint}}' "$IMAGE"
	assert_output '1000:1000 /sandbox/code ["/usr/local/bin/codex-agent"]'
	run -0 in_runner -- /bin/sh -c 'id -u; id -g; id -un; echo "$PATH"; stat -c "%u:%g %a" /usr/local/bin/codex-agent'
	assert_equal "${lines[*]}" "1000 1000 sandbox /usr/local/bin:/usr/bin:/bin 0:0 755"
}

@test "a read-only root works: writes fail there and succeed on the tmpfs" {
	run -0 in_runner -- /bin/sh -c 'touch /etc/x /usr/x 2>&1; echo ok > /tmp/x && cat /tmp/x;
		echo ok > /sandbox/code/x && cat /sandbox/code/x'
	assert_line --index 0 --partial "'/etc/x': Read-only file system"
	assert_line --index 1 --partial "'/usr/x': Read-only file system"
	assert_line --index 2 ok
	assert_line --index 3 ok
	[ "${#lines[@]}" -eq 4 ]
}

@test "python3, node and go run" {
	run -0 in_runner -- /usr/bin/python3 -c 'print(6 * 7)'
	assert_output 42
	run -0 in_runner -- /usr/bin/node -e 'console.log(6 * 7)'
	assert_output 42
	run -0 in_runner -- /usr/local/go/bin/go version
	assert_output "$(/usr/local/go/bin/go version)"
}

@test "the toolchains of C, C++, Rust and Java run: Debian 12's gcc and g++ 12, rustc 1.63, OpenJDK 17" {
	run -0 in_runner -- /usr/bin/gcc --version
	assert_line --index 0 --regexp '^gcc \(Debian 12\.'
	run -0 in_runner -- /usr/bin/g++ --version
	assert_line --index 0 --regexp '^g\+\+ \(Debian 12\.'
	run -0 in_runner -- /usr/bin/rustc --version
	assert_output --regexp '^rustc 1\.63\.'
	run -0 in_runner -- /usr/bin/javac -version
	assert_output --regexp '^javac 17\.'
	run -0 in_runner -- /usr/bin/java -XX:-UsePerfData -version
	assert_line --index 0 --regexp '^openjdk version "17\.'
}

@test "node is the host's when the host's is one self-contained binary, else Debian's" {
	run -0 in_runner -- /usr/bin/node --version
	if ldd /usr/bin/node | grep -q libnode; then
		assert_output --regexp '^v18\.'
	else
		assert_output "$(/usr/bin/node --version)"
	fi
}

@test "the warm Go cache is read-only for uid 1000 and builds a program from it" {
	# Even with a writable root, uid 1000 cannot write the cache.
	run -0 timeout 60 "$DOCKER" run --rm --network none --entrypoint /bin/sh "$IMAGE" -c \
		'stat -c "%u:%g" /opt/codex/go-build; [ -w /opt/codex/go-build ] || echo not writable;
		 touch /opt/codex/go-build/x 2>&1; find /opt/codex/go-build -perm /222 | wc -l'
	assert_line --index 0 "0:0"
	assert_line --index 1 "not writable"
	assert_line --index 2 --partial "Permission denied"
	assert_line --index 3 0
	run -0 in_runner -e GO111MODULE=off -e CGO_ENABLED=0 -e GOTOOLCHAIN=local \
		-e GOCACHE=/opt/codex/go-build -e GOPATH=/tmp/go -e GOFLAGS=-buildvcs=false \
		-e HOME=/tmp -- /bin/sh -c '
		printf "package main\n\nimport \"fmt\"\n\nfunc main() { fmt.Println(6 * 7) }\n" > main.go
		/usr/local/go/bin/go build -x -o /sandbox/bin/p . 2> /tmp/log || cat /tmp/log
		grep -c "/compile " /tmp/log; /sandbox/bin/p'
	# Only main is compiled: the standard library comes from the cache.
	assert_equal "${lines[*]}" "1 42"
}

@test "every slot uid of the docker pool has a passwd entry (sandbox, home /tmp), so a program can ask who it is" {
	local first last
	first=$(($(awk '/^\[/ { box = ($0 == "[box]") } box && $1 == "uid_base" { print $3 }' \
		"$BATS_TEST_DIRNAME/../etc/languages.conf") + 100000))
	last=$((first + ($(grep -c '^\[' "$BATS_TEST_DIRNAME/../etc/languages.conf") - 1) * 1024 - 1))
	run -0 timeout 60 "$DOCKER" run --rm --network none --entrypoint /usr/bin/getent "$IMAGE" \
		passwd "$first" "$last"
	assert_line --index 0 "sandbox:x:$first:$first:sandbox:/tmp:/usr/sbin/nologin"
	assert_line --index 1 "sandbox:x:$last:$last:sandbox:/tmp:/usr/sbin/nologin"
	run -0 timeout 60 "$DOCKER" run --rm --network none --user "$last:$last" \
		--entrypoint /usr/bin/node "$IMAGE" -e 'console.log(require("os").userInfo().username)'
	assert_output sandbox
}

@test "the /sandbox directories belong to 1000:1000, /tmp is 1777" {
	run -0 timeout 60 "$DOCKER" run --rm --network none --entrypoint /usr/bin/stat "$IMAGE" \
		-c '%n %u:%g %a' /sandbox /sandbox/code /sandbox/bin /sandbox/results /tmp
	assert_equal "${lines[*]}" "/sandbox 0:0 755 /sandbox/code 1000:1000 755 /sandbox/bin 1000:1000 755 /sandbox/results 1000:1000 755 /tmp 0:0 1777"
}

@test "build-images and dockerd-up: bad usage exits 100 with the usage" {
	run -100 --separate-stderr "$SCRIPTS/build-images" --bogus
	assert_output ""
	[[ "$stderr" == *"Usage: scripts/build-images [--force] [--base IMAGE]"* ]]
	run -100 --separate-stderr "$SCRIPTS/build-images" --base
	run -100 --separate-stderr "$SCRIPTS/dockerd-up" --bogus
	[[ "$stderr" == *"Usage: scripts/dockerd-up [--restart] [--owner TAG]"* ]]
	run -100 --separate-stderr "$SCRIPTS/dockerd-down" --owner
	[[ "$stderr" == *"Usage: scripts/dockerd-down [--owner TAG]"* ]]
}

@test "dockerd-down --owner leaves alone a daemon that owner did not start" {
	local pid
	pid=$(cut -d ' ' -f 1 /run/codex-dockerd.pid)
	run -0 --separate-stderr timeout 60 "$SCRIPTS/dockerd-down" --owner not-the-starter
	kill -0 "$pid"
	run -0 --separate-stderr timeout 60 "$SCRIPTS/dockerd-up" --owner another
	assert_output "unix:///run/docker.sock"
	assert_equal "$(cut -d ' ' -f 1 /run/codex-dockerd.pid)" "$pid"
	run -0 --separate-stderr timeout 60 "$SCRIPTS/dockerd-down" --owner another
	kill -0 "$pid"
}

@test "dockerd-up again: the running daemon is reused" {
	run -0 --separate-stderr timeout 60 "$SCRIPTS/dockerd-up"
	assert_output "unix:///run/docker.sock"
}
