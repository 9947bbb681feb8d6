/* Unit tests of lib/otel/otelpb.c and lib/otel/oteljson.c (compared with Python's
 * protobuf) and lib/otel/otel.c (trace context, configuration, retry policy,
 * the no-op state, fork). The exporter against a real receiver: tests/otel.bats. */
#include <arpa/inet.h>
#include <dirent.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "core/util.h"
#include "otel/otel.h"
#include "otel/oteljson.h"
#include "otel/otelpb.h"
#include "otel/otlp.h"
#include "unit.h"

/* Made by tests/otlp/golden.py from the same messages as below: the
 * protobuf bytes, and the JSON form. */
static const char golden_traces[] =
	"0ae1020a310a1b0a0c736572766963652e6e616d65120b0a096f74656c2d746573740a12"
	"0a0b70726f636573732e706964120318922112ab020a130a0a636f6465782d6578656312"
	"05302e312e301293010a100102030405060708090a0b0c0d0e0f101208a1a2a3a4a5a6a7"
	"a82a04726f6f7430023900002a36fe9c97174115cd853dfe9c97174a180a0c6a6f622e6c"
	"616e677561676512080a06707974686f6e4a0f0a096a6f622e7465737473120218034a12"
	"0a05726174696f120921000000000000e03f4a080a026f6b120210014a120a036e656712"
	"0b18feffffffffffffffff01127e0a100102030405060708090a0b0c0d0e0f101208b1b2"
	"b3b4b5b6b7b81a0a76656e646f723d6162632208a1a2a3a4a5a6a7a82a086368696c6420"
	"c3a930053900002a36fe9c97174115cd853dfe9c97174a170a0a6572726f722e74797065"
	"12090a0774696d656f757450037a11120d746f6f6b20746f6f206c6f6e671802";

static const char golden_metrics[] =
	"0ab9040a310a1b0a0c736572766963652e6e616d65120b0a096f74656c2d746573740a12"
	"0a0b70726f636573732e70696412031892211283040a130a0a636f6465782d6578656312"
	"05302e312e301281010a046a6f627312094a6f627320646f6e651a057b6a6f627d3a670a"
	"441100002a36fe9c97171915cd853dfe9c97173105000000000000003a100a046c616e65"
	"12080a067375626d69743a150a0776657264696374120a0a0861636365707465640a1b11"
	"00002a36fe9c97171915cd853dfe9c971731000000000000000010021801122d0a0a736c"
	"6f74732e627573793a1f0a1b1100002a36fe9c97171915cd853dfe9c971731ffffffffff"
	"ffffff1002122a0a0a736c6f74732e667265651a067b736c6f747d2a140a121915cd853d"
	"fe9c9717310700000000000000121c0a046c6f61642a140a121915cd853dfe9c97172100"
	"0000000000e83f12a8010a0c6a6f622e6475726174696f6e120852756e2074696d651a02"
	"6d734a89010a84011100002a36fe9c97171915cd853dfe9c971721040000000000000029"
	"000000000080344032200000000000000000010000000000000002000000000000000100"
	"0000000000003a18000000000000f03f000000000000004000000000000014404a100a08"
	"6c616e677561676512040a02676f59000000000000f83f61000000000000284010021244"
	"0a05656d7074794a3b0a371100002a36fe9c97171915cd853dfe9c971729000000000000"
	"00003210000000000000000000000000000000003a0800000000000024401002";

static const char golden_traces_json[] =
	"{\"resourceSpans\":[{\"resource\":{\"attributes\":[{\"key\":\"service.nam"
	"e\",\"value\":{\"stringValue\":\"otel-test\"}},{\"key\":\"process.pid\",\"va"
	"lue\":{\"intValue\":\"4242\"}}]},\"scopeSpans\":[{\"scope\":{\"name\":\"code"
	"x-exec\",\"version\":\"0.1.0\"},\"spans\":[{\"traceId\":\"0102030405060708"
	"090a0b0c0d0e0f10\",\"spanId\":\"a1a2a3a4a5a6a7a8\",\"name\":\"root\",\"kin"
	"d\":2,\"startTimeUnixNano\":\"1700000000000000000\",\"endTimeUnixNano\""
	":\"1700000000123456789\",\"attributes\":[{\"key\":\"job.language\",\"valu"
	"e\":{\"stringValue\":\"python\"}},{\"key\":\"job.tests\",\"value\":{\"intVal"
	"ue\":\"3\"}},{\"key\":\"ratio\",\"value\":{\"doubleValue\":0.5}},{\"key\":\"ok"
	"\",\"value\":{\"boolValue\":true}},{\"key\":\"neg\",\"value\":{\"intValue\":\""
	"-2\"}}]},{\"traceId\":\"0102030405060708090a0b0c0d0e0f10\",\"spanId\":\""
	"b1b2b3b4b5b6b7b8\",\"traceState\":\"vendor=abc\",\"parentSpanId\":\"a1a2"
	"a3a4a5a6a7a8\",\"name\":\"child é\",\"kind\":5,\"startTimeUnixNano\":\"170"
	"0000000000000000\",\"endTimeUnixNano\":\"1700000000123456789\",\"attri"
	"butes\":[{\"key\":\"error.type\",\"value\":{\"stringValue\":\"timeout\"}}],"
	"\"droppedAttributesCount\":3,\"status\":{\"message\":\"took too long\",\""
	"code\":2}}]}]}]}";

