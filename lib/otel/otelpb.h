/* otelpb: the OTLP protobuf messages, encoded by hand.
 *
 * A growing byte buffer, the wire primitives (varint, fixed64, double,
 * length-delimited), and the two requests the exporter sends:
 * ExportTraceServiceRequest and ExportMetricsServiceRequest
 * (opentelemetry-proto, collector/{trace,metrics}/v1). Nested messages are
 * written in place: otelpb_open() leaves one byte for the length and
 * otelpb_close() writes it, moving the body when the length needs more
 * bytes. Fields go out in field-number order and proto3 defaults (0, "",
 * false) are left out, so the bytes equal those of the reference
 * implementations (tests/unit/test_otel.c compares them).
 *
 * The plain structures below are what the encoder reads; lib/otel/otel.c fills
 * them. Every pointer in them is borrowed by the encoder. */
#ifndef OTELPB_H
#define OTELPB_H

#include <stddef.h>
#include <stdint.h>

struct otelpb {
	unsigned char *p;	/* NULL until the first write; owned, otelpb_free() */
	size_t len, cap;
};

/* Wire types. */
enum otelpb_wire {
	OTELPB_VARINT = 0,
	OTELPB_I64 = 1,
	OTELPB_LEN = 2,
};

/* Frees b->p and empties b. */
void otelpb_free(struct otelpb *b);
/* Makes room for n more bytes (allocate or die). */
void otelpb_reserve(struct otelpb *b, size_t n);
/* Appends n raw bytes (allocate or die). */
void otelpb_put(struct otelpb *b, const void *p, size_t n);
/* Appends v as a base-128 varint. */
void otelpb_varint(struct otelpb *b, uint64_t v);
/* Appends the key of field `field` with wire type `wire`. */
void otelpb_tag(struct otelpb *b, unsigned field, enum otelpb_wire wire);

/* Whole fields, always written (presence is the caller's decision). */
void otelpb_uint_field(struct otelpb *b, unsigned field, uint64_t v);
void otelpb_fixed64_field(struct otelpb *b, unsigned field, uint64_t v);
void otelpb_double_field(struct otelpb *b, unsigned field, double v);
void otelpb_bytes_field(struct otelpb *b, unsigned field, const void *p, size_t n);
void otelpb_string_field(struct otelpb *b, unsigned field, const char *s);
/* Packed repeated fixed64 and double fields; nothing when n is 0. */
void otelpb_packed_fixed64(struct otelpb *b, unsigned field, const uint64_t *v, size_t n);
void otelpb_packed_double(struct otelpb *b, unsigned field, const double *v, size_t n);

/* Starts the embedded message `field`; returns the mark otelpb_close()
 * needs. The body is what is appended in between. */
size_t otelpb_open(struct otelpb *b, unsigned field);
void otelpb_close(struct otelpb *b, size_t mark);

/* ---- the OTLP data ---- */

enum otelpb_type {
	OTELPB_STRING,
	OTELPB_INT,
	OTELPB_DOUBLE,
	OTELPB_BOOL,
};

/* A KeyValue whose AnyValue is a string, an int64, a double or a bool. */
struct otelpb_kv {
	char *key;
	enum otelpb_type type;
	union {
		char *s;
		int64_t i;
		double d;
		int b;
	} v;
};

/* Span.SpanKind and Status.StatusCode. */
enum otelpb_span_kind {
	OTELPB_KIND_INTERNAL = 1,
	OTELPB_KIND_SERVER = 2,
	OTELPB_KIND_CLIENT = 3,
	OTELPB_KIND_PRODUCER = 4,
	OTELPB_KIND_CONSUMER = 5,
};

enum otelpb_status_code {
	OTELPB_STATUS_UNSET = 0,
	OTELPB_STATUS_OK = 1,
	OTELPB_STATUS_ERROR = 2,
};

enum { OTELPB_SPAN_ATTRS = 32 };	/* attributes kept per span */

struct otelpb_span {
	uint8_t trace_id[16], span_id[8];
	uint8_t parent_span_id[8];	/* all zero: a root span */
	char *trace_state;		/* NULL or "" when there is none */
	char *name;
	enum otelpb_span_kind kind;
	uint64_t start_ns, end_ns;	/* unix nanoseconds */
	struct otelpb_kv attrs[OTELPB_SPAN_ATTRS];
	size_t nattrs;
	uint32_t dropped_attrs;		/* set beyond OTELPB_SPAN_ATTRS */
	enum otelpb_status_code status;
	char *status_message;		/* NULL when there is none */
};

/* The Resource and InstrumentationScope of every request. */
struct otelpb_resource {
	const struct otelpb_kv *attrs;
	size_t nattrs;
	const char *scope_name, *scope_version;
};

enum otelpb_metric_type {
	OTELPB_SUM,		/* cumulative, monotonic or not */
	OTELPB_GAUGE,
	OTELPB_HISTOGRAM,	/* cumulative, explicit bounds */
};

/* One data point. A sum or gauge point holds as_int, or as_double when
 * is_double; a histogram point holds count, sum, min, max (min and max
 * are written only when count > 0) and nbounds + 1 bucket counts. */
struct otelpb_point {
	const struct otelpb_kv *attrs;
	size_t nattrs;
	uint64_t start_ns, time_ns;	/* start_ns 0: not written */
	int is_double;
	int64_t as_int;
	double as_double;
	uint64_t count;
	double sum, min, max;
	const uint64_t *bucket_counts;
	const double *bounds;
	size_t nbounds;
};

struct otelpb_metric {
	const char *name, *description, *unit;
	enum otelpb_metric_type type;
	int monotonic;			/* sums only */
	const struct otelpb_point *points;
	size_t npoints;
};

/* Appends an ExportTraceServiceRequest with one ResourceSpans holding one
 * ScopeSpans with the n spans. */
void otelpb_trace_request(struct otelpb *b, const struct otelpb_resource *r,
			  struct otelpb_span *const *spans, size_t n);

/* Appends an ExportMetricsServiceRequest with one ResourceMetrics holding
 * one ScopeMetrics with the n metrics. */
void otelpb_metrics_request(struct otelpb *b, const struct otelpb_resource *r,
			    const struct otelpb_metric *metrics, size_t n);

#endif
