#include "kafka/kconsume.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/caps.h"
#include "core/jsonx.h"
#include "core/log.h"
#include "core/util.h"
#include "judge/answer.h"
#include "judge/job.h"
#include "otel/jobtrace.h"

enum { JOB_BUCKETS = 1024 };

/* A job out and not yet acknowledged (acked mode). */
struct kconsume_job {
	struct kconsume_job *next;		/* in its hash bucket */
	struct kconsume_job *older, *newer;	/* in the order they went out */
	char *topic;
	int32_t partition;
	int64_t offset;
	int64_t out_ms;				/* when it went out (monotonic) */
	int claimed;				/* its line came back: its answer is on the way */
	int gone;				/* its partition was revoked: its next owner
						 * answers it, unless our line comes first */
	struct otel_span *span;			/* its consumer span; may be NULL */
	/* The message, to answer it if its line never comes back (kept only
	 * when answer_ms is set). */
	char *key, *payload;
	size_t key_len, len;
	rd_kafka_headers_t *headers;
};

/* ---- jobs out, waiting for their acknowledgement ---- */

static size_t out_bucket(const char *topic, int32_t partition, int64_t offset)
{
	uint64_t h = 1469598103934665603u;	/* FNV-1a over the three */
	for (const char *p = topic; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211u;
	h = (h ^ (uint32_t)partition) * 1099511628211u;
	h = (h ^ (uint64_t)offset) * 1099511628211u;
	return (size_t)(h % JOB_BUCKETS);
}

static struct kconsume_job **out_slot(const struct kconsume *c, const char *topic,
				      int32_t partition, int64_t offset)
{
	if (c->jobs == NULL)
		return NULL;
	for (struct kconsume_job **pp = &c->jobs[out_bucket(topic, partition, offset)]; *pp;
	     pp = &(*pp)->next) {
		struct kconsume_job *e = *pp;
		if (e->offset == offset && e->partition == partition && strcmp(e->topic, topic) == 0)
			return pp;
	}
	return NULL;
}

/* Takes job e out of the table and the list; the caller frees it. */
static void out_unlink(struct kconsume *c, struct kconsume_job **pp)
{
	struct kconsume_job *e = *pp;
	*pp = e->next;
	if (e->older)
		e->older->newer = e->newer;
	else
		c->oldest = e->newer;
	if (e->newer)
		e->newer->older = e->older;
	else
		c->newest = e->older;
}

/* Frees e, ending its span: with an error (code, why) unless code is NULL. */
static void out_free(struct kconsume_job *e, const char *code, const char *why)
{
	if (code)
		otel_span_set_error(e->span, code, why);
	otel_span_end(e->span);
	if (e->headers)
		rd_kafka_headers_destroy(e->headers);
	free(e->topic);
	free(e->key);
	free(e->payload);
	free(e);
}

/* Takes the job of topic/partition/offset out, or NULL. */
static struct kconsume_job *out_take(struct kconsume *c, const char *topic, int32_t partition,
				     int64_t offset)
{
	struct kconsume_job **pp = out_slot(c, topic, partition, offset);
	struct kconsume_job *e = pp ? *pp : NULL;
	if (pp)
		out_unlink(c, pp);
	return e;
}

/* A copy of p[0..n) with a NUL after it (cJSON wants one at the end of
 * what it parses); the caller frees. */
static char *bytes_dup(const void *p, size_t n)
{
	char *d = xmalloc(n + 1);
	if (n)
		memcpy(d, p, n);
	d[n] = '\0';
	return d;
}

/* Keeps the job of m (taking span) until its acknowledgement. The same
 * offset out again (its partition revoked and given back before the first
 * ack came) ends the older one. */
static void out_put(struct kconsume *c, const rd_kafka_message_t *m, struct otel_span *span)
{
	const char *topic = rd_kafka_topic_name(m->rkt);
	struct kconsume_job *old = out_take(c, topic, m->partition, m->offset), *e;
	const rd_kafka_headers_t *h = NULL;
	if (old)
		out_free(old, "redelivered", "handed out again before its acknowledgement");
	if (c->jobs == NULL)
		c->jobs = xcalloc(JOB_BUCKETS, sizeof *c->jobs);
	e = xcalloc(1, sizeof *e);
	*e = (struct kconsume_job){.topic = xstrdup(topic), .partition = m->partition,
				   .offset = m->offset, .out_ms = now_mono_ms(), .span = span};
	if (c->opt.answer_ms > 0) {
		e->payload = bytes_dup(m->payload, m->len);
		e->len = m->len;
		if (m->key) {
			e->key = bytes_dup(m->key, m->key_len);
			e->key_len = m->key_len;
		}
		if (rd_kafka_message_headers(m, (rd_kafka_headers_t **)&h) == RD_KAFKA_RESP_ERR_NO_ERROR)
			e->headers = rd_kafka_headers_copy(h);
	}
	size_t b = out_bucket(topic, m->partition, m->offset);
	e->next = c->jobs[b];
	c->jobs[b] = e;
	e->older = c->newest;
	if (c->newest)
		c->newest->newer = e;
	else
		c->oldest = e;
	c->newest = e;
}

/* The jobs of a partition given away: its next owner runs them again from
 * the last commit, and answers them, so the time-out here does not. Their
 * lines, when they come back, are still answered: a client may get two
 * answers then, never none (the next owner may be us, and librdkafka may
 * go on from where it was rather than from the commit). */
static void outs_drop(struct kconsume *c, const char *topic, int32_t partition)
{
	for (struct kconsume_job *e = c->oldest; e; e = e->newer)
		if (!e->gone && e->partition == partition && strcmp(e->topic, topic) == 0) {
			e->gone = 1;
			otel_span_set_error(e->span, "revoked",
					    "its partition was revoked before its acknowledgement");
			otel_span_end(e->span);
			e->span = NULL;
		}
}

/* Ends every job still waiting: they were not acknowledged. */
static void outs_end_all(struct kconsume *c)
{
	while (c->oldest)
		out_free(out_take(c, c->oldest->topic, c->oldest->partition, c->oldest->offset),
			 "not_acknowledged", "not acknowledged before the consumer closed: it runs again");
	free(c->jobs);
	c->jobs = NULL;
}

int kconsume_claim(struct kconsume *c, const char *topic, int32_t partition, int64_t offset)
{
	struct kconsume_job **pp = out_slot(c, topic, partition, offset);
	if (pp == NULL || (*pp)->claimed)
		return 0;
	(*pp)->claimed = 1;
	return 1;
}

static void store(struct kconsume *c, const char *topic, int32_t partition, int64_t next)
{
	rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
	rd_kafka_topic_partition_list_add(l, topic, partition)->offset = next;
	rd_kafka_resp_err_t e = rd_kafka_offsets_store(c->rk, l);
	if (e != RD_KAFKA_RESP_ERR_NO_ERROR)
		log_warn("store %s[%d]@%lld: %s", topic, partition, (long long)next, rd_kafka_err2str(e));
	rd_kafka_topic_partition_list_destroy(l);
}

void kconsume_ack(struct kconsume *c, const char *topic, int32_t partition, int64_t offset)
{
	int64_t next;
	struct kconsume_job *e = out_take(c, topic, partition, offset);
	/* Also for a partition since revoked: the job itself is finished. */
	if (e)
		out_free(e, NULL, NULL);
	if (offsets_done(c->offs, topic, partition, offset, &next))
		store(c, topic, partition, next);
}

/* ---- the consumer span ---- */

/* The `process <topic>` span of a message (messaging semantic
 * conventions): a child of its traceparent header, the root of a new
 * trace without one. NULL when tracing is off. */
static struct otel_span *process_span(const struct kconsume *c, const rd_kafka_message_t *m,
				      const cJSON *headers)
{
	struct tracectx parent;
	const char *topic = rd_kafka_topic_name(m->rkt);
	int has_parent = tracectx_parse(&parent, jsonx_str(headers, "traceparent"),
					    jsonx_str(headers, "tracestate")) == 0;
	char name[300], part[16];	/* Kafka topic names have at most 249 bytes */
	snprintf(name, sizeof name, "process %s", topic);
	struct otel_span *s = otel_span_start(name, OTEL_CONSUMER, has_parent ? &parent : NULL);
	if (s == NULL)
		return NULL;
	snprintf(part, sizeof part, "%d", (int)m->partition);
	otel_span_set_str(s, "messaging.system", "kafka");
	otel_span_set_str(s, "messaging.operation.type", "process");
	otel_span_set_str(s, "messaging.destination.name", topic);
	otel_span_set_str(s, "messaging.destination.partition.id", part);
	otel_span_set_int(s, "messaging.kafka.offset", m->offset);
	otel_span_set_str(s, "messaging.consumer.group.name",
			  c->opt.group ? c->opt.group : c->opt.lane->group);
	if (m->key) {
		char *key = jsonx_utf8(m->key, m->key_len);
		otel_span_set_str(s, "messaging.kafka.message.key", key);
		free(key);
	}
	otel_span_set_str(s, "codex.lane", c->opt.lane->name);
	return s;
}

/* codex.dlq.messages{codex.lane, error.type}. */
static void count_dead(const struct kconsume *c, const char *code)
{
	const struct otel_attr a[] = {{"codex.lane", c->opt.lane->name}, {"error.type", code}};
	otel_metric_add(c->dead, 1, a, 2);
}

/* A message answered here, by its DLQ message and its error result: its
 * offset is done once both are delivered. A failed send is not: the
 * offset stays out and the message comes back after a restart. */
struct delivery {
	char *topic;
	int32_t partition;
	int64_t offset;
	char *code;			/* x-error */
	struct otel_span *span;		/* its consumer span, ended when all is delivered */
	int pending;			/* messages not yet reported */
	int failed;
};

static void delivery_done(struct kconsume *c, struct delivery *d)
{
	if (!d->failed) {
		count_dead(c, d->code);
		kconsume_ack(c, d->topic, d->partition, d->offset);
	}
	otel_span_end(d->span);
	free(d->topic);
	free(d->code);
	free(d);
}

static void delivered(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
	struct kconsume *c = opaque;
	struct delivery *d = m->_private;
	(void)rk;
	if (m->err) {
		log_error("answer of %s[%d]@%lld: send to %s failed: %s", d->topic, d->partition,
			  (long long)d->offset, rd_kafka_topic_name(m->rkt), rd_kafka_err2str(m->err));
		otel_span_set_error(d->span, "answer_send_failed", rd_kafka_err2str(m->err));
		d->failed = 1;
		c->fatal = 1;
	}
	if (--d->pending == 0)
		delivery_done(c, d);
}

/* The consumer span's context as the traceparent and tracestate of an
 * answer (the message's own are kept when tracing is off). */
static void trace_headers(rd_kafka_headers_t *h, const struct otel_span *span)
{
	struct tracectx ctx;
	char tp[TRACECTX_PARENT_LEN + 1];
	if (otel_span_context(span, &ctx) != 0)
		return;
	tracectx_format(&ctx, tp);
	kafka_header_set(h, "traceparent", tp);
	if (ctx.trace_state[0])
		kafka_header_set(h, "tracestate", ctx.trace_state);
}

/* A message to answer here, as far as it could be read. */
struct unanswered {
	const char *topic;
	int32_t partition;
	int64_t offset;
	const char *key, *payload;		/* payload NULL: a tombstone */
	size_t key_len, len;
	const rd_kafka_headers_t *headers;	/* the message's own; may be NULL */
	const cJSON *job;			/* its value, when a JSON object; may be NULL */
};

/* Produces one answer message of d (value copied, headers taken).
 * Returns 0, or -1 with the headers destroyed. */
static int send_answer(struct kconsume *c, struct delivery *d, const char *topic, const char *key,
		       size_t key_len, const char *value, size_t len, rd_kafka_headers_t *h)
{
	rd_kafka_resp_err_t e = rd_kafka_producev(c->dlq,
		RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
		RD_KAFKA_V_KEY(key, key_len), RD_KAFKA_V_VALUE((void *)value, len),
		RD_KAFKA_V_HEADERS(h), RD_KAFKA_V_OPAQUE(d), RD_KAFKA_V_END);
	if (e == RD_KAFKA_RESP_ERR_NO_ERROR) {
		d->pending++;
		return 0;
	}
	rd_kafka_headers_destroy(h);
	log_error("answer of %s[%d]@%lld: send to %s: %s", d->topic, d->partition,
		  (long long)d->offset, topic, rd_kafka_err2str(e));
	otel_span_set_error(d->span, "answer_send_failed", rd_kafka_err2str(e));
	d->failed = 1;
	c->fatal = 1;
	return -1;
}

/* The dead letter: the message as it came, with why and where from. One
 * too large to go out with our headers goes without its value (it stays
 * at its original offset until the topic's retention ends). */
static void send_dead_letter(struct kconsume *c, struct delivery *d, const struct unanswered *u,
			     const char *message)
{
	char part[16], off[32];
	rd_kafka_headers_t *h = u->headers ? rd_kafka_headers_copy(u->headers) : rd_kafka_headers_new(8);
	snprintf(part, sizeof part, "%d", (int)u->partition);
	snprintf(off, sizeof off, "%lld", (long long)u->offset);
	kafka_header_set(h, "x-error", d->code);
	kafka_header_set(h, "x-error-message", message);
	kafka_header_set(h, "x-original-topic", u->topic);
	kafka_header_set(h, "x-original-partition", part);
	kafka_header_set(h, "x-original-offset", off);
	trace_headers(h, d->span);
	const char *value = u->payload;
	size_t len = u->len;
	if (len > CAP_RESULT_MESSAGE) {
		kafka_header_set(h, "x-value-omitted", "too-large");
		value = "";
		len = 0;
	}
	send_answer(c, d, lane_dlq_topic(), u->key, u->key_len, value, len, h);
}

/* The error result on the lane's results topic, keyed by the job's id, or
 * the message's key when the value has none. */
static void send_error_result(struct kconsume *c, struct delivery *d, const struct unanswered *u,
			      const char *message)
{
	const struct lane *l = c->opt.lane;
	char *key = u->key ? jsonx_utf8(u->key, u->key_len) : NULL;
	const char *id;
	cJSON *result = answer_message(u->job, l->name, key, d->code, message, &id);
	if (result == NULL) {
		log_warn("%s[%d]@%lld has no %s and no key: dead-lettered, no result sent", u->topic,
			 (int)u->partition, (long long)u->offset, l->id_field);
	} else {
		char *text = cJSON_PrintUnformatted(result);
		if (text == NULL)
			die(EXIT_TEMPORARY, "out of memory");
		rd_kafka_headers_t *h = rd_kafka_headers_new(2);
		trace_headers(h, d->span);
		send_answer(c, d, l->results_topic, id, strlen(id), text, strlen(text), h);
		free(text);
		cJSON_Delete(result);
	}
	free(key);
}

/* Answers a message here: the DLQ gets it (x-error: code), the lane's
 * results topic an error result; takes span (the message's consumer
 * span), ended once both are delivered. */
static void answer(struct kconsume *c, const struct unanswered *u, const char *code,
		   const char *message, struct otel_span *span)
{
	struct delivery *d = xcalloc(1, sizeof *d);
	struct tracectx ctx;
	*d = (struct delivery){.topic = xstrdup(u->topic), .partition = u->partition,
			       .offset = u->offset, .code = xstrdup(code), .span = span, .pending = 1};
	otel_span_set_error(span, code, message);
	log_job_ctx(LOG_WARN, u->job, otel_span_context(span, &ctx) == 0 ? &ctx : NULL,
		    "%s[%d]@%lld answered here: %s: %s", u->topic, (int)u->partition,
		    (long long)u->offset, code, message);
	send_dead_letter(c, d, u, message);
	if (!d->failed)	/* else the message comes back after our exit: one answer */
		send_error_result(c, d, u, message);
	if (--d->pending == 0)	/* the hold taken at creation */
		delivery_done(c, d);
}

/* Answers a message that is no job (poison) at once. */
static void poison(struct kconsume *c, const rd_kafka_message_t *m, const cJSON *job,
		   const char *code, const char *message, struct otel_span *span)
{
	const rd_kafka_headers_t *h = NULL;
	struct unanswered u = {
		.topic = rd_kafka_topic_name(m->rkt), .partition = m->partition, .offset = m->offset,
		.key = m->key, .key_len = m->key_len, .payload = m->payload,
		.len = m->len, .job = job,
	};
	if (rd_kafka_message_headers(m, (rd_kafka_headers_t **)&h) == RD_KAFKA_RESP_ERR_NO_ERROR)
		u.headers = h;
	offsets_out(c->offs, u.topic, m->partition, m->offset);
	answer(c, &u, code, message, span);
}

/* Answers the jobs out longer than answer_ms: their lines never came back
 * (a stage lost or mangled them). A line that comes later is dropped
 * (kconsume_claim()). */
static void answer_overdue(struct kconsume *c)
{
	char msg[128];
	int64_t now = now_mono_ms();
	struct kconsume_job *next;
	for (struct kconsume_job *o = c->oldest; o && c->opt.answer_ms > 0 &&
	     now - o->out_ms >= c->opt.answer_ms; o = next) {
		next = o->newer;
		if (o->claimed)
			continue;	/* its own answer is being sent */
		struct kconsume_job *e = out_take(c, o->topic, o->partition, o->offset);
		if (e->gone) {	/* its partition's next owner answers it */
			out_free(e, NULL, NULL);
			continue;
		}
		cJSON *job = jsonx_parse_line(e->payload, e->len);
		struct unanswered u = {
			.topic = e->topic, .partition = e->partition, .offset = e->offset,
			.key = e->key, .key_len = e->key_len, .payload = e->payload, .len = e->len,
			.headers = e->headers, .job = cJSON_IsObject(job) ? job : NULL,
		};
		snprintf(msg, sizeof msg, "no result came back from the pipeline within %ld s",
			 c->opt.answer_ms / 1000);
		answer(c, &u, "no-answer", msg, e->span);
		e->span = NULL;
		cJSON_Delete(job);
		out_free(e, NULL, NULL);
	}
}

/* meta.traceparent and meta.tracestate: the consumer span's context, or
 * with tracing off the message's headers as they came. */
static void meta_trace(cJSON *meta, const cJSON *headers, const struct otel_span *span)
{
	struct tracectx ctx;
	char tp[TRACECTX_PARENT_LEN + 1];
	const char *traceparent = jsonx_str(headers, "traceparent");
	const char *tracestate = jsonx_str(headers, "tracestate");
	if (otel_span_context(span, &ctx) == 0) {
		tracectx_format(&ctx, tp);
		traceparent = tp;
		tracestate = ctx.trace_state[0] ? ctx.trace_state : NULL;
	}
	if (traceparent)
		cJSON_AddStringToObject(meta, "traceparent", traceparent);
	else
		cJSON_AddNullToObject(meta, "traceparent");
	if (tracestate)
		cJSON_AddStringToObject(meta, "tracestate", tracestate);
}

/* The meta section; takes headers (the message's, as JSON). */
static cJSON *make_meta(const struct kconsume *c, const rd_kafka_message_t *m, cJSON *headers,
			const struct otel_span *span)
{
	cJSON *meta = cJSON_CreateObject();
	const char *retries = jsonx_str(headers, "x-retry-count");
	const char *first = jsonx_str(headers, "x-first-seen");
	int64_t n = 0, seen = now_wall_ms() / 1000;
	if (retries == NULL || parse_i64(retries, 0, 1000000, &n) != 0)
		n = 0;
	if (first)
		parse_i64(first, 0, INT64_MAX, &seen);
	cJSON_AddStringToObject(meta, "lane", c->opt.lane->name);
	cJSON_AddStringToObject(meta, "topic", rd_kafka_topic_name(m->rkt));
	cJSON_AddNumberToObject(meta, "partition", m->partition);
	cJSON_AddNumberToObject(meta, "offset", (double)m->offset);
	if (m->key)
		jsonx_set_bytes(meta, "key", m->key, m->key_len);
	else
		cJSON_AddNullToObject(meta, "key");
	cJSON_AddNumberToObject(meta, "timestamp", (double)rd_kafka_message_timestamp(m, NULL));
	meta_trace(meta, headers, span);
	cJSON_AddItemToObject(meta, "headers", headers);
	cJSON_AddNumberToObject(meta, "attempt", (double)(n + 1));
	cJSON_AddNumberToObject(meta, "firstSeen", (double)seen);
	return meta;
}

/* Hands the job line (its text) out; takes span (ended at the ack). */
static void emit(struct kconsume *c, const rd_kafka_message_t *m, const cJSON *line,
		 const char *text, struct otel_span *span)
{
	const char *topic = rd_kafka_topic_name(m->rkt);
	struct otel_attr attrs[JOBTRACE_ATTRS];
	outbuf_put(c->out, text, strlen(text));
	outbuf_put(c->out, "\n", 1);
	offsets_out(c->offs, topic, m->partition, m->offset);
	log_job(LOG_INFO, line, "consumed %s[%d]@%lld", topic, (int)m->partition, (long long)m->offset);
	otel_metric_add(c->consumed, 1, attrs, jobtrace_attrs(line, attrs));
	c->emitted++;
	if (c->opt.acked) {
		out_put(c, m, span);
	} else {	/* nobody will acknowledge: written is done */
		otel_span_end(span);
		kconsume_ack(c, topic, m->partition, m->offset);
	}
	if (c->opt.count > 0 && c->emitted >= c->opt.count)
		kconsume_stop(c);
}

/* A job that has a result already (the idempotency key): done at once. */
static void skip(struct kconsume *c, const rd_kafka_message_t *m, const cJSON *job,
		 struct otel_span *span)
{
	const char *topic = rd_kafka_topic_name(m->rkt);
	struct tracectx ctx;
	otel_span_set_bool(span, "codex.duplicate", 1);
	log_job_ctx(LOG_INFO, job, otel_span_context(span, &ctx) == 0 ? &ctx : NULL,
		    "skipped %s[%d]@%lld: it has a result already", topic, (int)m->partition,
		    (long long)m->offset);
	otel_span_end(span);
	offsets_out(c->offs, topic, m->partition, m->offset);
	kconsume_ack(c, topic, m->partition, m->offset);
}

/* The value of a message as a JSON object, or NULL (not a JSON object,
 * or one with a NUL byte). */
static cJSON *value_of(const rd_kafka_message_t *m)
{
	const char *p = m->payload ? m->payload : "";
	if (memchr(p, '\0', m->len) != NULL)
		return NULL;
	char *text = xstrndup(p, m->len);
	cJSON *v = jsonx_parse_line(text, m->len);
	free(text);
	if (!cJSON_IsObject(v)) {
		cJSON_Delete(v);
		return NULL;
	}
	return v;
}

/* What of a value that is not valid text can be answered: its ids,
 * repaired (invalid bytes as U+FFFD). A new object. */
static cJSON *readable_ids(const cJSON *v)
{
	static const char *const ids[] = {"submissionId", "tempId", "userId", "mode"};
	cJSON *r = cJSON_CreateObject();
	for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
		const char *s = jsonx_str(v, ids[i]);
		if (s)
			jsonx_set_bytes(r, ids[i], s, strlen(s));
	}
	if (cJSON_HasObjectItem(v, "testCases"))
		cJSON_AddItemToObject(r, "testCases", cJSON_CreateArray());
	return r;
}