static const char golden_metrics_json[] =
	"{\"resourceMetrics\":[{\"resource\":{\"attributes\":[{\"key\":\"service.n"
	"ame\",\"value\":{\"stringValue\":\"otel-test\"}},{\"key\":\"process.pid\",\""
	"value\":{\"intValue\":\"4242\"}}]},\"scopeMetrics\":[{\"scope\":{\"name\":\""
	"codex-exec\",\"version\":\"0.1.0\"},\"metrics\":[{\"name\":\"jobs\",\"descri"
	"ption\":\"Jobs done\",\"unit\":\"{job}\",\"sum\":{\"dataPoints\":[{\"startTi"
	"meUnixNano\":\"1700000000000000000\",\"timeUnixNano\":\"17000000001234"
	"56789\",\"asInt\":\"5\",\"attributes\":[{\"key\":\"lane\",\"value\":{\"stringV"
	"alue\":\"submit\"}},{\"key\":\"verdict\",\"value\":{\"stringValue\":\"accept"
	"ed\"}}]},{\"startTimeUnixNano\":\"1700000000000000000\",\"timeUnixNano"
	"\":\"1700000000123456789\",\"asInt\":\"0\"}],\"aggregationTemporality\":2"
	",\"isMonotonic\":true}},{\"name\":\"slots.busy\",\"sum\":{\"dataPoints\":["
	"{\"startTimeUnixNano\":\"1700000000000000000\",\"timeUnixNano\":\"17000"
	"00000123456789\",\"asInt\":\"-1\"}],\"aggregationTemporality\":2}},{\"na"
	"me\":\"slots.free\",\"unit\":\"{slot}\",\"gauge\":{\"dataPoints\":[{\"timeUn"
	"ixNano\":\"1700000000123456789\",\"asInt\":\"7\"}]}},{\"name\":\"load\",\"ga"
	"uge\":{\"dataPoints\":[{\"timeUnixNano\":\"1700000000123456789\",\"asDou"
	"ble\":0.75}]}},{\"name\":\"job.duration\",\"description\":\"Run time\",\"u"
	"nit\":\"ms\",\"histogram\":{\"dataPoints\":[{\"startTimeUnixNano\":\"17000"
	"00000000000000\",\"timeUnixNano\":\"1700000000123456789\",\"count\":\"4\""
	",\"sum\":20.5,\"bucketCounts\":[\"0\",\"1\",\"2\",\"1\"],\"explicitBounds\":[1"
	".0,2.0,5.0],\"attributes\":[{\"key\":\"language\",\"value\":{\"stringValu"
	"e\":\"go\"}}],\"min\":1.5,\"max\":12.0}],\"aggregationTemporality\":2}},{"
	"\"name\":\"empty\",\"histogram\":{\"dataPoints\":[{\"startTimeUnixNano\":\""
	"1700000000000000000\",\"timeUnixNano\":\"1700000000123456789\",\"sum\":"
	"0.0,\"bucketCounts\":[\"0\",\"0\"],\"explicitBounds\":[10.0]}],\"aggregat"
	"ionTemporality\":2}}]}]}]}";

static const char *hex_of(const struct otelpb *b)
{
	static char *hex;
	static const char digits[] = "0123456789abcdef";
	free(hex);
	hex = malloc(2 * b->len + 1);
	for (size_t i = 0; i < b->len; i++) {
		hex[2 * i] = digits[b->p[i] >> 4];
		hex[2 * i + 1] = digits[b->p[i] & 15];
	}
	hex[2 * b->len] = '\0';
	return hex;
}

static const char *varint_hex(uint64_t v)
{
	static struct otelpb b;
	b.len = 0;
	otelpb_varint(&b, v);
	return hex_of(&b);
}

static void test_varint(void)
{
	CHECK_STR(varint_hex(0), "00");
	CHECK_STR(varint_hex(1), "01");
	CHECK_STR(varint_hex(127), "7f");
	CHECK_STR(varint_hex(128), "8001");
	CHECK_STR(varint_hex(300), "ac02");
	CHECK_STR(varint_hex(UINT64_MAX), "ffffffffffffffffff01");
	CHECK_STR(varint_hex((uint64_t)-2), "feffffffffffffffff01");
}

/* A nested message whose length needs 1, 2 and 3 bytes: the body is moved
 * intact. */
static void test_nested_lengths(void)
{
	static const size_t sizes[] = {5, 200, 20000};
	static const char *const want[] = {"0a05", "0ac801", "0aa09c01"};
	for (size_t k = 0; k < 3; k++) {
		struct otelpb b = {0};
		size_t m = otelpb_open(&b, 1), hdr = strlen(want[k]) / 2;
		char *body = malloc(sizes[k]);
		for (size_t i = 0; i < sizes[k]; i++)
			body[i] = (char)(i * 7);
		otelpb_put(&b, body, sizes[k]);
		otelpb_close(&b, m);
		CHECK_INT(b.len, hdr + sizes[k]);
		CHECK(strncmp(hex_of(&b), want[k], 2 * hdr) == 0);
		CHECK(memcmp(b.p + hdr, body, sizes[k]) == 0);
		free(body);
		otelpb_free(&b);
	}
	struct otelpb b = {0};
	size_t outer = otelpb_open(&b, 1), inner = otelpb_open(&b, 2);
	for (int i = 0; i < 200; i++)
		otelpb_put(&b, "x", 1);
	otelpb_close(&b, inner);
	otelpb_close(&b, outer);
	CHECK_INT(b.len, 3 + 3 + 200);
	CHECK(strncmp(hex_of(&b), "0acb0112c801", 12) == 0);
	otelpb_free(&b);
}

static const uint64_t START = 1700000000000000000u, END = 1700000000123456789u;

static struct otelpb_kv resource_attrs[] = {
	{.key = "service.name", .type = OTELPB_STRING, .v.s = "otel-test"},
	{.key = "process.pid", .type = OTELPB_INT, .v.i = 4242},
};
static const struct otelpb_resource resource = {resource_attrs, 2, "codex-exec", "0.1.0"};

typedef void trace_encoder(struct otelpb *, const struct otelpb_resource *,
			   struct otelpb_span *const *, size_t);
typedef void metrics_encoder(struct otelpb *, const struct otelpb_resource *,
			     const struct otelpb_metric *, size_t);

/* The golden trace request, encoded by encode into b. */
static void golden_traces_by(trace_encoder *encode, struct otelpb *b)
{
	struct otelpb_span root = {.name = "root", .kind = OTELPB_KIND_SERVER, .start_ns = START,
				   .end_ns = END, .nattrs = 5};
	struct otelpb_span child = {.trace_state = "vendor=abc", .name = "child \xc3\xa9",
				    .kind = OTELPB_KIND_CONSUMER, .start_ns = START, .end_ns = END,
				    .nattrs = 1, .dropped_attrs = 3, .status = OTELPB_STATUS_ERROR,
				    .status_message = "took too long"};
	struct otelpb_span *spans[] = {&root, &child};
	for (int i = 0; i < 16; i++)
		root.trace_id[i] = child.trace_id[i] = (uint8_t)(i + 1);
	for (int i = 0; i < 8; i++) {
		root.span_id[i] = child.parent_span_id[i] = (uint8_t)(0xa1 + i);
		child.span_id[i] = (uint8_t)(0xb1 + i);
	}
	root.attrs[0] = (struct otelpb_kv){.key = "job.language", .type = OTELPB_STRING, .v.s = "python"};
	root.attrs[1] = (struct otelpb_kv){.key = "job.tests", .type = OTELPB_INT, .v.i = 3};
	root.attrs[2] = (struct otelpb_kv){.key = "ratio", .type = OTELPB_DOUBLE, .v.d = 0.5};
	root.attrs[3] = (struct otelpb_kv){.key = "ok", .type = OTELPB_BOOL, .v.b = 1};
	root.attrs[4] = (struct otelpb_kv){.key = "neg", .type = OTELPB_INT, .v.i = -2};
	child.attrs[0] = (struct otelpb_kv){.key = "error.type", .type = OTELPB_STRING, .v.s = "timeout"};
	encode(b, &resource, spans, 2);
}

