#!/usr/bin/env bats
# lib/otel/otel.c against a real OTLP receiver (tests/otlp/receiver.py, gRPC,
# http/protobuf and http/json on ports of its choosing): build/tests/otel-emit
# (tests/otlp/otel-emit.c) sends two spans, a few metrics and -n more
# spans; each test checks what the receiver decoded, what the emitter
# reports (exported, dropped), and its exit status. docs/telemetry.md.
bats_require_minimum_version 1.5.0
load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'

ROOT=$(cd "$BATS_TEST_DIRNAME/.." && pwd)
EMIT=$ROOT/build/tests/otel-emit
PARENT=00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01
# Debian's python3 has python3-grpcio and python3-protobuf (scripts/bootstrap).
PY=/usr/bin/python3

# The OTEL_* settings under test are the file's own.
source "$BATS_TEST_DIRNAME/otlp/env.bash"
source "$BATS_TEST_DIRNAME/otlp/receiver.bash"

setup_file() {
	make -s -C "$ROOT" build/tests/otel-emit
	"$PY" -c 'import grpc, google.protobuf' || {
		echo "Debian's python3-grpcio and python3-protobuf are needed (scripts/bootstrap)" >&2
		return 1
	}
	command -v protoc > /dev/null || { echo "protoc is needed (scripts/bootstrap)" >&2; return 1; }
}

setup() {
	OUT=$BATS_TEST_TMPDIR/received.jsonl
	MODE=$BATS_TEST_TMPDIR/mode
	: > "$OUT"
}

teardown() {
	otlp_receiver_stop
}

# start_receiver [MODE]: the receiver on free ports ($GRPC, $HTTP), answering
# as MODE says (see receiver.py).
start_receiver() {
	[ -z "${1:-}" ] || echo "$1" > "$MODE"
	otlp_receiver_start "$OUT" "$MODE"
	GRPC=$OTLP_GRPC HTTP=$OTLP_HTTP
}

# emit [ARG...]: the emitter, under a time limit.
emit() {
	timeout 60 "$EMIT" "$@"
}

# received JQ_FILTER: the filter over the received records, slurped.
received() {
	jq -c -s "$1" "$OUT"
}

# The stdout line NAME=VALUE of the emitter's last run.
field() {
	printf '%s\n' "$output" | sed -n "s/^$1=\([^ ]*\).*/\1/p"
}

