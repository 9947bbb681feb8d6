#include "otel/oteljson.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/util.h"

enum { TEMPORALITY_CUMULATIVE = 2 };

/* cJSON returns NULL only when out of memory: one policy, allocate or die. */
static cJSON *made(cJSON *item)
{
	if (item == NULL)
		die(EXIT_TEMPORARY, "out of memory encoding OTLP JSON");
	return item;
}

static cJSON *add(cJSON *obj, const char *key, cJSON *item)
{
	cJSON_AddItemToObject(obj, key, made(item));
	return item;
}

static void add_str(cJSON *obj, const char *key, const char *s)
{
	if (s && *s)
		add(obj, key, cJSON_CreateString(s));
}

static void add_int(cJSON *obj, const char *key, uint64_t v)
{
	if (v)
		add(obj, key, cJSON_CreateNumber((double)v));
}

/* A 64-bit integer: a decimal string, exact where a JSON number may not be. */
static cJSON *int64_text(int64_t v, int is_signed)
{
	char s[24];
	if (is_signed)
		snprintf(s, sizeof s, "%" PRId64, v);
	else
		snprintf(s, sizeof s, "%" PRIu64, (uint64_t)v);
	return made(cJSON_CreateString(s));
}

static void add_u64(cJSON *obj, const char *key, uint64_t v)
{
	if (v)
		add(obj, key, int64_text((int64_t)v, 0));
}

/* JSON has no NaN or infinities; the mapping spells them as strings. */
static cJSON *double_value(double d)
{
	if (isnan(d))
		return made(cJSON_CreateString("NaN"));
	if (isinf(d))
		return made(cJSON_CreateString(d > 0 ? "Infinity" : "-Infinity"));
	return made(cJSON_CreateNumber(d));
}

static void add_hex(cJSON *obj, const char *key, const uint8_t *p, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	char s[2 * 16 + 1];
	for (size_t i = 0; i < n; i++) {
		s[2 * i] = digits[p[i] >> 4];
		s[2 * i + 1] = digits[p[i] & 15];
	}
	s[2 * n] = '\0';
	add(obj, key, cJSON_CreateString(s));
}

static cJSON *object(void)
{
	return made(cJSON_CreateObject());
}

static cJSON *array(cJSON *obj, const char *key)
{
	return add(obj, key, cJSON_CreateArray());
}

static void push(cJSON *arr, cJSON *item)
{
	cJSON_AddItemToArray(arr, item);
}

/* ---- common, resource ---- */

static cJSON *kv_value(const struct otelpb_kv *kv)
{
	cJSON *v = object();
	switch (kv->type) {
	case OTELPB_STRING:
		add(v, "stringValue", cJSON_CreateString(kv->v.s ? kv->v.s : ""));
		break;
	case OTELPB_BOOL:
		add(v, "boolValue", cJSON_CreateBool(kv->v.b != 0));
		break;
	case OTELPB_INT:
		add(v, "intValue", int64_text(kv->v.i, 1));
		break;
	case OTELPB_DOUBLE:
		add(v, "doubleValue", double_value(kv->v.d));
		break;
	}
	return v;
}

/* obj[key] = the KeyValue list; nothing when n is 0. */
static void add_kvs(cJSON *obj, const char *key, const struct otelpb_kv *kv, size_t n)
{
	if (n == 0)
		return;
	cJSON *arr = array(obj, key);
	for (size_t i = 0; i < n; i++) {
		cJSON *o = object();
		add_str(o, "key", kv[i].key);
		add(o, "value", kv_value(&kv[i]));
		push(arr, o);
	}
}

/* The request with one resource entry (resource_key: "resourceSpans" or
 * "resourceMetrics") holding one scope entry (scope_key); returns the
 * array (items_key) the caller fills. *root gets the request. */
static cJSON *envelope(cJSON **root, const struct otelpb_resource *r, const char *resource_key,
		       const char *scope_key, const char *items_key)
{
	cJSON *res, *scope, *is, *resource;
	*root = object();
	res = object();
	push(array(*root, resource_key), res);
	resource = add(res, "resource", cJSON_CreateObject());
	add_kvs(resource, "attributes", r->attrs, r->nattrs);
	scope = object();
	push(array(res, scope_key), scope);
	is = add(scope, "scope", cJSON_CreateObject());
	add_str(is, "name", r->scope_name);
	add_str(is, "version", r->scope_version);
	return array(scope, items_key);
}