/* Checks a message's value as a job of this lane: 0 with j filled (the
 * caller frees it), or -1 with *code and msg saying why it is poison and
 * *readable what of it an answer may use (the caller deletes; NULL when
 * the value is no JSON object). */
static int job_of(struct kconsume *c, const rd_kafka_message_t *m, struct job *j, cJSON **readable,
		  const char **code, char *msg, size_t msglen)
{
	cJSON *v = NULL;
	*readable = NULL;
	*code = "invalid-job";
	memset(j, 0, sizeof *j);
	if (m->len > c->opt.max_bytes) {
		snprintf(msg, msglen, "message of %zu bytes over the cap of %zu", m->len, c->opt.max_bytes);
		*code = "oversized";
		return -1;
	}
	if ((v = value_of(m)) == NULL) {
		snprintf(msg, msglen, "the value is not a JSON object");
		*code = "invalid-json";
		return -1;
	}
	if (jsonx_check_text(m->payload, m->len, msg, msglen) != 0) {
		*readable = readable_ids(v);
		cJSON_Delete(v);
		return -1;
	}
	/* A job bringing a stage's section would be taken for that stage's
	 * verdict on it (its own "retry": never produced). */
	const char *section = job_section_of(v);
	if (section) {
		snprintf(msg, msglen, "a job may not carry a \"%s\" section", section);
		*readable = v;
		return -1;
	}
	if (job_parse(j, v, c->table, code, msg, msglen) != 0) {
		*readable = cJSON_Duplicate(j->line, 1);
		job_free(j);
		return -1;
	}
	const char *id = jsonx_str(j->line, c->opt.lane->id_field);
	if (id == NULL || strcmp(job_mode_name(j->mode), c->opt.lane->name) != 0) {
		snprintf(msg, msglen, "a %s job with%s %s does not belong to the %s lane",
			 job_mode_name(j->mode), id ? "" : "out", c->opt.lane->id_field, c->opt.lane->name);
		*code = "invalid-job";
		*readable = cJSON_Duplicate(j->line, 1);
		job_free(j);
		return -1;
	}
	return 0;
}