/* The golden metrics request, encoded by encode into b. */
static void golden_metrics_by(metrics_encoder *encode, struct otelpb *b)
{
	static struct otelpb_kv jobs_attrs[] = {
		{.key = "lane", .type = OTELPB_STRING, .v.s = "submit"},
		{.key = "verdict", .type = OTELPB_STRING, .v.s = "accepted"},
	};
	static struct otelpb_kv go[] = {{.key = "language", .type = OTELPB_STRING, .v.s = "go"}};
	static const uint64_t buckets[] = {0, 1, 2, 1}, no_buckets[] = {0, 0};
	static const double bounds[] = {1, 2, 5}, ten[] = {10};
	const struct otelpb_point jobs[] = {
		{.attrs = jobs_attrs, .nattrs = 2, .start_ns = START, .time_ns = END, .as_int = 5},
		{.start_ns = START, .time_ns = END, .as_int = 0},
	};
	const struct otelpb_point busy = {.start_ns = START, .time_ns = END, .as_int = -1};
	const struct otelpb_point free_slots = {.time_ns = END, .as_int = 7};
	const struct otelpb_point load = {.time_ns = END, .is_double = 1, .as_double = 0.75};
	const struct otelpb_point duration = {.attrs = go, .nattrs = 1, .start_ns = START,
					      .time_ns = END, .count = 4, .sum = 20.5, .min = 1.5,
					      .max = 12, .bucket_counts = buckets, .bounds = bounds,
					      .nbounds = 3};
	const struct otelpb_point empty = {.start_ns = START, .time_ns = END,
					   .bucket_counts = no_buckets, .bounds = ten, .nbounds = 1};
	const struct otelpb_metric metrics[] = {
		{"jobs", "Jobs done", "{job}", OTELPB_SUM, 1, jobs, 2},
		{"slots.busy", "", "", OTELPB_SUM, 0, &busy, 1},
		{"slots.free", NULL, "{slot}", OTELPB_GAUGE, 0, &free_slots, 1},
		{"load", NULL, NULL, OTELPB_GAUGE, 0, &load, 1},
		{"job.duration", "Run time", "ms", OTELPB_HISTOGRAM, 0, &duration, 1},
		{"empty", NULL, NULL, OTELPB_HISTOGRAM, 0, &empty, 1},
	};
	encode(b, &resource, metrics, sizeof metrics / sizeof metrics[0]);
}

static void test_golden_traces(void)
{
	struct otelpb b = {0};
	golden_traces_by(otelpb_trace_request, &b);
	CHECK_STR(hex_of(&b), golden_traces);
	otelpb_free(&b);
}

static void test_golden_metrics(void)
{
	struct otelpb b = {0};
	golden_metrics_by(otelpb_metrics_request, &b);
	CHECK_STR(hex_of(&b), golden_metrics);
	otelpb_free(&b);
}

/* b holds JSON text equal (as JSON: key order aside) to want. */
static void check_json(const struct otelpb *b, const char *want)
{
	cJSON *got = cJSON_ParseWithLength((const char *)b->p, b->len);
	cJSON *expected = cJSON_Parse(want);
	CHECK(got != NULL);
	CHECK(expected != NULL);
	if (!cJSON_Compare(got, expected, 1)) {
		char *text = cJSON_PrintUnformatted(got);
		fprintf(stderr, "got:  %s\nwant: %s\n", text ? text : "(none)", want);
		free(text);
		CHECK(0);
	}
	cJSON_Delete(got);
	cJSON_Delete(expected);
}

static void test_golden_json(void)
{
	struct otelpb b = {0};
	golden_traces_by(oteljson_trace_request, &b);
	check_json(&b, golden_traces_json);
	otelpb_free(&b);
	golden_metrics_by(oteljson_metrics_request, &b);
	check_json(&b, golden_metrics_json);
	otelpb_free(&b);
}

/* JSON has no NaN or infinities: OTLP's JSON spells them as strings. */
static void test_json_non_finite(void)
{
	static const uint64_t buckets[] = {1};
	const struct otelpb_point nan_point = {.time_ns = 1, .is_double = 1, .as_double = NAN};
	const struct otelpb_point inf_point = {.time_ns = 1, .count = 1, .sum = INFINITY,
					       .min = -INFINITY, .max = INFINITY,
					       .bucket_counts = buckets};
	const struct otelpb_metric metrics[] = {
		{"nan", NULL, NULL, OTELPB_GAUGE, 0, &nan_point, 1},
		{"inf", NULL, NULL, OTELPB_HISTOGRAM, 0, &inf_point, 1},
	};
	struct otelpb b = {0};
	oteljson_metrics_request(&b, &resource, metrics, 2);
	otelpb_put(&b, "", 1);
	CHECK(strstr((char *)b.p, "\"asDouble\":\"NaN\"") != NULL);
	CHECK(strstr((char *)b.p, "\"sum\":\"Infinity\",\"bucketCounts\":[\"1\"],"
				  "\"explicitBounds\":[],\"min\":\"-Infinity\",\"max\":\"Infinity\"") != NULL);
	otelpb_free(&b);
}

/* ---- trace context ---- */

static const char tp_example[] = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

