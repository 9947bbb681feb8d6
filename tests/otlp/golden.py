#!/usr/bin/python3
"""Prints the golden strings of tests/unit/test_otel.c: the messages that
test builds with lib/otel/otelpb.c and lib/otel/oteljson.c, serialized by Python's
protobuf from the opentelemetry-proto definitions (tests/otlp/proto/), as
protobuf (hex) and in OTLP's JSON form (protobuf's JSON mapping with enums
as numbers and the ids in hex).

    /usr/bin/python3 tests/otlp/golden.py

Debian's python3 with python3-protobuf and protoc (protobuf-compiler), like
tests/otlp/receiver.py. Change the two together.
"""
import base64
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))


def load_classes():
    """Compiles the vendored .proto files into a temporary directory."""
    out = tempfile.mkdtemp(prefix="otlp-pb2-")
    proto = os.path.join(HERE, "proto")
    files = []
    for root, _, names in os.walk(proto):
        files += [os.path.relpath(os.path.join(root, n), proto) for n in names if n.endswith(".proto")]
    subprocess.run(["protoc", "-I", proto, "--python_out=" + out] + sorted(files), check=True)
    sys.path.insert(0, out)


load_classes()
from google.protobuf import json_format  # noqa: E402
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2  # noqa: E402
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2  # noqa: E402

START = 1700000000000000000
END = 1700000000123456789


def kv(msg, key, value):
    a = msg.add(key=key)
    if isinstance(value, bool):
        a.value.bool_value = value
    elif isinstance(value, int):
        a.value.int_value = value
    elif isinstance(value, float):
        a.value.double_value = value
    else:
        a.value.string_value = value


def envelope(rs):
    kv(rs.resource.attributes, "service.name", "otel-test")
    kv(rs.resource.attributes, "process.pid", 4242)


def traces():
    req = trace_service_pb2.ExportTraceServiceRequest()
    rs = req.resource_spans.add()
    envelope(rs)
    ss = rs.scope_spans.add()
    ss.scope.name = "codex-exec"
    ss.scope.version = "0.1.0"
    s = ss.spans.add()
    s.trace_id = bytes(range(1, 17))
    s.span_id = bytes(range(0xA1, 0xA9))
    s.name = "root"
    s.kind = 2
    s.start_time_unix_nano = START
    s.end_time_unix_nano = END
    kv(s.attributes, "job.language", "python")
    kv(s.attributes, "job.tests", 3)
    kv(s.attributes, "ratio", 0.5)
    kv(s.attributes, "ok", True)
    kv(s.attributes, "neg", -2)
    s = ss.spans.add()
    s.trace_id = bytes(range(1, 17))
    s.span_id = bytes(range(0xB1, 0xB9))
    s.trace_state = "vendor=abc"
    s.parent_span_id = bytes(range(0xA1, 0xA9))
    s.name = "child \u00e9"
    s.kind = 5
    s.start_time_unix_nano = START
    s.end_time_unix_nano = END
    kv(s.attributes, "error.type", "timeout")
    s.dropped_attributes_count = 3
    s.status.code = 2
    s.status.message = "took too long"
    return req


def metrics():
    req = metrics_service_pb2.ExportMetricsServiceRequest()
    rm = req.resource_metrics.add()
    envelope(rm)
    sm = rm.scope_metrics.add()
    sm.scope.name = "codex-exec"
    sm.scope.version = "0.1.0"

    m = sm.metrics.add(name="jobs", description="Jobs done", unit="{job}")
    m.sum.aggregation_temporality = 2
    m.sum.is_monotonic = True
    p = m.sum.data_points.add(start_time_unix_nano=START, time_unix_nano=END, as_int=5)
    kv(p.attributes, "lane", "submit")
    kv(p.attributes, "verdict", "accepted")
    m.sum.data_points.add(start_time_unix_nano=START, time_unix_nano=END, as_int=0)

    m = sm.metrics.add(name="slots.busy")
    m.sum.aggregation_temporality = 2
    m.sum.data_points.add(start_time_unix_nano=START, time_unix_nano=END, as_int=-1)

    m = sm.metrics.add(name="slots.free", unit="{slot}")
    m.gauge.data_points.add(time_unix_nano=END, as_int=7)

    m = sm.metrics.add(name="load")
    m.gauge.data_points.add(time_unix_nano=END, as_double=0.75)

    m = sm.metrics.add(name="job.duration", description="Run time", unit="ms")
    m.histogram.aggregation_temporality = 2
    p = m.histogram.data_points.add(start_time_unix_nano=START, time_unix_nano=END, count=4,
                                    sum=20.5, bucket_counts=[0, 1, 2, 1],
                                    explicit_bounds=[1, 2, 5], min=1.5, max=12)
    kv(p.attributes, "language", "go")

    m = sm.metrics.add(name="empty")
    m.histogram.aggregation_temporality = 2
    m.histogram.data_points.add(start_time_unix_nano=START, time_unix_nano=END, sum=0,
                                bucket_counts=[0, 0], explicit_bounds=[10])
    return req


def c_string(name, data):
    h = data.hex()
    print("static const char %s[] =" % name)
    for i in range(0, len(h), 72):
        print('\t"%s"%s' % (h[i:i + 72], ";" if i + 72 >= len(h) else ""))


def hex_ids(v):
    """protobuf's JSON mapping has base64 bytes; OTLP's JSON has hex ids."""
    if isinstance(v, list):
        return [hex_ids(x) for x in v]
    if not isinstance(v, dict):
        return v
    return {k: base64.b64decode(x).hex() if k in ("traceId", "spanId", "parentSpanId") else hex_ids(x)
            for k, x in v.items()}


def otlp_json(msg):
    return json.dumps(hex_ids(json_format.MessageToDict(msg, use_integers_for_enums=True)),
                      separators=(",", ":"), ensure_ascii=False)


def c_json(name, text):
    print("static const char %s[] =" % name)
    for i in range(0, len(text), 64):
        chunk = text[i:i + 64].replace("\\", "\\\\").replace('"', '\\"')
        print('\t"%s"%s' % (chunk, ";" if i + 64 >= len(text) else ""))


c_string("golden_traces", traces().SerializeToString())
print()
c_string("golden_metrics", metrics().SerializeToString())
print()
c_json("golden_traces_json", otlp_json(traces()))
print()
c_json("golden_metrics_json", otlp_json(metrics()))