/* The job line's text with its meta section (taking headers), or NULL
 * with msg when it prints longer than CAP_JOB_LINE (numbers can print
 * longer than they came: 1E9 is 1000000000). */
static char *line_text(struct kconsume *c, const rd_kafka_message_t *m, cJSON *line,
		       cJSON *headers, const struct otel_span *span, char *msg, size_t msglen)
{
	size_t len;
	jsonx_set(line, "meta", make_meta(c, m, headers, span));
	char *text = jsonx_print_within(line, CAP_JOB_LINE, &len);
	if (text)
		return text;
	cJSON_DeleteItemFromObjectCaseSensitive(line, "meta");
	snprintf(msg, msglen, "the job takes %zu bytes as a line, over the cap of %d", len, CAP_JOB_LINE);
	return NULL;
}

static void handle(struct kconsume *c, const rd_kafka_message_t *m)
{
	char msg[512];
	const char *code;
	struct job j;
	cJSON *headers = kafka_headers_json(m), *readable;
	struct otel_span *span = process_span(c, m, headers);
	if (job_of(c, m, &j, &readable, &code, msg, sizeof msg) != 0) {
		cJSON_Delete(headers);
		poison(c, m, readable, code, msg, span);
		cJSON_Delete(readable);
		return;
	}
	otel_span_set_str(span, "codex.language", jsonx_str(j.line, "language"));
	if (c->dedupe && dedupe_seen(c->dedupe, c->opt.lane->name,
				     jsonx_str(j.line, c->opt.lane->id_field))) {
		cJSON_Delete(headers);
		skip(c, m, j.line, span);
	} else {
		char *text = line_text(c, m, j.line, headers, span, msg, sizeof msg);
		if (text)
			emit(c, m, j.line, text, span);
		else
			poison(c, m, j.line, "oversized", msg, span);
		free(text);
	}
	job_free(&j);
}

