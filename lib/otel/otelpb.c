#include "otel/otelpb.h"

#include <stdlib.h>
#include <string.h>

#include "core/util.h"

/* Field numbers, from opentelemetry-proto (the vendored copies are in
 * tests/otlp/proto/). */
enum {
	/* Export*ServiceRequest */
	F_REQ_RESOURCE_DATA = 1,
	/* ResourceSpans, ResourceMetrics */
	F_RES_RESOURCE = 1, F_RES_SCOPE_DATA = 2,
	/* Resource */
	F_RESOURCE_ATTRS = 1,
	/* ScopeSpans, ScopeMetrics */
	F_SCOPE_SCOPE = 1, F_SCOPE_ITEMS = 2,
	/* InstrumentationScope */
	F_IS_NAME = 1, F_IS_VERSION = 2,
	/* KeyValue, AnyValue */
	F_KV_KEY = 1, F_KV_VALUE = 2,
	F_ANY_STRING = 1, F_ANY_BOOL = 2, F_ANY_INT = 3, F_ANY_DOUBLE = 4,
	/* Span */
	F_SPAN_TRACE_ID = 1, F_SPAN_SPAN_ID = 2, F_SPAN_TRACE_STATE = 3,
	F_SPAN_PARENT = 4, F_SPAN_NAME = 5, F_SPAN_KIND = 6, F_SPAN_START = 7,
	F_SPAN_END = 8, F_SPAN_ATTRS = 9, F_SPAN_DROPPED_ATTRS = 10,
	F_SPAN_STATUS = 15,
	/* Status */
	F_STATUS_MESSAGE = 2, F_STATUS_CODE = 3,
	/* Metric */
	F_METRIC_NAME = 1, F_METRIC_DESCRIPTION = 2, F_METRIC_UNIT = 3,
	F_METRIC_GAUGE = 5, F_METRIC_SUM = 7, F_METRIC_HISTOGRAM = 9,
	/* Sum, Gauge, Histogram */
	F_DATA_POINTS = 1, F_DATA_TEMPORALITY = 2, F_SUM_MONOTONIC = 3,
	/* NumberDataPoint */
	F_NDP_START = 2, F_NDP_TIME = 3, F_NDP_AS_DOUBLE = 4, F_NDP_AS_INT = 6,
	F_NDP_ATTRS = 7,
	/* HistogramDataPoint */
	F_HDP_START = 2, F_HDP_TIME = 3, F_HDP_COUNT = 4, F_HDP_SUM = 5,
	F_HDP_BUCKETS = 6, F_HDP_BOUNDS = 7, F_HDP_ATTRS = 9, F_HDP_MIN = 11,
	F_HDP_MAX = 12,
};

enum { TEMPORALITY_CUMULATIVE = 2 };

/* ---- the buffer and the wire primitives ---- */

void otelpb_reserve(struct otelpb *b, size_t n)
{
	if (b->cap - b->len >= n)
		return;
	size_t cap = b->cap ? b->cap : 256;
	while (cap - b->len < n)
		cap *= 2;
	b->p = xrealloc(b->p, cap);
	b->cap = cap;
}

