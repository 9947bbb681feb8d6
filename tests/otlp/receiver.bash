# Sourced by suites that need tests/otlp/receiver.py as their collector.
#
# otlp_receiver_start OUT [MODE_FILE]: the receiver on free ports of
#   127.0.0.1, appending what it decodes to OUT; sets OTLP_PID, OTLP_GRPC
#   and OTLP_HTTP. Returns 1 (saying why) when it did not start in 10 s.
# otlp_receiver_stop: stops it (SIGTERM) and waits for it.
otlp_receiver_start() {
	local out=$1 mode=${2:-/dev/null} ready=$1.ready i
	rm -f "$ready"
	timeout 600 /usr/bin/python3 "$ROOT/tests/otlp/receiver.py" --out "$out" --ready "$ready" \
		--mode-file "$mode" > /dev/null 2> "$out.err" 3>&- &
	OTLP_PID=$!
	for i in $(seq 100); do
		[ -s "$ready" ] && break
		sleep 0.1
	done
	if [ ! -s "$ready" ]; then
		echo "the OTLP receiver did not start: $(cat "$out.err")" >&2
		return 1
	fi
	read -r OTLP_GRPC OTLP_HTTP < "$ready"
	OTLP_GRPC=${OTLP_GRPC#grpc=} OTLP_HTTP=${OTLP_HTTP#http=}
}

otlp_receiver_stop() {
	[ -n "${OTLP_PID:-}" ] || return 0
	kill -TERM "$OTLP_PID" 2> /dev/null || true
	wait "$OTLP_PID" 2> /dev/null || true
	OTLP_PID=
}
