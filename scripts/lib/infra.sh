# shellcheck shell=sh
# Helpers shared by scripts/kafka-up, kafka-down, redis-up and redis-down:
# `. "$here/lib/infra.sh"`. POSIX sh; the caller has `set -eu`.

say() { echo "${0##*/}: $*" >&2; }

# apt_need CMD PACKAGE...: installs the packages when CMD is not on PATH.
apt_need() {
	command -v "$1" >/dev/null 2>&1 && return 0
	shift
	say "installing $*"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >&2
	apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# free_port N: N, or the first port above it with neither a listener nor
# a live connection on it (the tests' ports are in the kernel's ephemeral
# range, where a client's socket may sit, and a bind fails over it). The
# closing sockets a stopped server leaves do not count: a server restarted
# on its port binds over them.
free_port() {
	p=$1
	while [ -n "$(ss -Htan state listening state established state syn-sent "sport = :$p")" ]; do
		p=$((p + 1))
		[ "$p" -lt $(($1 + 200)) ] || { say "no free port from $1"; return 1; }
	done
	echo "$p"
}

# pid_of PIDFILE: the pid a pid file names (its first word).
pid_of() {
	read -r p _ < "$1" && echo "$p"
}

# alive PIDFILE WORD: the pid file names a live process whose command line
# holds WORD (so a reused pid is not taken for ours). A process in the middle
# of an exec reads as an empty command line for a moment (a daemon just
# started through nohup does, one read in ten), so an empty one is read
# again; a zombie's stays empty.
alive() {
	[ -s "$1" ] || return 1
	a_pid=$(pid_of "$1")
	for _ in 1 2 3 4 5; do
		a_cmd=$(tr '\0' ' ' 2>/dev/null < "/proc/$a_pid/cmdline") || return 1
		case $a_cmd in
		'') sleep 0.02 ;;
		*"$2"*) return 0 ;;
		*) return 1 ;;
		esac
	done
	return 1
}

# launched PIDFILE WORD: waits up to a second for a process just started in
# the background to have exec'd (before that its command line is the
# caller's), so that `alive` can judge it.
launched() {
	l_i=0
	until alive "$1" "$2" || [ $l_i -ge 50 ]; do
		sleep 0.02
		l_i=$((l_i + 1))
	done
}

# stop PIDFILE WORD SECONDS: SIGTERM, up to SECONDS to exit, then SIGKILL.
# A zombie has no command line, so `alive` takes it for gone.
stop() {
	alive "$1" "$2" || return 0
	pid=$(pid_of "$1")
	kill -TERM "$pid" 2>/dev/null || return 0
	i=0
	while alive "$1" "$2" && [ $i -lt $(($3 * 10)) ]; do
		sleep 0.1
		i=$((i + 1))
	done
	alive "$1" "$2" || return 0
	say "pid $pid still running after ${3}s: SIGKILL"
	kill -KILL "$pid" 2>/dev/null || true
	i=0
	while alive "$1" "$2" && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
}

# logtail FILE...: the last lines of each log, on stderr.
logtail() {
	for f in "$@"; do
		[ -s "$f" ] || continue
		echo "--- tail of $f" >&2
		tail -n 40 "$f" >&2
	done
}