static void set_paused(struct kconsume *c, int pause)
{
	rd_kafka_topic_partition_list_t *parts = NULL;
	if (c->paused == pause || rd_kafka_assignment(c->rk, &parts) != RD_KAFKA_RESP_ERR_NO_ERROR)
		return;
	if (pause)
		rd_kafka_pause_partitions(c->rk, parts);
	else
		rd_kafka_resume_partitions(c->rk, parts);
	rd_kafka_topic_partition_list_destroy(parts);
	c->paused = pause;
}

/* Jobs fetched ahead: messages taken from librdkafka while max_inflight
 * jobs are out (or the output is backed up), handed out in order as
 * answers come. The assignment is paused only once max_inflight of them
 * (or AHEAD_BYTES) wait, and resumed at half of that: a pause drops what
 * librdkafka prefetched, and librdkafka 2.0 fetches a resumed partition
 * again only at its broker thread's next turn, once the fetch it has out
 * returns (up to fetch.wait.max.ms, 500 ms) or a second later; the jobs
 * waiting here keep the command busy meanwhile. A message is never
 * dropped once taken but with every later one of its partition (a
 * revoke, a stop): offsets past it are then never handed out, so the
 * commit cannot pass it. */
enum { AHEAD_BYTES = 8 << 20 };

static void ahead_push(struct kconsume *c, rd_kafka_message_t *m)
{
	if (c->ahead_n == c->ahead_cap) {	/* messages still come just after a pause */
		size_t cap = c->ahead_cap ? c->ahead_cap * 2 : 64;
		rd_kafka_message_t **a = xcalloc(cap, sizeof *a);
		for (size_t i = 0; i < c->ahead_n; i++)
			a[i] = c->ahead[(c->ahead_head + i) % c->ahead_cap];
		free(c->ahead);
		c->ahead = a;
		c->ahead_cap = cap;
		c->ahead_head = 0;
	}
	c->ahead[(c->ahead_head + c->ahead_n++) % c->ahead_cap] = m;
	c->ahead_bytes += m->len;
}