static void test_traceparent_good(void)
{
	struct tracectx c;
	char out[TRACECTX_PARENT_LEN + 1];
	CHECK(tracectx_parse(&c, tp_example, NULL) == 0);
	CHECK(tracectx_valid(&c));
	CHECK_INT(c.trace_id[0], 0x4b);
	CHECK_INT(c.trace_id[15], 0x36);
	CHECK_INT(c.span_id[0], 0x00);
	CHECK_INT(c.span_id[7], 0xb7);
	CHECK_INT(c.flags, TRACECTX_SAMPLED);
	CHECK_STR(c.trace_state, "");
	tracectx_format(&c, out);
	CHECK_STR(out, tp_example);

	CHECK(tracectx_parse(&c, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00", NULL) == 0);
	CHECK_INT(c.flags, 0);
	/* Flags other than sampled are not carried. */
	CHECK(tracectx_parse(&c, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-03", NULL) == 0);
	CHECK_INT(c.flags, TRACECTX_SAMPLED);
	tracectx_format(&c, out);
	CHECK_STR(out, tp_example);
	/* A later version is read as 00, with what follows a '-' ignored. */
	CHECK(tracectx_parse(&c, "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", NULL) == 0);
	CHECK(tracectx_parse(&c, "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-the-future-holds", NULL) == 0);
	tracectx_format(&c, out);
	CHECK_STR(out, tp_example);
}

static void test_traceparent_bad(void)
{
	static const char *const bad[] = {
		"",
		"00",
		"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0",	/* short */
		"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-",	/* 00 is 55 bytes */
		"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-011",
		"00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",	/* upper case */
		"00-00000000000000000000000000000000-00f067aa0ba902b7-01",	/* zero trace id */
		"00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",	/* zero span id */
		"ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",	/* version ff */
		"0g-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
		"00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
		"00-4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7-01",
		"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7_01",
		"00-4bf92f3577b34da6a3ce929d0e0e473x-00f067aa0ba902b7-01",
		"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0x",
		"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b-701",
		"01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x",	/* no '-' after */
		" 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
	};
	struct tracectx c, zero;
	memset(&zero, 0, sizeof zero);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		unit_check(tracectx_parse(&c, bad[i], "k=v") == -1, __FILE__, __LINE__, bad[i]);
		unit_check(memcmp(&c, &zero, sizeof c) == 0, __FILE__, __LINE__, bad[i]);
	}
	CHECK(tracectx_parse(&c, NULL, NULL) == -1);
	CHECK(!tracectx_valid(&zero));
}

static void test_tracestate(void)
{
	struct tracectx c;
	char big[TRACECTX_STATE_MAX + 2];
	CHECK(tracectx_parse(&c, tp_example, "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE") == 0);
	CHECK_STR(c.trace_state, "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE");
	CHECK(tracectx_parse(&c, tp_example, "a=1\tb=2") == 0);	/* not carried */
	CHECK_STR(c.trace_state, "");
	memset(big, 'a', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	CHECK(tracectx_parse(&c, tp_example, big) == 0);
	CHECK_STR(c.trace_state, "");
	big[TRACECTX_STATE_MAX] = '\0';
	CHECK(tracectx_parse(&c, tp_example, big) == 0);
	CHECK_INT(strlen(c.trace_state), TRACECTX_STATE_MAX);
}

/* ---- configuration ---- */

static const char *const otel_vars[] = {
	"OTEL_SDK_DISABLED", "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
	"OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "OTEL_EXPORTER_OTLP_PROTOCOL",
	"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL",
	"OTEL_EXPORTER_OTLP_HEADERS", "OTEL_EXPORTER_OTLP_TIMEOUT", "OTEL_SERVICE_NAME",
	"OTEL_RESOURCE_ATTRIBUTES", "OTEL_METRIC_EXPORT_INTERVAL", "OTEL_TRACES_EXPORTER",
	"OTEL_METRICS_EXPORTER", "OTEL_BSP_SCHEDULE_DELAY", "OTEL_BSP_MAX_QUEUE_SIZE",
	"OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "OTEL_EXPORTER_OTLP_COMPRESSION",
	"OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "OTEL_EXPORTER_OTLP_METRICS_COMPRESSION",
	"OTEL_EXPORTER_OTLP_CERTIFICATE", "OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE",
	"OTEL_EXPORTER_OTLP_METRICS_CERTIFICATE", "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE",
	"OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE", "OTEL_EXPORTER_OTLP_METRICS_CLIENT_CERTIFICATE",
	"OTEL_EXPORTER_OTLP_CLIENT_KEY", "OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY",
	"OTEL_EXPORTER_OTLP_METRICS_CLIENT_KEY", "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
	"OTEL_EXPORTER_OTLP_METRICS_HEADERS", "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT",
	"OTEL_EXPORTER_OTLP_METRICS_TIMEOUT",
};

static void clear_env(void)
{
	for (size_t i = 0; i < sizeof otel_vars / sizeof otel_vars[0]; i++)
		unsetenv(otel_vars[i]);
}

static const struct otelpb_kv *resource_get(const struct otel_config *c, const char *key)
{
	for (size_t i = 0; i < c->nresource; i++)
		if (strcmp(c->resource[i].key, key) == 0)
			return &c->resource[i];
	return NULL;
}

static const char *resource_str(const struct otel_config *c, const char *key)
{
	const struct otelpb_kv *kv = resource_get(c, key);
	return kv && kv->type == OTELPB_STRING ? kv->v.s : NULL;
}

static void test_config_defaults(void)
{
	struct otel_config c;
	clear_env();
	CHECK_INT(otel_config_from_env(&c, "judge"), 0);
	CHECK(!c.traces.on && !c.metrics.on);
	CHECK(c.traces.url == NULL && c.metrics.url == NULL);
	CHECK_INT(c.traces.protocol, OTEL_PROTO_GRPC);
	CHECK_INT(c.timeout_ms, 10000);
	CHECK_INT(c.metric_interval_ms, 60000);
	CHECK_INT(c.bsp_delay_ms, 5000);
	CHECK_INT(c.bsp_queue, 2048);
	CHECK_INT(c.bsp_batch, 512);
	CHECK_INT(c.traces.nheaders, 0);
	CHECK_INT(c.traces.timeout_ms, 10000);
	CHECK_STR(c.resource[0].key, "service.name");
	CHECK_STR(c.resource[0].v.s, "judge");
	CHECK(resource_str(&c, "service.version") != NULL);
	CHECK(resource_str(&c, "host.name") != NULL);
	CHECK(resource_get(&c, "process.pid") && resource_get(&c, "process.pid")->v.i == getpid());
	otel_config_free(&c);
}

static void test_config_endpoints(void)
{
	struct otel_config c;
	clear_env();
	setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4317/", 1);
	CHECK_INT(otel_config_from_env(&c, "judge"), 0);
	CHECK(c.traces.on && c.metrics.on);
	CHECK_STR(c.traces.url, "http://127.0.0.1:4317/opentelemetry.proto.collector.trace.v1.TraceService/Export");
	CHECK_STR(c.metrics.url, "http://127.0.0.1:4317/opentelemetry.proto.collector.metrics.v1.MetricsService/Export");
	otel_config_free(&c);

	setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf", 1);
	setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318", 1);
	CHECK_INT(otel_config_from_env(&c, "judge"), 0);
	CHECK_INT(c.traces.protocol, OTEL_PROTO_HTTP_PROTOBUF);
	CHECK_INT(c.metrics.protocol, OTEL_PROTO_HTTP_PROTOBUF);
	CHECK_STR(c.traces.url, "http://collector:4318/v1/traces");
	CHECK_STR(c.metrics.url, "http://collector:4318/v1/metrics");
	otel_config_free(&c);

	/* A signal's own endpoint is the whole URL for http/protobuf. */
	setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "https://t.example:443/custom/traces", 1);
	CHECK_INT(otel_config_from_env(&c, "judge"), 0);
	CHECK_STR(c.traces.url, "https://t.example:443/custom/traces");
	CHECK_STR(c.metrics.url, "http://collector:4318/v1/metrics");
	otel_config_free(&c);

	/* ... and the base of the service path for gRPC; a per-signal protocol. */
	setenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "grpc", 1);
	setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "collector:4317", 1);
	CHECK_INT(otel_config_from_env(&c, "judge"), 0);
	CHECK_INT(c.traces.protocol, OTEL_PROTO_GRPC);
	CHECK_STR(c.traces.url, "http://collector:4317/opentelemetry.proto.collector.trace.v1.TraceService/Export");
	CHECK_INT(c.metrics.protocol, OTEL_PROTO_HTTP_PROTOBUF);
	otel_config_free(&c);

	/* Only metrics. */
	clear_env();
	setenv("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "http://m:4317", 1);
	CHECK_INT(otel_config_from_env(&c, "judge"), 0);
	CHECK(!c.traces.on && c.metrics.on);
	otel_config_free(&c);

	/* Unusable endpoints and protocols. */
	clear_env();
	setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "ftp://x:21", 1);
	CHECK_INT(otel_config_from_env(&c, "judge"), 2);
	CHECK(!c.traces.on && !c.metrics.on);
	otel_config_free(&c);
	setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://x:1/a b", 1);
	CHECK_INT(otel_config_from_env(&c, "judge"), 2);
	CHECK(!c.traces.on && !c.metrics.on);
	otel_config_free(&c);
	setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://x:1", 1);
	setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/xml", 1);
	CHECK_INT(otel_config_from_env(&c, "judge"), 1);
	CHECK_INT(c.traces.protocol, OTEL_PROTO_GRPC);
	otel_config_free(&c);

	/* http/json: the same paths as http/protobuf. */
	setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json", 1);
	setenv("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "http://m:4318/custom", 1);
	CHECK_INT(otel_config_from_env(&c, "judge"), 0);
	CHECK_INT(c.traces.protocol, OTEL_PROTO_HTTP_JSON);
	CHECK_INT(c.metrics.protocol, OTEL_PROTO_HTTP_JSON);
	CHECK_STR(c.traces.url, "http://x:1/v1/traces");
	CHECK_STR(c.metrics.url, "http://m:4318/custom");
	otel_config_free(&c);
	clear_env();
}

/* Compression and TLS files: the general variable, a signal's own over it. */
static void test_config_transport(void)
{
	struct otel_config c;
	clear_env();
	setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "https://collector:4317", 1);
	CHECK_INT(otel_config_from_env(&c, "judge"), 0);
	CHECK(!c.traces.gzip && !c.metrics.gzip);
	CHECK(c.traces.ca_file == NULL && c.traces.client_cert == NULL && c.traces.client_key == NULL);
	otel_config_free(&c);

	setenv("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip", 1);
	setenv("OTEL_EXPORTER_OTLP_METRICS_COMPRESSION", "none", 1);
	setenv("OTEL_EXPORTER_OTLP_CERTIFICATE", "/etc/hostname", 1);
	setenv("OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE", "/etc/passwd", 1);
	setenv("OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY", "/etc/group", 1);
	CHECK_INT(otel_config_from_env(&c, "judge"), 0);
	CHECK(c.traces.gzip && !c.metrics.gzip);
	CHECK_STR(c.traces.ca_file, "/etc/hostname");
	CHECK_STR(c.metrics.ca_file, "/etc/hostname");
	CHECK_STR(c.traces.client_cert, "/etc/passwd");
	CHECK_STR(c.traces.client_key, "/etc/group");
	CHECK(c.metrics.client_cert == NULL && c.metrics.client_key == NULL);
	otel_config_free(&c);

	/* Unusable values are counted: an unknown compression (not used), an
	 * unreadable file (kept, so the exports fail saying why). */
	setenv("OTEL_EXPORTER_OTLP_COMPRESSION", "zstd", 1);
	setenv("OTEL_EXPORTER_OTLP_METRICS_CERTIFICATE", "/nonexistent/ca.pem", 1);
	CHECK_INT(otel_config_from_env(&c, "judge"), 2);
	CHECK(!c.traces.gzip && !c.metrics.gzip);
	CHECK_STR(c.metrics.ca_file, "/nonexistent/ca.pem");
	otel_config_free(&c);
	clear_env();
}

static void test_config_switches(void)
{
	struct otel_config c;
	clear_env();
	setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://x:1", 1);
	setenv("OTEL_TRACES_EXPORTER", "none", 1);
	CHECK_INT(otel_config_from_env(&c, "p"), 0);
	CHECK(!c.traces.on && c.metrics.on);
	otel_config_free(&c);
	setenv("OTEL_TRACES_EXPORTER", "otlp", 1);
	setenv("OTEL_METRICS_EXPORTER", "prometheus", 1);
	CHECK_INT(otel_config_from_env(&c, "p"), 1);
	CHECK(c.traces.on && !c.metrics.on);
	otel_config_free(&c);
	setenv("OTEL_METRICS_EXPORTER", "console,otlp", 1);
	CHECK_INT(otel_config_from_env(&c, "p"), 1);
	CHECK(c.traces.on && c.metrics.on);
	otel_config_free(&c);
	unsetenv("OTEL_METRICS_EXPORTER");
	setenv("OTEL_SDK_DISABLED", "TRUE", 1);
	CHECK_INT(otel_config_from_env(&c, "p"), 0);
	CHECK(!c.traces.on && !c.metrics.on);
	otel_config_free(&c);
	setenv("OTEL_SDK_DISABLED", "yes", 1);
	CHECK_INT(otel_config_from_env(&c, "p"), 1);
	CHECK(c.traces.on && c.metrics.on);
	otel_config_free(&c);
	clear_env();
}

static void test_config_numbers(void)
{
	struct otel_config c;
	clear_env();
	setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "500", 1);
	setenv("OTEL_METRIC_EXPORT_INTERVAL", "250", 1);
	setenv("OTEL_BSP_SCHEDULE_DELAY", "100", 1);
	setenv("OTEL_BSP_MAX_QUEUE_SIZE", "10", 1);
	setenv("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "64", 1);	/* cut to the queue */
	setenv("OTEL_EXPORTER_OTLP_METRICS_TIMEOUT", "2000", 1);
	CHECK_INT(otel_config_from_env(&c, "p"), 0);
	CHECK_INT(c.timeout_ms, 500);
	CHECK_INT(c.traces.timeout_ms, 500);
	CHECK_INT(c.metrics.timeout_ms, 2000);
	CHECK_INT(c.metric_interval_ms, 250);
	CHECK_INT(c.bsp_delay_ms, 100);
	CHECK_INT(c.bsp_queue, 10);
	CHECK_INT(c.bsp_batch, 10);
	otel_config_free(&c);
	setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "10s", 1);
	setenv("OTEL_METRIC_EXPORT_INTERVAL", "0", 1);
	setenv("OTEL_BSP_MAX_QUEUE_SIZE", "-1", 1);
	unsetenv("OTEL_BSP_MAX_EXPORT_BATCH_SIZE");
	unsetenv("OTEL_EXPORTER_OTLP_METRICS_TIMEOUT");
	CHECK_INT(otel_config_from_env(&c, "p"), 3);
	CHECK_INT(c.timeout_ms, 10000);
	CHECK_INT(c.metrics.timeout_ms, 10000);
	CHECK_INT(c.metric_interval_ms, 60000);
	CHECK_INT(c.bsp_queue, 2048);
	CHECK_INT(c.bsp_batch, 512);
	otel_config_free(&c);
	clear_env();
}