void otelpb_free(struct otelpb *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

void otelpb_put(struct otelpb *b, const void *p, size_t n)
{
	if (n == 0)
		return;
	otelpb_reserve(b, n);
	memcpy(b->p + b->len, p, n);
	b->len += n;
}

static size_t varint_size(uint64_t v)
{
	size_t n = 1;
	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

static void varint_at(unsigned char *p, uint64_t v)
{
	while (v >= 0x80) {
		*p++ = (unsigned char)(v | 0x80);
		v >>= 7;
	}
	*p = (unsigned char)v;
}

void otelpb_varint(struct otelpb *b, uint64_t v)
{
	otelpb_reserve(b, 10);
	varint_at(b->p + b->len, v);
	b->len += varint_size(v);
}

void otelpb_tag(struct otelpb *b, unsigned field, enum otelpb_wire wire)
{
	otelpb_varint(b, (uint64_t)field << 3 | wire);
}

static void put_le64(struct otelpb *b, uint64_t v)
{
	unsigned char le[8];
	for (int i = 0; i < 8; i++)
		le[i] = (unsigned char)(v >> (8 * i));
	otelpb_put(b, le, sizeof le);
}

static uint64_t double_bits(double d)
{
	uint64_t u;
	memcpy(&u, &d, sizeof u);
	return u;
}

void otelpb_uint_field(struct otelpb *b, unsigned field, uint64_t v)
{
	otelpb_tag(b, field, OTELPB_VARINT);
	otelpb_varint(b, v);
}

void otelpb_fixed64_field(struct otelpb *b, unsigned field, uint64_t v)
{
	otelpb_tag(b, field, OTELPB_I64);
	put_le64(b, v);
}

void otelpb_double_field(struct otelpb *b, unsigned field, double v)
{
	otelpb_fixed64_field(b, field, double_bits(v));
}

void otelpb_bytes_field(struct otelpb *b, unsigned field, const void *p, size_t n)
{
	otelpb_tag(b, field, OTELPB_LEN);
	otelpb_varint(b, n);
	otelpb_put(b, p, n);
}

void otelpb_string_field(struct otelpb *b, unsigned field, const char *s)
{
	otelpb_bytes_field(b, field, s, strlen(s));
}

void otelpb_packed_fixed64(struct otelpb *b, unsigned field, const uint64_t *v, size_t n)
{
	if (n == 0)
		return;
	otelpb_tag(b, field, OTELPB_LEN);
	otelpb_varint(b, 8 * (uint64_t)n);
	for (size_t i = 0; i < n; i++)
		put_le64(b, v[i]);
}

void otelpb_packed_double(struct otelpb *b, unsigned field, const double *v, size_t n)
{
	if (n == 0)
		return;
	otelpb_tag(b, field, OTELPB_LEN);
	otelpb_varint(b, 8 * (uint64_t)n);
	for (size_t i = 0; i < n; i++)
		put_le64(b, double_bits(v[i]));
}

size_t otelpb_open(struct otelpb *b, unsigned field)
{
	otelpb_tag(b, field, OTELPB_LEN);
	otelpb_reserve(b, 1);
	b->p[b->len++] = 0;
	return b->len;
}

void otelpb_close(struct otelpb *b, size_t mark)
{
	size_t body = b->len - mark, extra = varint_size(body) - 1;
	if (extra > 0) {
		otelpb_reserve(b, extra);
		memmove(b->p + mark + extra, b->p + mark, body);
		b->len += extra;
	}
	varint_at(b->p + mark - 1, body);
}

/* ---- proto3 fields that are left out when they hold the default ---- */

static void opt_string(struct otelpb *b, unsigned field, const char *s)
{
	if (s && *s)
		otelpb_string_field(b, field, s);
}

static void opt_uint(struct otelpb *b, unsigned field, uint64_t v)
{
	if (v)
		otelpb_uint_field(b, field, v);
}

static void opt_fixed64(struct otelpb *b, unsigned field, uint64_t v)
{
	if (v)
		otelpb_fixed64_field(b, field, v);
}

/* ---- common, resource ---- */

static void put_kv(struct otelpb *b, unsigned field, const struct otelpb_kv *kv)
{
	size_t m = otelpb_open(b, field), v;
	opt_string(b, F_KV_KEY, kv->key);
	v = otelpb_open(b, F_KV_VALUE);
	switch (kv->type) {
	case OTELPB_STRING:
		otelpb_string_field(b, F_ANY_STRING, kv->v.s ? kv->v.s : "");
		break;
	case OTELPB_BOOL:
		otelpb_uint_field(b, F_ANY_BOOL, kv->v.b != 0);
		break;
	case OTELPB_INT:
		otelpb_uint_field(b, F_ANY_INT, (uint64_t)kv->v.i);
		break;
	case OTELPB_DOUBLE:
		otelpb_double_field(b, F_ANY_DOUBLE, kv->v.d);
		break;
	}
	otelpb_close(b, v);
	otelpb_close(b, m);
}

static void put_kvs(struct otelpb *b, unsigned field, const struct otelpb_kv *kv, size_t n)
{
	for (size_t i = 0; i < n; i++)
		put_kv(b, field, &kv[i]);
}

/* The resource and the scope around the items: returns the mark of the
 * Scope* message, where the caller appends its items. *outer gets the
 * mark of the Resource* message; close both, inner first. */
static size_t open_envelope(struct otelpb *b, const struct otelpb_resource *r, size_t *outer)
{
	size_t m, s;
	*outer = otelpb_open(b, F_REQ_RESOURCE_DATA);
	m = otelpb_open(b, F_RES_RESOURCE);
	put_kvs(b, F_RESOURCE_ATTRS, r->attrs, r->nattrs);
	otelpb_close(b, m);
	s = otelpb_open(b, F_RES_SCOPE_DATA);
	m = otelpb_open(b, F_SCOPE_SCOPE);
	opt_string(b, F_IS_NAME, r->scope_name);
	opt_string(b, F_IS_VERSION, r->scope_version);
	otelpb_close(b, m);
	return s;
}

/* ---- traces ---- */

static void put_span(struct otelpb *b, const struct otelpb_span *s)
{
	size_t m = otelpb_open(b, F_SCOPE_ITEMS);
	otelpb_bytes_field(b, F_SPAN_TRACE_ID, s->trace_id, sizeof s->trace_id);
	otelpb_bytes_field(b, F_SPAN_SPAN_ID, s->span_id, sizeof s->span_id);
	opt_string(b, F_SPAN_TRACE_STATE, s->trace_state);
	if (!mem_is_zero(s->parent_span_id, sizeof s->parent_span_id))
		otelpb_bytes_field(b, F_SPAN_PARENT, s->parent_span_id, sizeof s->parent_span_id);
	opt_string(b, F_SPAN_NAME, s->name);
	opt_uint(b, F_SPAN_KIND, s->kind);
	opt_fixed64(b, F_SPAN_START, s->start_ns);
	opt_fixed64(b, F_SPAN_END, s->end_ns);
	put_kvs(b, F_SPAN_ATTRS, s->attrs, s->nattrs);
	opt_uint(b, F_SPAN_DROPPED_ATTRS, s->dropped_attrs);
	if (s->status != OTELPB_STATUS_UNSET || (s->status_message && *s->status_message)) {
		size_t st = otelpb_open(b, F_SPAN_STATUS);
		opt_string(b, F_STATUS_MESSAGE, s->status_message);
		opt_uint(b, F_STATUS_CODE, s->status);
		otelpb_close(b, st);
	}
	otelpb_close(b, m);
}

void otelpb_trace_request(struct otelpb *b, const struct otelpb_resource *r,
			  struct otelpb_span *const *spans, size_t n)
{
	size_t outer, scope = open_envelope(b, r, &outer);
	for (size_t i = 0; i < n; i++)
		put_span(b, spans[i]);
	otelpb_close(b, scope);
	otelpb_close(b, outer);
}

/* ---- metrics ---- */

static void put_number_point(struct otelpb *b, const struct otelpb_point *p)
{
	size_t m = otelpb_open(b, F_DATA_POINTS);
	opt_fixed64(b, F_NDP_START, p->start_ns);
	opt_fixed64(b, F_NDP_TIME, p->time_ns);
	if (p->is_double)
		otelpb_double_field(b, F_NDP_AS_DOUBLE, p->as_double);
	else
		otelpb_fixed64_field(b, F_NDP_AS_INT, (uint64_t)p->as_int);	/* sfixed64 */
	put_kvs(b, F_NDP_ATTRS, p->attrs, p->nattrs);
	otelpb_close(b, m);
}

static void put_histogram_point(struct otelpb *b, const struct otelpb_point *p)
{
	size_t m = otelpb_open(b, F_DATA_POINTS);
	opt_fixed64(b, F_HDP_START, p->start_ns);
	opt_fixed64(b, F_HDP_TIME, p->time_ns);
	opt_fixed64(b, F_HDP_COUNT, p->count);
	otelpb_double_field(b, F_HDP_SUM, p->sum);
	otelpb_packed_fixed64(b, F_HDP_BUCKETS, p->bucket_counts, p->nbounds + 1);
	otelpb_packed_double(b, F_HDP_BOUNDS, p->bounds, p->nbounds);
	put_kvs(b, F_HDP_ATTRS, p->attrs, p->nattrs);
	if (p->count > 0) {
		otelpb_double_field(b, F_HDP_MIN, p->min);
		otelpb_double_field(b, F_HDP_MAX, p->max);
	}
	otelpb_close(b, m);
}

static void put_metric(struct otelpb *b, const struct otelpb_metric *mt)
{
	static const unsigned data_field[] = {
		[OTELPB_SUM] = F_METRIC_SUM,
		[OTELPB_GAUGE] = F_METRIC_GAUGE,
		[OTELPB_HISTOGRAM] = F_METRIC_HISTOGRAM,
	};
	size_t m = otelpb_open(b, F_SCOPE_ITEMS), d;
	opt_string(b, F_METRIC_NAME, mt->name);
	opt_string(b, F_METRIC_DESCRIPTION, mt->description);
	opt_string(b, F_METRIC_UNIT, mt->unit);
	d = otelpb_open(b, data_field[mt->type]);
	for (size_t i = 0; i < mt->npoints; i++) {
		if (mt->type == OTELPB_HISTOGRAM)
			put_histogram_point(b, &mt->points[i]);
		else
			put_number_point(b, &mt->points[i]);
	}
	if (mt->type != OTELPB_GAUGE)
		otelpb_uint_field(b, F_DATA_TEMPORALITY, TEMPORALITY_CUMULATIVE);
	if (mt->type == OTELPB_SUM && mt->monotonic)
		otelpb_uint_field(b, F_SUM_MONOTONIC, 1);
	otelpb_close(b, d);
	otelpb_close(b, m);
}

void otelpb_metrics_request(struct otelpb *b, const struct otelpb_resource *r,
			    const struct otelpb_metric *metrics, size_t n)
{
	size_t outer, scope = open_envelope(b, r, &outer);
	for (size_t i = 0; i < n; i++)
		put_metric(b, &metrics[i]);
	otelpb_close(b, scope);
	otelpb_close(b, outer);
}