static rd_kafka_message_t *ahead_pop(struct kconsume *c)
{
	rd_kafka_message_t *m = c->ahead[c->ahead_head];
	c->ahead_head = (c->ahead_head + 1) % c->ahead_cap;
	c->ahead_n--;
	c->ahead_bytes -= m->len;
	return m;
}

/* Drops the messages fetched ahead of topic/partition (every one when
 * topic is NULL), keeping the others' order. */
static void ahead_drop(struct kconsume *c, const char *topic, int32_t partition)
{
	size_t n = c->ahead_n;
	for (size_t i = 0; i < n; i++) {
		rd_kafka_message_t *m = ahead_pop(c);
		if (topic == NULL || (m->partition == partition &&
				      strcmp(rd_kafka_topic_name(m->rkt), topic) == 0))
			rd_kafka_message_destroy(m);
		else
			ahead_push(c, m);
	}
}

/* Hands out the jobs fetched ahead while there is room. */
static void hand_out(struct kconsume *c)
{
	while (c->ahead_n > 0 && !c->stopping && !c->hold &&
	       offsets_pending(c->offs) < c->opt.max_inflight) {
		rd_kafka_message_t *m = ahead_pop(c);
		handle(c, m);
		rd_kafka_message_destroy(m);
	}
}

/* Paused with max_inflight jobs (or AHEAD_BYTES) fetched ahead, until
 * half of them are handed out. */
