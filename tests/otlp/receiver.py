#!/usr/bin/python3
"""An OTLP receiver for the tests: gRPC (HTTP/2 cleartext), http/protobuf
and http/json.

    receiver.py --out FILE --ready FILE [--grpc-port N] [--http-port N]
                [--mode-file FILE] [--tls-cert PEM --tls-key PEM [--tls-client-ca PEM]]

Listens on 127.0.0.1 (port 0: any free port), writes "grpc=PORT http=PORT"
to the ready file once both listen, and decodes every Export request into
JSON lines appended to the out file:

    {"type": "request", "signal": "traces"|"metrics", "transport": "grpc"|"http"|"json",
     "answer": "ok"|..., "headers": {...}}
    {"type": "span", "transport": ..., "resource": {...}, "scope": ..., "trace_id": hex,
     "span_id": hex, "parent_span_id": hex or "", "trace_state": ..., "name": ...,
     "kind": n, "start": ns, "end": ns, "attributes": {...}, "dropped_attributes": n,
     "status": {"code": n, "message": ...}}
    {"type": "metric", "transport": ..., "resource": {...}, "name": ..., "unit": ...,
     "description": ..., "kind": "sum"|"gauge"|"histogram", "monotonic": bool,
     "temporality": n, "attributes": {...}, "start": ns, "time": ns, "value": n,
     "count": n, "sum": x, "min": x, "max": x, "bucket_counts": [...],
     "explicit_bounds": [...]}

The mode file (read at each request; missing or empty: ok) says how to
answer: "ok", "unavailable", "invalid" or "sleep SECONDS", then how many
requests get that answer before ok again ("*": all, the default), then the
signal it applies to ("traces" or "metrics"; default both), e.g.
"unavailable 2 traces" or "sleep 0.5 * traces".
UNAVAILABLE is gRPC status 14 / HTTP 503, invalid is INVALID_ARGUMENT (3) /
HTTP 400. SIGTERM stops it at once.

With --tls-cert and --tls-key both servers speak TLS only (gRPC over
HTTP/2 with ALPN, HTTPS); with --tls-client-ca as well they require a
client certificate signed by that CA. A gzip body (Content-Encoding: gzip
over HTTP; grpcio inflates gRPC messages itself) is inflated first; the
request record's "encoding" is the body's (HTTP) or the call's
grpc-encoding (gRPC), "identity" when none.

An http/json body is read strictly: its ids must be hex (the OTLP JSON
mapping), then protobuf's json_format parses the rest and refuses unknown
field names. A body that does not parse gets HTTP 400 and an
{"type": "error", "transport": "json", "error": ...} record.

Needs Debian's python3 with python3-grpcio, python3-protobuf and protoc:
the message classes are compiled from tests/otlp/proto/ at start.
"""
import argparse
import base64
import gzip
import json
import os
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import threading
from concurrent import futures
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HERE = os.path.dirname(os.path.abspath(__file__))


def load_classes():
    out = tempfile.mkdtemp(prefix="otlp-pb2-")
    proto = os.path.join(HERE, "proto")
    files = []
    for root, _, names in os.walk(proto):
        files += [os.path.relpath(os.path.join(root, n), proto) for n in names if n.endswith(".proto")]
    subprocess.run(["protoc", "-I", proto, "--python_out=" + out] + sorted(files), check=True)
    sys.path.insert(0, out)
    return out


PB2_DIR = load_classes()
import grpc  # noqa: E402
from google.protobuf import json_format  # noqa: E402
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2 as msvc  # noqa: E402
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2 as tsvc  # noqa: E402

STOPPING = threading.Event()


class Sink:
    """The out file, one JSON line per record, and the answer policy."""

    def __init__(self, path, mode_file):
        self.path = path
        self.mode_file = mode_file
        self.lock = threading.Lock()
        self.used = 0  # requests answered by the current mode

    def write(self, records):
        with self.lock, open(self.path, "a") as f:
            for r in records:
                f.write(json.dumps(r, sort_keys=True) + "\n")

    def answer(self, signal_name):
        """The answer to this request: ("ok",), ("unavailable",), ("invalid",),
        ("sleep", seconds)."""
        with self.lock:
            text = ""
            if self.mode_file and os.path.exists(self.mode_file):
                with open(self.mode_file) as f:
                    text = f.read().strip()
            words = text.split()
            if not words or words[0] == "ok":
                return ("ok",)
            answer = (words.pop(0),)
            if answer[0] == "sleep":
                answer += (float(words.pop(0)),)
            limit = words[0] if words else "*"
            only = words[1] if len(words) > 1 else None
            if (only and only != signal_name) or (limit != "*" and self.used >= int(limit)):
                return ("ok",)
            self.used += 1
            return answer