static void test_config_headers(void)
{
	struct otel_config c;
	clear_env();
	setenv("OTEL_EXPORTER_OTLP_HEADERS",
	       "api-key=abc%20def, x-tenant = t1 ,novalue,=v,x-crlf=a%0D%0Ab,x bad=1,k=%zz,"
	       "authorization=Basic%20dXNlcjpwYXNz,x-eq=a=b", 1);
	CHECK_INT(otel_config_from_env(&c, "p"), 5);
	for (int k = 0; k < 2; k++) {
		const struct otel_signal *sig = k ? &c.metrics : &c.traces;
		CHECK_INT(sig->nheaders, 4);
		CHECK_STR(sig->headers[0], "api-key: abc def");
		CHECK_STR(sig->headers[1], "x-tenant: t1");
		CHECK_STR(sig->headers[2], "authorization: Basic dXNlcjpwYXNz");
		CHECK_STR(sig->headers[3], "x-eq: a=b");
	}
	otel_config_free(&c);

	/* A signal's own list replaces the general one. */
	setenv("OTEL_EXPORTER_OTLP_HEADERS", "a=1,b=2", 1);
	setenv("OTEL_EXPORTER_OTLP_METRICS_HEADERS", "c=3", 1);
	CHECK_INT(otel_config_from_env(&c, "p"), 0);
	CHECK_INT(c.traces.nheaders, 2);
	CHECK_STR(c.traces.headers[1], "b: 2");
	CHECK_INT(c.metrics.nheaders, 1);
	CHECK_STR(c.metrics.headers[0], "c: 3");
	otel_config_free(&c);
	clear_env();
}