static int ahead_full(const struct kconsume *c)
{
	size_t n = c->opt.max_inflight, bytes = AHEAD_BYTES;
	if (c->paused) {
		n /= 2;
		bytes /= 2;
	}
	return c->ahead_n >= (n > 0 ? n : 1) || c->ahead_bytes >= bytes;
}

/* Commits, for partitions about to go, what their finished jobs allow;
 * then forgets them. Lost partitions are only forgotten: someone else owns
 * them already, and a commit now could skip a job. */
static void give_back(struct kconsume *c, rd_kafka_topic_partition_list_t *parts, int lost)
{
	/* The answers given here that are on their way: once delivered their
	 * offsets count, and the partition's next owner does not answer them
	 * again. */
	rd_kafka_flush(c->dlq, 5000);
	rd_kafka_topic_partition_list_t *commit = rd_kafka_topic_partition_list_new(parts->cnt);
	for (int i = 0; i < parts->cnt; i++) {
		const rd_kafka_topic_partition_t *p = &parts->elems[i];
		int64_t next = offsets_commit_point(c->offs, p->topic, p->partition);
		if (!lost && next >= 0)
			rd_kafka_topic_partition_list_add(commit, p->topic, p->partition)->offset = next;
		offsets_drop(c->offs, p->topic, p->partition);
		outs_drop(c, p->topic, p->partition);
		ahead_drop(c, p->topic, p->partition);
	}
	if (commit->cnt > 0) {
		rd_kafka_resp_err_t e = rd_kafka_commit(c->rk, commit, 0);
		if (e != RD_KAFKA_RESP_ERR_NO_ERROR && e != RD_KAFKA_RESP_ERR__NO_OFFSET)
			log_warn("commit on revoke: %s", rd_kafka_err2str(e));
	}
	rd_kafka_topic_partition_list_destroy(commit);
	log_info("%s %d partitions", lost ? "lost" : "revoked", parts->cnt);
}