/* Prints root onto b and deletes it. */
static void finish(struct otelpb *b, cJSON *root)
{
	char *text = cJSON_PrintUnformatted(root);
	if (text == NULL)
		die(EXIT_TEMPORARY, "out of memory encoding OTLP JSON");
	otelpb_put(b, text, strlen(text));
	free(text);
	cJSON_Delete(root);
}

/* ---- traces ---- */

static cJSON *span(const struct otelpb_span *s)
{
	cJSON *o = object();
	add_hex(o, "traceId", s->trace_id, sizeof s->trace_id);
	add_hex(o, "spanId", s->span_id, sizeof s->span_id);
	add_str(o, "traceState", s->trace_state);
	if (!mem_is_zero(s->parent_span_id, sizeof s->parent_span_id))
		add_hex(o, "parentSpanId", s->parent_span_id, sizeof s->parent_span_id);
	add_str(o, "name", s->name);
	add_int(o, "kind", s->kind);
	add_u64(o, "startTimeUnixNano", s->start_ns);
	add_u64(o, "endTimeUnixNano", s->end_ns);
	add_kvs(o, "attributes", s->attrs, s->nattrs);
	add_int(o, "droppedAttributesCount", s->dropped_attrs);
	if (s->status != OTELPB_STATUS_UNSET || (s->status_message && *s->status_message)) {
		cJSON *st = add(o, "status", cJSON_CreateObject());
		add_str(st, "message", s->status_message);
		add_int(st, "code", s->status);
	}
	return o;
}

void oteljson_trace_request(struct otelpb *b, const struct otelpb_resource *r,
			    struct otelpb_span *const *spans, size_t n)
{
	cJSON *root, *items = envelope(&root, r, "resourceSpans", "scopeSpans", "spans");
	for (size_t i = 0; i < n; i++)
		push(items, span(spans[i]));
	finish(b, root);
}

/* ---- metrics ---- */

static cJSON *number_point(const struct otelpb_point *p)
{
	cJSON *o = object();
	add_kvs(o, "attributes", p->attrs, p->nattrs);
	add_u64(o, "startTimeUnixNano", p->start_ns);
	add_u64(o, "timeUnixNano", p->time_ns);
	if (p->is_double)
		add(o, "asDouble", double_value(p->as_double));
	else
		add(o, "asInt", int64_text(p->as_int, 1));
	return o;
}

static cJSON *histogram_point(const struct otelpb_point *p)
{
	cJSON *o = object(), *buckets, *bounds;
	add_kvs(o, "attributes", p->attrs, p->nattrs);
	add_u64(o, "startTimeUnixNano", p->start_ns);
	add_u64(o, "timeUnixNano", p->time_ns);
	add_u64(o, "count", p->count);
	add(o, "sum", double_value(p->sum));
	buckets = array(o, "bucketCounts");
	for (size_t i = 0; i <= p->nbounds; i++)
		push(buckets, int64_text((int64_t)p->bucket_counts[i], 0));
	bounds = array(o, "explicitBounds");
	for (size_t i = 0; i < p->nbounds; i++)
		push(bounds, double_value(p->bounds[i]));
	if (p->count > 0) {
		add(o, "min", double_value(p->min));
		add(o, "max", double_value(p->max));
	}
	return o;
}

static cJSON *metric(const struct otelpb_metric *mt)
{
	static const char *const data_key[] = {
		[OTELPB_SUM] = "sum",
		[OTELPB_GAUGE] = "gauge",
		[OTELPB_HISTOGRAM] = "histogram",
	};
	cJSON *o = object(), *d, *points;
	add_str(o, "name", mt->name);
	add_str(o, "description", mt->description);
	add_str(o, "unit", mt->unit);
	d = add(o, data_key[mt->type], cJSON_CreateObject());
	points = array(d, "dataPoints");
	for (size_t i = 0; i < mt->npoints; i++)
		push(points, mt->type == OTELPB_HISTOGRAM ? histogram_point(&mt->points[i])
							  : number_point(&mt->points[i]));
	if (mt->type != OTELPB_GAUGE)
		add(d, "aggregationTemporality", cJSON_CreateNumber(TEMPORALITY_CUMULATIVE));
	if (mt->type == OTELPB_SUM && mt->monotonic)
		add(d, "isMonotonic", cJSON_CreateTrue());
	return o;
}

void oteljson_metrics_request(struct otelpb *b, const struct otelpb_resource *r,
			      const struct otelpb_metric *metrics, size_t n)
{
	cJSON *root, *items = envelope(&root, r, "resourceMetrics", "scopeMetrics", "metrics");
	for (size_t i = 0; i < n; i++)
		push(items, metric(&metrics[i]));
	finish(b, root);
}