# assert_exported: the two spans and the metrics of otel-emit arrived over
# TRANSPORT, whole (the consumer span a child of $PARENT).
assert_exported() {
	local transport=$1 tp consumer_id
	assert_line 'threads=2'
	assert_line 'exported=2 dropped=0 metric_exports=1 metric_failed=0'
	tp=$(field traceparent)
	consumer_id=$(echo "$tp" | cut -d- -f3)
	[ "$(echo "$tp" | cut -d- -f2)" = 4bf92f3577b34da6a3ce929d0e0e4736 ]

	run received "[.[] | select(.type == \"span\")] | length"
	assert_output 2
	run received "[.[] | select(.type == \"span\" and .name == \"process SUBMISSION_JOBS\")] | .[0]
		| {transport, scope, trace_id, span_id, parent_span_id, trace_state, kind, attributes,
		   status, service: .resource[\"service.name\"], ok: (.end >= .start and .start > 0)}"
	assert_output "{\"transport\":\"$transport\",\"scope\":\"codex-exec\",\"trace_id\":\"4bf92f3577b34da6a3ce929d0e0e4736\",\"span_id\":\"$consumer_id\",\"parent_span_id\":\"00f067aa0ba902b7\",\"trace_state\":\"rojo=1\",\"kind\":5,\"attributes\":{\"messaging.kafka.offset\":42,\"messaging.system\":\"kafka\",\"ratio\":0.25,\"raw\":\"bad?\",\"retry\":false},\"status\":{\"code\":0,\"message\":\"\"},\"service\":\"otel-emit\",\"ok\":true}"
	run received "[.[] | select(.type == \"span\" and .name == \"sandbox run\")] | .[0]
		| {trace_id, parent_span_id, kind, attributes, status}"
	assert_output "{\"trace_id\":\"4bf92f3577b34da6a3ce929d0e0e4736\",\"parent_span_id\":\"$consumer_id\",\"kind\":1,\"attributes\":{\"error.type\":\"timeout\"},\"status\":{\"code\":2,\"message\":\"ran out of time\"}}"

	run received '[.[] | select(.type == "metric")
		| {name, kind, monotonic, temporality, unit, attributes, value, count, sum, min, max,
		   bucket_counts} | with_entries(select(.value != null))]'
	assert_output '[{"name":"codex.jobs","kind":"sum","monotonic":true,"temporality":2,"unit":"{job}","attributes":{"lane":"submit","verdict":"accepted"},"value":2},{"name":"codex.jobs","kind":"sum","monotonic":true,"temporality":2,"unit":"{job}","attributes":{"lane":"run","verdict":"wrong"},"value":1},{"name":"codex.job.duration","kind":"histogram","monotonic":false,"temporality":2,"unit":"ms","attributes":{"language":"python"},"count":3,"sum":710,"min":3,"max":700,"bucket_counts":[0,0,1,1,0,0,0,0,0,1,0,0,0,0]},{"name":"codex.slots.free","kind":"gauge","monotonic":false,"temporality":0,"unit":"{slot}","attributes":{},"value":5},{"name":"codex.slots.busy","kind":"sum","monotonic":false,"temporality":2,"unit":"{slot}","attributes":{},"value":1}]'
	run received '[.[] | select(.type == "metric" and .kind == "histogram")][0].explicit_bounds'
	assert_output '[1,2,5,10,25,50,100,250,500,1000,2500,5000,10000]'
	run received '[.[] | select(.type == "request") | "\(.signal) \(.answer)"] | join(",")'
	assert_output '"traces ok,metrics ok"'
}

@test "grpc: the spans and metrics arrive whole, as children of the incoming traceparent" {
	start_receiver
	export OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:$GRPC
	run -0 --separate-stderr emit -p "$PARENT" -s rojo=1
	assert_exported grpc
	[ -z "$stderr" ]
}

@test "die(): the spans and metrics not yet sent go out before the exit" {
	start_receiver
	export OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:$GRPC OTEL_BSP_SCHEDULE_DELAY=60000
	run -111 --separate-stderr emit -p "$PARENT" -s rojo=1 -d
	run received '[.[] | select(.type == "span")] | length'
	assert_output 2
	run received '[.[] | select(.type == "metric")] | length'
	assert_output 5
}

@test "die(): its line is pino's fatal line" {
	run -111 --separate-stderr emit -d
	run jq -c '{level, name, msg}' <<< "$stderr"
	assert_output '{"level":60,"name":"otel-emit","msg":"dying on purpose"}'
}

@test "http/protobuf: the spans and metrics arrive whole" {
	start_receiver
	export OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:$HTTP/
	run -0 --separate-stderr emit -p "$PARENT" -s rojo=1
	assert_exported http
	[ -z "$stderr" ]
}

@test "http/json: the spans and metrics arrive whole, read by protobuf's strict JSON parser" {
	start_receiver
	export OTEL_EXPORTER_OTLP_PROTOCOL=http/json OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:$HTTP
	run -0 --separate-stderr emit -p "$PARENT" -s rojo=1
	assert_exported json
	[ -z "$stderr" ]
	run received '[.[] | select(.type == "error")] | length'
	assert_output 0
	run received '[.[] | select(.type == "request") | .headers["content-type"]] | unique'
	assert_output '["application/json"]'
}

@test "per-signal endpoints and protocols: traces over gRPC, metrics over http/protobuf" {
	start_receiver
	export OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=http://127.0.0.1:$GRPC
	export OTEL_EXPORTER_OTLP_METRICS_ENDPOINT=http://127.0.0.1:$HTTP/v1/metrics
	export OTEL_EXPORTER_OTLP_METRICS_PROTOCOL=http/protobuf
	run -0 --separate-stderr emit
	assert_line 'exported=2 dropped=0 metric_exports=1 metric_failed=0'
	run received '[.[] | select(.type == "request") | "\(.signal) \(.transport)"] | join(",")'
	assert_output '"traces grpc,metrics http"'
	run received '[.[] | select(.type == "span") | .parent_span_id] | sort'
	assert_output --regexp '^\["","[0-9a-f]{16}"\]$'
}

@test "gzip: gRPC calls and HTTP bodies compressed, the spans and metrics whole; per signal too" {
	start_receiver
	OTEL_EXPORTER_OTLP_COMPRESSION=gzip OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:$GRPC \
		run -0 --separate-stderr emit -p "$PARENT" -s rojo=1
	assert_exported grpc	# grpcio inflates the calls itself: whole spans are the proof
	: > "$OUT"
	OTEL_EXPORTER_OTLP_COMPRESSION=gzip OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf \
		OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:$HTTP run -0 --separate-stderr emit -p "$PARENT" -s rojo=1
	assert_exported http
	run received '[.[] | select(.type == "request") | "\(.signal) \(.encoding) \(.headers["content-encoding"])"]'
	assert_output '["traces gzip gzip","metrics gzip gzip"]'
	: > "$OUT"
	OTEL_EXPORTER_OTLP_METRICS_COMPRESSION=gzip OTEL_EXPORTER_OTLP_COMPRESSION=none \
		OTEL_EXPORTER_OTLP_PROTOCOL=http/json OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:$HTTP run -0 emit
	run received '[.[] | select(.type == "request") | "\(.signal) \(.encoding)"]'
	assert_output '["traces identity","metrics gzip"]'
	run received '[.[] | select(.type == "span")] | length'
	assert_output 2
}

@test "TLS: gRPC and http/protobuf to a collector whose CA is OTEL_EXPORTER_OTLP_CERTIFICATE" {
	otlp_test_certs "$BATS_TEST_TMPDIR/tls"
	otlp_receiver_start "$OUT" "$MODE" --tls-cert "$BATS_TEST_TMPDIR/tls/server.pem" \
		--tls-key "$BATS_TEST_TMPDIR/tls/server.key"
	export OTEL_EXPORTER_OTLP_CERTIFICATE=$BATS_TEST_TMPDIR/tls/ca.pem
	OTEL_EXPORTER_OTLP_ENDPOINT=https://127.0.0.1:$OTLP_GRPC run -0 --separate-stderr emit -p "$PARENT" -s rojo=1
	assert_exported grpc
	[ -z "$stderr" ]
	: > "$OUT"
	OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf OTEL_EXPORTER_OTLP_ENDPOINT=https://127.0.0.1:$OTLP_HTTP \
		run -0 --separate-stderr emit -p "$PARENT" -s rojo=1
	assert_exported http
	[ -z "$stderr" ]
}

@test "TLS with a collector the CAs do not vouch for: every export fails at once (not retried), saying why" {
	otlp_test_certs "$BATS_TEST_TMPDIR/tls"
	otlp_receiver_start "$OUT" "$MODE" --tls-cert "$BATS_TEST_TMPDIR/tls/server.pem" \
		--tls-key "$BATS_TEST_TMPDIR/tls/server.key"
	local start=$(date +%s%N) elapsed_ms
	OTEL_EXPORTER_OTLP_ENDPOINT=https://127.0.0.1:$OTLP_GRPC run -0 --separate-stderr emit
	elapsed_ms=$((($(date +%s%N) - start) / 1000000))
	assert_line 'exported=0 dropped=2 metric_exports=0 metric_failed=1'
	[[ "$stderr" == *"SSL certificate problem"* ]] || fail "stderr: $stderr"
	# Not retried: five tries with backoff would take over 3.7 s per signal.
	[ "$elapsed_ms" -lt 3000 ] || fail "took $elapsed_ms ms: retried?"
	run received '[.[] | select(.type == "request")] | length'
	assert_output 0
}

@test "mutual TLS: OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE and _CLIENT_KEY are presented; without them the collector refuses" {
	local tls=$BATS_TEST_TMPDIR/tls
	otlp_test_certs "$tls"
	otlp_receiver_start "$OUT" "$MODE" --tls-cert "$tls/server.pem" --tls-key "$tls/server.key" \
		--tls-client-ca "$tls/ca.pem"
	export OTEL_EXPORTER_OTLP_CERTIFICATE=$tls/ca.pem OTEL_EXPORTER_OTLP_ENDPOINT=https://127.0.0.1:$OTLP_GRPC
	OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE=$tls/client.pem OTEL_EXPORTER_OTLP_CLIENT_KEY=$tls/client.key \
		run -0 --separate-stderr emit -p "$PARENT" -s rojo=1
	assert_exported grpc
	run -0 --separate-stderr emit
	assert_line 'exported=0 dropped=2 metric_exports=0 metric_failed=1'
	[[ "$stderr" == *"otel: exporting traces to https://127.0.0.1:$OTLP_GRPC/"*"failed"* ]] || fail "stderr: $stderr"
}

@test "headers (per signal too), service name and resource attributes go out with every request" {
	start_receiver
	export OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:$GRPC
	export OTEL_EXPORTER_OTLP_HEADERS='x-tenant=team%20a,authorization=Bearer%20t0k'
	export OTEL_SERVICE_NAME=codex-judge OTEL_RESOURCE_ATTRIBUTES='deployment.environment=test,service.name=ignored'
	run -0 --separate-stderr emit
	run received '[.[] | select(.type == "request") | .headers | {"x-tenant", authorization}] | unique'
	assert_output '[{"x-tenant":"team a","authorization":"Bearer t0k"}]'
	run received '[.[] | select(.type != "request") | .resource | {"service.name", "deployment.environment"}] | unique'
	assert_output '[{"service.name":"codex-judge","deployment.environment":"test"}]'
	# A signal's own headers replace the general ones for that signal.
	: > "$OUT"
	OTEL_EXPORTER_OTLP_METRICS_HEADERS='x-tenant=metrics' run -0 --separate-stderr emit
	run received '[.[] | select(.type == "request") | "\(.signal) \(.headers["x-tenant"]) \(.headers.authorization)"]'
	assert_output '["traces team a Bearer t0k","metrics metrics null"]'
}

@test "UNAVAILABLE is retried with backoff until the collector takes the batch" {
	start_receiver 'unavailable 2 traces'
	export OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:$GRPC OTEL_BSP_SCHEDULE_DELAY=50
	run -0 --separate-stderr emit -w 1500
	assert_line 'exported=2 dropped=0 metric_exports=1 metric_failed=0'
	run received '[.[] | select(.type == "request") | "\(.signal) \(.answer)"] | join(",")'
	assert_output '"traces unavailable,traces unavailable,traces ok,metrics ok"'
	run received '[.[] | select(.type == "span")] | length'
	assert_output 2
	# Only a batch that is dropped in the end is worth a log line.
	[ -z "$stderr" ]
}

@test "http/protobuf: 503 is retried too" {
	start_receiver 'unavailable 1 traces'
	export OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:$HTTP
	export OTEL_BSP_SCHEDULE_DELAY=50
	run -0 --separate-stderr emit -w 1000
	assert_line 'exported=2 dropped=0 metric_exports=1 metric_failed=0'
	run received '[.[] | select(.type == "request") | "\(.signal) \(.answer)"] | join(",")'
	assert_output '"traces unavailable,traces ok,metrics ok"'
}

@test "a refused batch (INVALID_ARGUMENT) is not retried: dropped, and counted in otel.exporter.dropped" {
	start_receiver 'invalid * traces'
	export OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:$GRPC
	run -0 --separate-stderr emit
	assert_line 'exported=0 dropped=2 metric_exports=1 metric_failed=0'
	run received '[.[] | select(.type == "request") | "\(.signal) \(.answer)"] | join(",")'
	assert_output '"traces invalid,metrics ok"'
	run received '[.[] | select(.type == "metric" and .name == "otel.exporter.dropped") | {attributes, value, monotonic}]'
	assert_output '[{"attributes":{"reason":"export_failed"},"value":2,"monotonic":true}]'
	assert [ "$(printf '%s\n' "$stderr" | grep -c 'grpc-status 3: told to refuse')" = 1 ]
}

@test "a full queue drops spans without blocking, and counts them" {
	start_receiver 'sleep 0.5 1 traces'
	export OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:$GRPC
	export OTEL_BSP_MAX_QUEUE_SIZE=20 OTEL_BSP_MAX_EXPORT_BATCH_SIZE=10 OTEL_BSP_SCHEDULE_DELAY=10
	run -0 --separate-stderr emit -n 500 -w 100
	exported=$(printf '%s\n' "$output" | sed -n 's/^exported=\([0-9]*\) dropped=\([0-9]*\).*/\1/p')
	dropped=$(printf '%s\n' "$output" | sed -n 's/^exported=\([0-9]*\) dropped=\([0-9]*\).*/\2/p')
	[ $((exported + dropped)) -eq 502 ]
	[ "$dropped" -ge 400 ]
	run received '[.[] | select(.type == "span")] | length'
	assert_output "$exported"
	run received '[.[] | select(.type == "metric" and .name == "otel.exporter.dropped") | {attributes, value}]'
	assert_output "[{\"attributes\":{\"reason\":\"queue_full\"},\"value\":$dropped}]"
}

@test "metrics go out every OTEL_METRIC_EXPORT_INTERVAL, cumulative" {
	start_receiver
	export OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:$GRPC OTEL_METRIC_EXPORT_INTERVAL=200
	run -0 --separate-stderr emit -w 1100
	n=$(received '[.[] | select(.type == "request" and .signal == "metrics")] | length')
	assert [ "$n" -ge 3 ]
	assert [ "$n" -le 8 ]
	run received '[.[] | select(.type == "metric" and .name == "codex.jobs" and .attributes.lane == "submit") | .value] | unique'
	assert_output '[2]'
	run received '[.[] | select(.type == "metric" and .name == "codex.jobs") | .start] | unique | length'
	assert_output 2
}

@test "receiver down: the emitter exits at once and reports every span dropped" {
	port=$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	export OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:$port
	start=$(date +%s%N)
	run -0 --separate-stderr emit -n 3000
	elapsed_ms=$((($(date +%s%N) - start) / 1000000))
	assert_line 'threads=2'
	assert_line 'exported=0 dropped=3002 metric_exports=0 metric_failed=1'
	[ "$elapsed_ms" -lt 5000 ]
	assert [ "$(printf '%s\n' "$stderr" | grep -c 'exporting traces .* failed')" = 1 ]
}

@test "a collector that does not answer: shutdown gives up at OTEL_EXPORTER_OTLP_TIMEOUT" {
	start_receiver 'sleep 30'
	export OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:$GRPC OTEL_EXPORTER_OTLP_TIMEOUT=1000
	start=$(date +%s%N)
	run -0 --separate-stderr emit
	elapsed_ms=$((($(date +%s%N) - start) / 1000000))
	assert_line 'exported=0 dropped=2 metric_exports=0 metric_failed=1'
	assert [ "$elapsed_ms" -ge 900 ]
	assert [ "$elapsed_ms" -lt 4000 ]
}

@test "no endpoint: no thread, nothing sent" {
	start_receiver
	run -0 --separate-stderr emit -p "$PARENT"
	assert_output 'traceparent=none
threads=1
exported=0 dropped=0 metric_exports=0 metric_failed=0'
	[ -z "$stderr" ]
	sleep 0.2
	[ ! -s "$OUT" ]
}

@test "OTEL_SDK_DISABLED=true and the exporters set to none turn everything off" {
	start_receiver
	export OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:$GRPC
	OTEL_SDK_DISABLED=true run -0 emit
	assert_line 'threads=1'
	OTEL_TRACES_EXPORTER=none OTEL_METRICS_EXPORTER=none run -0 emit
	assert_line 'threads=1'
	OTEL_TRACES_EXPORTER=none run -0 emit
	assert_line 'traceparent=none'
	assert_line 'threads=2'
	run received '[.[] | select(.type == "request") | .signal] | join(",")'
	assert_output '"metrics"'
}