static void rebalanced(rd_kafka_t *rk, rd_kafka_resp_err_t err,
		       rd_kafka_topic_partition_list_t *parts, void *opaque)
{
	struct kconsume *c = opaque;
	int coop = strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
	if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
		log_info("assigned %d partitions", parts->cnt);
		if (coop)
			rd_kafka_incremental_assign(rk, parts);
		else
			rd_kafka_assign(rk, parts);
		/* A partition given back keeps the pause it had when it went:
		 * set it as it must be now. */
		if (c->paused || c->stopping)
			rd_kafka_pause_partitions(rk, parts);
		else
			rd_kafka_resume_partitions(rk, parts);
		return;
	}
	give_back(c, parts, rd_kafka_assignment_lost(rk));
	if (coop)
		rd_kafka_incremental_unassign(rk, parts);
	else
		rd_kafka_assign(rk, NULL);
}

static int open_dlq(struct kconsume *c, const struct kafka_opts *ko, char *err, size_t errlen)
{
	static const char *const defaults[] = {
		"enable.idempotence", "true", "acks", "all", "linger.ms", "5", NULL};
	struct kafka_client k = {RD_KAFKA_PRODUCER, defaults, c, .delivered = delivered,
				 .wake_fd = c->evfd[1]};
	c->dlq = kafka_client_new(ko, &k, err, errlen);
	return c->dlq ? 0 : -1;
}

