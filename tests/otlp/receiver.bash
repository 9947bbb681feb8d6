# Sourced by suites that need tests/otlp/receiver.py as their collector.
#
# otlp_receiver_start OUT [MODE_FILE [OPTION...]]: the receiver on free
#   ports of 127.0.0.1, appending what it decodes to OUT, with receiver.py's
#   OPTIONs (--tls-cert ...); sets OTLP_PID, OTLP_GRPC and OTLP_HTTP.
#   Returns 1 (saying why) when it did not start in 10 s.
# otlp_receiver_stop: stops it (SIGTERM) and waits for it.
otlp_receiver_start() {
	local out=$1 mode=${2:-/dev/null} ready=$1.ready i
	shift $(($# < 2 ? $# : 2))
	rm -f "$ready"
	timeout 600 /usr/bin/python3 "$ROOT/tests/otlp/receiver.py" --out "$out" --ready "$ready" \
		--mode-file "$mode" "$@" > /dev/null 2> "$out.err" 3>&- &
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

# otlp_test_certs DIR: a CA (ca.pem) and, signed by it, a server
# certificate for 127.0.0.1 (server.pem, server.key) and a client
# certificate (client.pem, client.key), all in DIR, valid for two days.
otlp_test_certs() {
	local d=$1 who
	mkdir -p "$d"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
		-keyout "$d/ca.key" -out "$d/ca.pem" -days 2 -subj "/CN=codex test CA" 2> /dev/null
	for who in server client; do
		openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
			-keyout "$d/$who.key" -out "$d/$who.csr" -subj "/CN=codex test $who" 2> /dev/null
	done
	printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' > "$d/server.ext"
	printf 'extendedKeyUsage=clientAuth\n' > "$d/client.ext"
	for who in server client; do
		openssl x509 -req -in "$d/$who.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" \
			-CAcreateserial -days 2 -extfile "$d/$who.ext" -out "$d/$who.pem" 2> /dev/null
	done
}