static void test_config_resource(void)
{
	struct otel_config c;
	clear_env();
	setenv("OTEL_RESOURCE_ATTRIBUTES",
	       "deployment.environment=prod,service.name=from-attrs,odd=%FFx,host.name=h%2C1", 1);
	CHECK_INT(otel_config_from_env(&c, "p"), 0);
	CHECK_STR(resource_str(&c, "service.name"), "from-attrs");
	CHECK_STR(resource_str(&c, "deployment.environment"), "prod");
	CHECK_STR(resource_str(&c, "odd"), "?x");	/* protobuf strings are UTF-8 */
	CHECK_STR(resource_str(&c, "host.name"), "h,1");
	CHECK_STR(c.resource[0].key, "service.name");
	otel_config_free(&c);
	setenv("OTEL_SERVICE_NAME", "svc", 1);
	CHECK_INT(otel_config_from_env(&c, "p"), 0);
	CHECK_STR(resource_str(&c, "service.name"), "svc");
	otel_config_free(&c);
	clear_env();
}

/* ---- retries ---- */

static void test_retry_policy(void)
{
	static const int retryable[] = {1, 4, 8, 10, 11, 14, 15};
	for (long s = 0; s <= 16; s++) {
		int want = 0;
		for (size_t i = 0; i < sizeof retryable / sizeof retryable[0]; i++)
			want |= retryable[i] == s;
		CHECK_INT(otlp_retryable_grpc(s), want);
	}
	CHECK(otlp_retryable_http(429) && otlp_retryable_http(502) && otlp_retryable_http(503) &&
	      otlp_retryable_http(504));
	CHECK(!otlp_retryable_http(200) && !otlp_retryable_http(400) && !otlp_retryable_http(404) &&
	      !otlp_retryable_http(500) && !otlp_retryable_http(501));
	CHECK_INT(otlp_backoff_ms(1, 0), 250);
	CHECK_INT(otlp_backoff_ms(2, 0), 500);
	CHECK_INT(otlp_backoff_ms(3, 0), 1000);
	CHECK_INT(otlp_backoff_ms(5, 0), 4000);
	CHECK_INT(otlp_backoff_ms(40, 0), 4000);
	CHECK_INT(otlp_backoff_ms(1, 0.5), 275);
	CHECK(otlp_backoff_ms(5, 0.999) < 4800);
}

/* ---- the runtime ---- */