int kconsume_open(struct kconsume *c, const struct kafka_opts *ko,
		  const struct kconsume_opts *opt, const struct lang_table *table,
		  struct outbuf *out, char *err, size_t errlen)
{
	const char *group = opt->group ? opt->group : opt->lane->group;
	const char *topic = opt->topic ? opt->topic : opt->lane->jobs_topic;
	const char *const defaults[] = {
		"group.id", group,
		"partition.assignment.strategy", "cooperative-sticky",
		"enable.auto.offset.store", "false",
		"enable.auto.commit", "true",
		"auto.commit.interval.ms", "1000",
		/* A new group starts at the oldest job, not after the newest:
		 * jobs produced before the first start are not skipped. */
		"auto.offset.reset", "earliest",
		/* A consumer killed -9 keeps its partitions until the session
		 * times out: 10 s instead of 45 s (librdkafka 2.0's default). */
		"session.timeout.ms", "10000",
		"heartbeat.interval.ms", "3000",
		NULL};
	memset(c, 0, sizeof *c);
	c->opt = *opt;
	c->table = table;
	c->out = out;
	c->offs = offsets_new();
	c->consumed = otel_counter("codex.jobs.consumed", "{job}",
				   "Jobs consumed from Kafka and handed to the pipeline");
	c->dead = otel_counter("codex.dlq.messages", "{message}",
			       "Messages sent to the dead-letter topic, by x-error");
	/* Both clients wake the caller's poll() when they get something. */
	if (kafka_wake_open(c->evfd, err, errlen) != 0)
		return -1;
	struct kafka_client k = {RD_KAFKA_CONSUMER, defaults, c, .rebalanced = rebalanced,
				 .wake_fd = c->evfd[1]};
	if (open_dlq(c, ko, err, errlen) != 0 || (c->rk = kafka_client_new(ko, &k, err, errlen)) == NULL)
		return -1;
	rd_kafka_topic_partition_list_t *subs = rd_kafka_topic_partition_list_new(1);
	rd_kafka_topic_partition_list_add(subs, topic, RD_KAFKA_PARTITION_UA);
	rd_kafka_resp_err_t e = rd_kafka_subscribe(c->rk, subs);
	rd_kafka_topic_partition_list_destroy(subs);
	if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
		snprintf(err, errlen, "subscribe %s: %s", topic, rd_kafka_err2str(e));
		return -1;
	}
	log_info("consuming %s as %s", topic, group);
	return 0;
}

static void consumer_error(struct kconsume *c, const rd_kafka_message_t *m)
{
	char why[512];
	if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF)
		return;
	if (m->err == RD_KAFKA_RESP_ERR__FATAL) {
		rd_kafka_fatal_error(c->rk, why, sizeof why);
		log_error("fatal consumer error: %s", why);
		c->fatal = 1;
		return;
	}
	/* Broker down, unknown topic while it is being created, ...:
	 * librdkafka reconnects by itself; say so and go on. */
	log_warn("consumer: %s", rd_kafka_message_errstr(m));
}

int kconsume_fd(const struct kconsume *c)
{
	return c->evfd[0];
}

void kconsume_poll(struct kconsume *c)
{
	rd_kafka_message_t *m;
	kafka_wake_drain(c->evfd);
	hand_out(c);
	/* Drain the queue: librdkafka only signals a queue that was empty. */
	do {
		set_paused(c, ahead_full(c) || c->stopping);
		m = rd_kafka_consumer_poll(c->rk, 0);
		if (m == NULL)
			break;
		if (!m->err && !c->stopping) {
			ahead_push(c, m);
			hand_out(c);
			continue;
		}
		if (m->err)
			consumer_error(c, m);
		/* else: paused too late; its offset is not stored, it comes back */
		rd_kafka_message_destroy(m);
	} while (1);
	rd_kafka_poll(c->dlq, 0);
	if (c->opt.acked)
		answer_overdue(c);
}


void kconsume_stop(struct kconsume *c)
{
	c->stopping = 1;
	set_paused(c, 1);
	ahead_drop(c, NULL, 0);	/* not handed out: they come back */
}

size_t kconsume_pending(const struct kconsume *c)
{
	return offsets_pending(c->offs);
}

void kconsume_close(struct kconsume *c)
{
	/* The answers on their way first: delivered, they store their
	 * offsets for the commit. The producer outlives the consumer, whose
	 * close revokes its partitions through give_back(). */
	if (c->dlq)
		rd_kafka_flush(c->dlq, 10000);
	if (c->rk) {
		rd_kafka_resp_err_t e = rd_kafka_commit(c->rk, NULL, 0);
		if (e != RD_KAFKA_RESP_ERR_NO_ERROR && e != RD_KAFKA_RESP_ERR__NO_OFFSET)
			log_warn("final commit: %s", rd_kafka_err2str(e));
		ahead_drop(c, NULL, 0);	/* messages go before their client */
		rd_kafka_consumer_close(c->rk);
		rd_kafka_destroy(c->rk);
	}
	if (c->dlq)
		rd_kafka_destroy(c->dlq);
	outs_end_all(c);
	free(c->ahead);
	offsets_free(c->offs);
	if (c->evfd[0] > 0)
		kafka_wake_close(c->evfd);
	memset(c, 0, sizeof *c);
}