def any_value(v):
    kind = v.WhichOneof("value")
    if kind is None:
        return None
    if kind == "bytes_value":
        return v.bytes_value.hex()
    if kind == "array_value":
        return [any_value(x) for x in v.array_value.values]
    if kind == "kvlist_value":
        return attrs(v.kvlist_value.values)
    return getattr(v, kind)


def attrs(kvs):
    return {kv.key: any_value(kv.value) for kv in kvs}


def span_records(req, transport):
    out = []
    for rs in req.resource_spans:
        resource = attrs(rs.resource.attributes)
        for ss in rs.scope_spans:
            for s in ss.spans:
                out.append({
                    "type": "span", "transport": transport, "resource": resource,
                    "scope": ss.scope.name, "scope_version": ss.scope.version,
                    "trace_id": s.trace_id.hex(), "span_id": s.span_id.hex(),
                    "parent_span_id": s.parent_span_id.hex(), "trace_state": s.trace_state,
                    "name": s.name, "kind": s.kind, "start": s.start_time_unix_nano,
                    "end": s.end_time_unix_nano, "attributes": attrs(s.attributes),
                    "dropped_attributes": s.dropped_attributes_count,
                    "status": {"code": s.status.code, "message": s.status.message},
                })
    return out


def point_record(base, p, histogram):
    r = dict(base, attributes=attrs(p.attributes), start=p.start_time_unix_nano,
             time=p.time_unix_nano)
    if histogram:
        r.update(count=p.count, sum=p.sum, bucket_counts=list(p.bucket_counts),
                 explicit_bounds=list(p.explicit_bounds))
        for f in ("min", "max"):
            if p.HasField(f):
                r[f] = getattr(p, f)
    else:
        r["value"] = getattr(p, p.WhichOneof("value")) if p.WhichOneof("value") else None
    return r


def metric_records(req, transport):
    out = []
    for rm in req.resource_metrics:
        resource = attrs(rm.resource.attributes)
        for sm in rm.scope_metrics:
            for m in sm.metrics:
                kind = m.WhichOneof("data")
                data = getattr(m, kind)
                base = {"type": "metric", "transport": transport, "resource": resource,
                        "scope": sm.scope.name, "name": m.name, "unit": m.unit,
                        "description": m.description, "kind": kind,
                        "monotonic": bool(getattr(data, "is_monotonic", False)),
                        "temporality": getattr(data, "aggregation_temporality", 0)}
                for p in data.data_points:
                    out.append(point_record(base, p, kind == "histogram"))
    return out


SIGNALS = {
    "traces": (tsvc.ExportTraceServiceRequest, tsvc.ExportTraceServiceResponse, span_records),
    "metrics": (msvc.ExportMetricsServiceRequest, msvc.ExportMetricsServiceResponse, metric_records),
}


def handle(sink, signal_name, transport, req, headers, encoding):
    """Records the request and its contents; returns the answer."""
    answer = sink.answer(signal_name)
    sink.write([{"type": "request", "signal": signal_name, "transport": transport,
                 "answer": answer[0], "headers": headers, "encoding": encoding}])
    if answer[0] == "sleep":
        STOPPING.wait(answer[1])
        answer = ("ok",)
    if answer[0] == "ok":
        sink.write(SIGNALS[signal_name][2](req, transport))
    return answer[0]


def grpc_handler(sink, signal_name):
    _, response, _ = SIGNALS[signal_name]

    def export(req, context):
        metadata = context.invocation_metadata()
        headers = {k: v for k, v in metadata if not k.startswith("grpc-")}
        encoding = dict(metadata).get("grpc-encoding", "identity")
        answer = handle(sink, signal_name, "grpc", req, headers, encoding)
        if answer == "unavailable":
            context.abort(grpc.StatusCode.UNAVAILABLE, "told to be unavailable")
        if answer == "invalid":
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "told to refuse")
        return response()

    return export