static void test_disabled_is_noop(void)
{
	struct otel_stats st;
	struct tracectx ctx;
	clear_env();
	CHECK_INT(otel_init("p"), 0);
	struct otel_span *s = otel_span_start("x", OTEL_SERVER, NULL);
	CHECK(s == NULL);
	otel_span_set_str(s, "k", "v");
	otel_span_set_error(s, "e", "m");
	CHECK(otel_span_context(s, &ctx) == -1);
	otel_span_end(s);
	CHECK(otel_counter("c", "1", "d") == NULL);
	CHECK(otel_histogram("h", "ms", "d", NULL, 0) == NULL);
	otel_metric_add(NULL, 1, NULL, 0);
	otel_metric_record(NULL, 1, NULL, 0);
	otel_stats(&st);
	CHECK(!st.running);
	otel_shutdown();

	setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:1", 1);
	setenv("OTEL_SDK_DISABLED", "true", 1);
	CHECK_INT(otel_init("p"), 0);
	unsetenv("OTEL_SDK_DISABLED");
	setenv("OTEL_TRACES_EXPORTER", "none", 1);
	setenv("OTEL_METRICS_EXPORTER", "none", 1);
	CHECK_INT(otel_init("p"), 0);
	CHECK(otel_span_start("x", OTEL_SERVER, NULL) == NULL);
	clear_env();
}

/* The signals blocked in every thread but the caller's (the exporter's),
 * from /proc; 0 when there is no other thread. */
static unsigned long long other_thread_sigblk(void)
{
	char path[300], line[256];
	unsigned long long mask = 0;
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	while (d && (e = readdir(d))) {
		FILE *f;
		if (e->d_name[0] == '.' || atoi(e->d_name) == gettid())
			continue;
		snprintf(path, sizeof path, "/proc/self/task/%s/status", e->d_name);
		f = fopen(path, "r");
		while (f && fgets(line, sizeof line, f))
			if (sscanf(line, "SigBlk: %llx", &mask) == 1)
				break;
		if (f)
			fclose(f);
	}
	if (d)
		closedir(d);
	return mask;
}

#define SIGBIT(sig) (1ull << ((sig) - 1))

/* Against a port nobody listens on: the calls work, nothing blocks, every
 * span ends up dropped; a forked child gets the no-op state. */
static void test_unreachable_and_fork(void)
{
	struct otel_stats st;
	struct tracectx parent, ctx;
	pid_t pid;
	int status = -1;
	clear_env();
	setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:1", 1);
	setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "2000", 1);
	setenv("OTEL_BSP_MAX_QUEUE_SIZE", "4", 1);
	setenv("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "2", 1);
	CHECK_INT(otel_init("unit"), 1);
	CHECK_INT(otel_init("unit"), 1);
	otel_stats(&st);
	CHECK(st.running);
	/* The program's signals stay with the program (signalfd, handlers). */
	unsigned long long blk = other_thread_sigblk();
	CHECK((blk & SIGBIT(SIGTERM)) && (blk & SIGBIT(SIGINT)) && (blk & SIGBIT(SIGCHLD)) &&
	      (blk & SIGBIT(SIGHUP)) && (blk & SIGBIT(SIGUSR1)) && (blk & SIGBIT(SIGPIPE)));
	struct otel_metric *c = otel_counter("jobs", "{job}", "Jobs");
	CHECK(c != NULL);
	CHECK(otel_counter("jobs", "{job}", "Jobs") == c);
	CHECK(otel_histogram("bad", "ms", "", (const double[]){2, 1}, 2) == NULL);

	CHECK(tracectx_parse(&parent, tp_example, "k=v") == 0);
	for (int i = 0; i < 10; i++) {
		struct otel_span *s = otel_span_start("op", OTEL_CONSUMER, &parent);
		CHECK(s != NULL);
		CHECK(otel_span_context(s, &ctx) == 0);
		CHECK(memcmp(ctx.trace_id, parent.trace_id, 16) == 0);
		CHECK(memcmp(ctx.span_id, parent.span_id, 8) != 0);
		CHECK_STR(ctx.trace_state, "k=v");
		CHECK_INT(ctx.flags, TRACECTX_SAMPLED);
		otel_span_set_int(s, "i", i);
		otel_span_end(s);
		otel_metric_add(c, 1, (const struct otel_attr[]){{"lane", "run"}}, 1);
	}
	/* Not sampled upstream: ids to propagate, nothing exported. */
	parent.flags = 0;
	struct otel_span *quiet = otel_span_start("quiet", OTEL_INTERNAL, &parent);
	CHECK(otel_span_context(quiet, &ctx) == 0 && ctx.flags == 0);
	otel_span_end(quiet);

	pid = fork();
	if (pid == 0) {
		struct otel_stats cst;
		otel_stats(&cst);
		int ok = otel_span_start("child", OTEL_INTERNAL, NULL) == NULL &&
			 otel_counter("child", "", "") == NULL && !cst.running;
		otel_metric_add(c, 1, NULL, 0);
		otel_shutdown();
		/* A child may start an exporter of its own. */
		ok = ok && otel_init("child") == 1;
		struct otel_span *own = otel_span_start("child", OTEL_INTERNAL, NULL);
		ok = ok && own != NULL && otel_counter("jobs", "{job}", "Jobs") != c;
		otel_span_end(own);
		otel_metric_add(c, 1, NULL, 0);	/* the parent's handle: ignored */
		otel_shutdown();
		otel_stats(&cst);
		ok = ok && cst.spans_dropped == 1 && !cst.running;
		_exit(ok ? 0 : 1);
	}
	CHECK(pid > 0 && waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);

	int64_t t0 = now_mono_ms();
	otel_shutdown();
	CHECK(now_mono_ms() - t0 < 5000);
	otel_stats(&st);
	CHECK(!st.running);
	CHECK_INT(st.spans_exported, 0);
	CHECK_INT(st.spans_dropped, 10);
	CHECK_INT(st.metric_exports, 0);
	CHECK_INT(st.metric_exports_failed, 1);
	CHECK(otel_span_start("after", OTEL_INTERNAL, NULL) == NULL);
	clear_env();
}

/* ---- explicit start and end times, seen on the wire ---- */

/* A one-request-per-connection HTTP/1.1 server on 127.0.0.1 that answers
 * 200 to every POST and keeps the bodies: an http/protobuf collector. */