def start_grpc(sink, port, tls):
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    for signal_name, service in (("traces", "opentelemetry.proto.collector.trace.v1.TraceService"),
                                 ("metrics", "opentelemetry.proto.collector.metrics.v1.MetricsService")):
        request, response, _ = SIGNALS[signal_name]
        handler = grpc.unary_unary_rpc_method_handler(
            grpc_handler(sink, signal_name), request_deserializer=request.FromString,
            response_serializer=response.SerializeToString)
        server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(service, {"Export": handler}),))
    if tls:
        cert, key, client_ca = tls
        creds = grpc.ssl_server_credentials([(key, cert)], root_certificates=client_ca,
                                            require_client_auth=client_ca is not None)
        bound = server.add_secure_port("127.0.0.1:%d" % port, creds)
    else:
        bound = server.add_insecure_port("127.0.0.1:%d" % port)
    server.start()
    return server, bound


ID_FIELDS = ("traceId", "spanId", "parentSpanId")


def hex_ids_to_base64(v):
    """OTLP JSON spells ids in hex where protobuf's JSON mapping has base64."""
    if isinstance(v, list):
        return [hex_ids_to_base64(x) for x in v]
    if not isinstance(v, dict):
        return v
    out = {}
    for k, x in v.items():
        if k in ID_FIELDS:
            if not isinstance(x, str) or len(x) not in (16, 32):
                raise ValueError("%s is not a hex id: %r" % (k, x))
            x = base64.b64encode(bytes.fromhex(x)).decode()
        out[k] = hex_ids_to_base64(x)
    return out


def parse_json(request, body):
    msg = request()
    json_format.ParseDict(hex_ids_to_base64(json.loads(body)), msg)
    return msg


def http_handler_class(sink):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def reply(self, code, body=b"", content_type="application/x-protobuf"):
            self.send_response(code)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            signal_name = {"/v1/traces": "traces", "/v1/metrics": "metrics"}.get(self.path)
            if signal_name is None:
                self.reply(404)
                return
            content_type = self.headers.get("Content-Type")
            if content_type not in ("application/x-protobuf", "application/json"):
                self.reply(415)
                return
            request, response, _ = SIGNALS[signal_name]
            headers = {k.lower(): v for k, v in self.headers.items()}
            encoding = headers.get("content-encoding", "identity")
            if encoding == "gzip":
                body = gzip.decompress(body)
            codes = {"ok": 200, "unavailable": 503, "invalid": 400}
            if content_type == "application/x-protobuf":
                answer = handle(sink, signal_name, "http", request.FromString(body), headers,
                                encoding)
                self.reply(codes[answer], response().SerializeToString() if answer == "ok" else b"")
                return
            try:
                req = parse_json(request, body)
            except (ValueError, json_format.ParseError) as e:
                sink.write([{"type": "error", "transport": "json", "error": str(e)}])
                self.reply(400, b"{}", "application/json")
                return
            answer = handle(sink, signal_name, "json", req, headers, encoding)
            self.reply(codes[answer], b"{}", "application/json")

    return Handler


def main():
    ap = argparse.ArgumentParser(description="OTLP test receiver")
    ap.add_argument("--out", required=True)
    ap.add_argument("--ready", required=True)
    ap.add_argument("--grpc-port", type=int, default=0)
    ap.add_argument("--http-port", type=int, default=0)
    ap.add_argument("--mode-file")
    ap.add_argument("--tls-cert")
    ap.add_argument("--tls-key")
    ap.add_argument("--tls-client-ca")
    args = ap.parse_args()

    tls = None
    if args.tls_cert:
        def read(path):
            with open(path, "rb") as f:
                return f.read()
        tls = (read(args.tls_cert), read(args.tls_key),
               read(args.tls_client_ca) if args.tls_client_ca else None)
    sink = Sink(args.out, args.mode_file)
    server, grpc_port = start_grpc(sink, args.grpc_port, tls)
    httpd = ThreadingHTTPServer(("127.0.0.1", args.http_port), http_handler_class(sink))
    if tls:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.tls_cert, args.tls_key)
        if args.tls_client_ca:
            ctx.load_verify_locations(args.tls_client_ca)
            ctx.verify_mode = ssl.CERT_REQUIRED
        httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()

    def stop(signum, frame):
        STOPPING.set()
        shutil.rmtree(PB2_DIR, ignore_errors=True)
        os._exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    with open(args.ready + ".new", "w") as f:
        f.write("grpc=%d http=%d\n" % (grpc_port, httpd.server_address[1]))
    os.rename(args.ready + ".new", args.ready)
    while True:
        signal.pause()


if __name__ == "__main__":
    main()