struct sink {
	int fd;
	int port;
	atomic_int stop;
	unsigned char body[1 << 16];
	size_t len;
};

/* Reads one request from c and appends its body to k. */
static void sink_request(struct sink *k, int c)
{
	char head[4096];
	size_t n = 0, want = 0;
	char *end = NULL;
	while (n < sizeof head - 1 && end == NULL) {
		ssize_t r = read(c, head + n, sizeof head - 1 - n);
		if (r <= 0)
			return;
		n += (size_t)r;
		head[n] = '\0';
		end = strstr(head, "\r\n\r\n");
	}
	if (end == NULL)
		return;
	const char *cl = strcasestr(head, "content-length:");
	if (cl)
		want = strtoul(cl + 15, NULL, 10);
	size_t got = n - (size_t)(end + 4 - head);
	if (want > sizeof k->body - k->len || got > want)
		return;
	memcpy(k->body + k->len, end + 4, got);
	while (got < want) {
		ssize_t r = read(c, k->body + k->len + got, want - got);
		if (r <= 0)
			return;
		got += (size_t)r;
	}
	k->len += want;
	static const char ok[] = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
	if (write(c, ok, sizeof ok - 1) < 0)
		return;
}

static void *sink_main(void *arg)
{
	struct sink *k = arg;
	while (!atomic_load(&k->stop)) {
		struct pollfd pf = {k->fd, POLLIN, 0};
		if (poll(&pf, 1, 50) <= 0)
			continue;
		int c = accept(k->fd, NULL, NULL);
		if (c < 0)
			continue;
		sink_request(k, c);
		close(c);
	}
	return NULL;
}

static int sink_start(struct sink *k, pthread_t *t)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t alen = sizeof a;
	memset(k, 0, sizeof *k);
	k->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (k->fd < 0 || bind(k->fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(k->fd, 8) != 0 ||
	    getsockname(k->fd, (struct sockaddr *)&a, &alen) != 0)
		return -1;
	k->port = ntohs(a.sin_port);
	return pthread_create(t, NULL, sink_main, k);
}

/* Does the body hold field `tag` (a fixed64) with value v? */
static int has_fixed64(const struct sink *k, unsigned char tag, uint64_t v)
{
	unsigned char want[9] = {tag};
	for (int i = 0; i < 8; i++)
		want[1 + i] = (unsigned char)(v >> (8 * i));
	return k->len >= 9 && memmem(k->body, k->len, want, sizeof want) != NULL;
}

/* Does the body hold field `tag` (a fixed64) with a value in [lo, hi)? */
static int has_fixed64_in(const struct sink *k, unsigned char tag, uint64_t lo, uint64_t hi)
{
	for (size_t i = 0; i + 9 <= k->len; i++) {
		uint64_t v = 0;
		if (k->body[i] != tag)
			continue;
		for (int j = 7; j >= 0; j--)
			v = v << 8 | k->body[i + 1 + (size_t)j];
		if (v >= lo && v < hi)
			return 1;
	}
	return 0;
}

enum { TAG_START = 7 << 3 | 1, TAG_END = 8 << 3 | 1 };	/* Span fields 7, 8: fixed64 */

static void test_span_times(void)
{
	struct sink k;
	pthread_t t;
	char url[64];
	struct otel_stats st;
	const uint64_t t0 = 1700000000123456789u, t1 = 1700000100000000000u;
	clear_env();
	CHECK(otel_span_start_at("off", OTEL_INTERNAL, NULL, t0) == NULL);
	otel_span_end_at(NULL, t1);
	if (!CHECK(sink_start(&k, &t) == 0))
		return;
	snprintf(url, sizeof url, "http://127.0.0.1:%d", k.port);
	setenv("OTEL_EXPORTER_OTLP_ENDPOINT", url, 1);
	setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf", 1);
	setenv("OTEL_METRICS_EXPORTER", "none", 1);
	CHECK_INT(otel_init("unit"), 1);
	struct otel_span *a = otel_span_start_at("after the fact", OTEL_INTERNAL, NULL, t0);
	otel_span_end_at(a, t0 + 5000000);
	/* An end before the start is taken as the start. */
	struct otel_span *b = otel_span_start_at("backwards", OTEL_INTERNAL, NULL, t1);
	otel_span_end_at(b, t1 - 10);
	/* 0: now, for the start and the end. */
	int64_t before = now_wall_ms();
	struct otel_span *c = otel_span_start_at("now", OTEL_INTERNAL, NULL, 0);
	otel_span_end_at(c, 0);
	otel_shutdown();
	atomic_store(&k.stop, 1);
	pthread_join(t, NULL);
	close(k.fd);
	otel_stats(&st);
	CHECK_INT(st.spans_exported, 3);
	CHECK(has_fixed64(&k, TAG_START, t0));
	CHECK(has_fixed64(&k, TAG_END, t0 + 5000000));
	CHECK(has_fixed64(&k, TAG_START, t1));
	CHECK(has_fixed64(&k, TAG_END, t1));
	CHECK(!has_fixed64(&k, TAG_END, t1 - 10));
	/* The "now" span: a start and an end within the test's run. */
	uint64_t lo = (uint64_t)before * 1000000, hi = (uint64_t)(now_wall_ms() + 1) * 1000000;
	CHECK(has_fixed64_in(&k, TAG_START, lo, hi));
	CHECK(has_fixed64_in(&k, TAG_END, lo, hi));
	clear_env();
}

int main(void)
{
	UNIT_RUN(test_varint);
	UNIT_RUN(test_nested_lengths);
	UNIT_RUN(test_golden_traces);
	UNIT_RUN(test_golden_metrics);
	UNIT_RUN(test_golden_json);
	UNIT_RUN(test_json_non_finite);
	UNIT_RUN(test_traceparent_good);
	UNIT_RUN(test_traceparent_bad);
	UNIT_RUN(test_tracestate);
	UNIT_RUN(test_config_defaults);
	UNIT_RUN(test_config_endpoints);
	UNIT_RUN(test_config_transport);
	UNIT_RUN(test_config_switches);
	UNIT_RUN(test_config_numbers);
	UNIT_RUN(test_config_headers);
	UNIT_RUN(test_config_resource);
	UNIT_RUN(test_retry_policy);
	UNIT_RUN(test_disabled_is_noop);
	UNIT_RUN(test_span_times);
	UNIT_RUN(test_unreachable_and_fork);
	return unit_finish();
}
