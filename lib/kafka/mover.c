#include "kafka/mover.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/jsonx.h"
#include "core/log.h"
#include "core/util.h"
#include "judge/lane.h"

/* One claimed set member, the opaque of its message. */
struct retry_member {
	struct retry_mover *m;
	struct otel_span *span;		/* `retry publish`, ended at the report */
	const struct lane *lane;	/* of the entry's topic; NULL: not a lane's */
	char *key;			/* the message key (the job's id), NULL: none */
	const char *dlq_reason;		/* static: sent to the DLQ instead, why */
	size_t len;
	char bytes[];
};

static struct retry_member *member_new(struct retry_mover *m, const char *bytes, size_t len)
{
	struct retry_member *mb = xcalloc(1, sizeof *mb + len + 1);
	mb->m = m;
	mb->len = len;
	memcpy(mb->bytes, bytes, len);
	mb->bytes[len] = '\0';
	return mb;
}

static void member_free(struct retry_member *mb)
{
	free(mb->key);
	free(mb);
}

void retry_mover_init(struct retry_mover *m, const char *key, struct redis *redis,
		      int batch, double visibility_s)
{
	memset(m, 0, sizeof *m);
	m->key = key;
	m->inflight_key = xasprintf("%s:inflight", key);
	m->redis = redis;
	m->batch = batch;
	m->visibility_s = visibility_s;
	m->event_pipe[0] = m->event_pipe[1] = -1;
	m->republished = otel_counter("codex.retries.republished", "{retry}",
				      "Retry entries re-published to their jobs topic");
	m->dead = otel_counter("codex.dlq.messages", "{message}",
			       "Messages sent to the dead-letter topic, by x-error");
}

/* A job's log line and metrics after its entry's delivery: the key is its
 * id (submissionId or tempId by the topic's lane). */
static void republished(const struct retry_member *mb, const char *topic)
{
	struct retry_mover *m = mb->m;
	struct tracectx ctx;
	struct otel_attr a[2] = {{"codex.lane", mb->lane ? mb->lane->name : "none"}};
	if (mb->dlq_reason) {
		a[1] = (struct otel_attr){"error.type", mb->dlq_reason};
		otel_metric_add(m->dead, 1, a, 2);
		return;
	}
	cJSON *job = cJSON_CreateObject();
	if (mb->lane && mb->key)
		cJSON_AddStringToObject(job, mb->lane->id_field, mb->key);
	log_job_ctx(LOG_INFO, job, otel_span_context(mb->span, &ctx) == 0 ? &ctx : NULL,
		    "re-published to %s", topic);
	cJSON_Delete(job);
	otel_metric_add(m->republished, 1, a, 1);
}

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *msg, void *opaque)
{
	struct retry_member *mb = msg->_private;
	struct retry_mover *m = mb->m;
	(void)rk;
	(void)opaque;
	m->outstanding--;
	if (msg->err) {
		log_error("retry entry to %s not delivered: %s; the reaper sends it again",
			  rd_kafka_topic_name(msg->rkt), rd_kafka_err2str(msg->err));
		otel_span_set_error(mb->span, rd_kafka_err2name(msg->err), rd_kafka_err2str(msg->err));
		otel_span_end(mb->span);
		member_free(mb);
		return;
	}
	republished(mb, rd_kafka_topic_name(msg->rkt));
	otel_span_end(mb->span);
	mb->span = NULL;
	if (m->ndone == m->done_cap) {
		m->done_cap = m->done_cap ? 2 * m->done_cap : 64;
		m->done = xrealloc(m->done, m->done_cap * sizeof *m->done);
	}
	m->done[m->ndone++] = mb;
}

static void on_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
	struct retry_mover *m = opaque;
	char why[512];
	if (err == RD_KAFKA_RESP_ERR__FATAL) {
		rd_kafka_fatal_error(rk, why, sizeof why);
		log_error("kafka: fatal: %s", why);
		m->fatal = 1;
		return;
	}
	log_warn("kafka: %s", reason);
}

int retry_mover_start(struct retry_mover *m, const struct kafka_opts *o,
		      char *err, size_t errlen)
{
	char timeout[24];
	const char *dflt[] = {"enable.idempotence", "true", "client.id", "retryd",
			      "message.timeout.ms", timeout, NULL};
	int64_t ms = (int64_t)(m->visibility_s * 500);
	snprintf(timeout, sizeof timeout, "%lld", (long long)(ms < 100 ? 100 : ms));
	if (kafka_wake_open(m->event_pipe, err, errlen) != 0)
		die(EXIT_TEMPORARY, "%s", err);
	struct kafka_client k = {RD_KAFKA_PRODUCER, dflt, m, .delivered = on_delivery,
				 .error = on_error, .wake_fd = m->event_pipe[1]};
	m->rk = kafka_client_new(o, &k, err, errlen);
	return m->rk ? 0 : -1;
}

int retry_mover_fd(const struct retry_mover *m)
{
	return m->event_pipe[0];
}

void retry_mover_poll(struct retry_mover *m)
{
	kafka_wake_drain(m->event_pipe);
	rd_kafka_poll(m->rk, 0);
}

/* Hands mb to the producer with the message; on failure it is freed and
 * the entry waits in-flight for the reaper. */
static void produce(struct retry_mover *m, struct retry_member *mb, const char *topic,
		    const char *key, const char *value, size_t vlen, rd_kafka_headers_t *h)
{
	rd_kafka_resp_err_t err = rd_kafka_producev(m->rk,
		RD_KAFKA_V_TOPIC(topic),
		RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
		RD_KAFKA_V_KEY(key, key ? strlen(key) : 0),
		RD_KAFKA_V_VALUE((void *)value, vlen),
		RD_KAFKA_V_HEADERS(h),
		RD_KAFKA_V_OPAQUE(mb),
		RD_KAFKA_V_END);
	if (err) {
		log_error("retry entry to %s not produced: %s; the reaper sends it again",
			  topic, rd_kafka_err2str(err));
		rd_kafka_headers_destroy(h);
		otel_span_set_error(mb->span, rd_kafka_err2name(err), rd_kafka_err2str(err));
		otel_span_end(mb->span);
		member_free(mb);
		return;
	}
	m->outstanding++;
}

/* The `retry publish` span of an entry: a child of its traceparent
 * header, whose place it takes in e->headers. NULL with tracing off (the
 * headers are then re-published as they were stored). */
static struct otel_span *publish_span(struct retry_entry *e, const struct lane *lane)
{
	struct tracectx parent, ctx;
	char tp[TRACECTX_PARENT_LEN + 1];
	const char *count = jsonx_str(e->headers, "x-retry-count");
	int64_t retries = 0;
	int has_parent = tracectx_parse(&parent, jsonx_str(e->headers, "traceparent"),
					    jsonx_str(e->headers, "tracestate")) == 0;
	struct otel_span *s = otel_span_start("retry publish", OTEL_PRODUCER,
					      has_parent ? &parent : NULL);
	if (otel_span_context(s, &ctx) != 0)
		return NULL;
	otel_span_set_str(s, "messaging.system", "kafka");
	otel_span_set_str(s, "messaging.operation.type", "send");
	otel_span_set_str(s, "messaging.destination.name", e->topic);
	otel_span_set_str(s, "messaging.kafka.message.key", e->key);
	otel_span_set_str(s, "codex.lane", lane ? lane->name : NULL);
	if (count && parse_i64(count, 0, RETRY_MAX_ATTEMPT, &retries) == 0)
		otel_span_set_int(s, "codex.attempt", retries + 1);
	tracectx_format(&ctx, tp);
	jsonx_set(e->headers, "traceparent", cJSON_CreateString(tp));
	if (ctx.trace_state[0])
		jsonx_set(e->headers, "tracestate", cJSON_CreateString(ctx.trace_state));
	return s;
}

static void move_one(struct retry_mover *m, const char *bytes, size_t len)
{
	struct retry_entry e;
	struct retry_member *mb = member_new(m, bytes, len);
	char err[128];
	if (retry_entry_parse(bytes, len, &e, err, sizeof err) != 0) {
		rd_kafka_headers_t *h = rd_kafka_headers_new(2);
		log_error("retry entry invalid (%s): to %s", err, lane_dlq_topic());
		rd_kafka_header_add(h, "x-error", -1, "retry-entry-invalid", -1);
		rd_kafka_header_add(h, "x-error-message", -1, err, -1);
		mb->dlq_reason = "retry-entry-invalid";
		produce(m, mb, lane_dlq_topic(), NULL, mb->bytes, len, h);
		return;
	}
	mb->lane = lane_of_topic(e.topic);
	mb->key = e.key ? xstrdup(e.key) : NULL;
	mb->span = publish_span(&e, mb->lane);
	rd_kafka_headers_t *h = kafka_headers_from_json(e.headers);
	produce(m, mb, e.topic, e.key, e.value, strlen(e.value), h);
	retry_entry_free(&e);
}

/* A script's reply; NULL (logged) when Redis failed or said no. */
static redisReply *run_script(struct retry_mover *m, struct redis_script *s, const char *what,
			      int argc, const char **argv, const size_t *lens)
{
	redisReply *rep = redis_eval(m->redis, s, 2, argc, argv, lens);
	if (rep && rep->type == REDIS_REPLY_ERROR) {
		log_error("redis %s: %s: %s", redis_where(m->redis), what, rep->str);
		freeReplyObject(rep);
		return NULL;
	}
	return rep;
}

static void fmt_seconds(char *buf, size_t len, double s)
{
	snprintf(buf, len, "%.3f", s);
}

/* Claims up to the free room of the batch and produces the entries. */
static int claim(struct retry_mover *m, double now)
{
	char snow[40], most[24], until[40];
	const char *argv[] = {m->key, m->inflight_key, snow, most, until};
	int room = m->batch - m->outstanding;
	if (room <= 0)
		return 0;
	fmt_seconds(snow, sizeof snow, now);
	fmt_seconds(until, sizeof until, now + m->visibility_s);
	snprintf(most, sizeof most, "%d", room);
	redisReply *rep = run_script(m, &retry_lua_claim, "claiming", 5, argv, NULL);
	if (rep == NULL)
		return -1;
	for (size_t i = 0; rep->type == REDIS_REPLY_ARRAY && i < rep->elements; i++)
		if (rep->element[i]->type == REDIS_REPLY_STRING)
			move_one(m, rep->element[i]->str, rep->element[i]->len);
	if (rep->type == REDIS_REPLY_ARRAY && rep->elements > 0)
		log_info("claimed %zu due retry entries of %s, producing them", rep->elements, m->key);
	freeReplyObject(rep);
	return 0;
}

static int reap(struct retry_mover *m, double now)
{
	char snow[40];
	const char *argv[] = {m->key, m->inflight_key, snow, "1000"};
	fmt_seconds(snow, sizeof snow, now);
	redisReply *rep = run_script(m, &retry_lua_reap, "reaping", 4, argv, NULL);
	if (rep == NULL)
		return -1;
	if (rep->type == REDIS_REPLY_INTEGER && rep->integer > 0)
		log_warn("reaped %lld in-flight retry entries whose time-out passed back into %s",
			 rep->integer, m->key);
	freeReplyObject(rep);
	return 0;
}

/* Sends done[0..n) in one script call. Returns 0 or -1. */
static int ack_some(struct retry_mover *m, size_t n)
{
	const char **argv = xcalloc(n + 2, sizeof *argv);
	size_t *lens = xcalloc(n + 2, sizeof *lens);
	argv[0] = m->key;
	argv[1] = m->inflight_key;
	lens[0] = strlen(m->key);
	lens[1] = strlen(m->inflight_key);
	for (size_t i = 0; i < n; i++) {
		argv[i + 2] = m->done[i]->bytes;
		lens[i + 2] = m->done[i]->len;
	}
	redisReply *rep = run_script(m, &retry_lua_ack, "removing delivered entries",
				     (int)n + 2, argv, lens);
	free(argv);
	free(lens);
	if (rep == NULL)
		return -1;
	freeReplyObject(rep);
	return 0;
}

/* Removes delivered entries from both sets. Returns 0, or -1 (logged)
 * when Redis could not be reached: they stay for the next call. */
static int ack(struct retry_mover *m)
{
	enum { CHUNK = 500 };
	while (m->ndone > 0) {
		size_t n = m->ndone < CHUNK ? m->ndone : CHUNK;
		if (ack_some(m, n) != 0)
			return -1;
		log_info("re-published %zu retry entries", n);
		for (size_t i = 0; i < n; i++)
			member_free(m->done[i]);
		memmove(m->done, m->done + n, (m->ndone - n) * sizeof *m->done);
		m->ndone -= n;
	}
	return 0;
}

void retry_mover_tick(struct retry_mover *m)
{
	double now = (double)now_wall_ms() / 1000;
	if (ack(m) == 0 && reap(m, now) == 0)
		claim(m, now);
}

int retry_mover_stop(struct retry_mover *m, int timeout_ms)
{
	log_info("stopping: flushing %d messages", m->outstanding);
	rd_kafka_flush(m->rk, timeout_ms);
	/* One more try at Redis, after the backoff if it fails now. */
	if (redis_retry_in_ms(m->redis) > 0)
		usleep((useconds_t)redis_retry_in_ms(m->redis) * 1000);
	int rc = ack(m) == 0 && m->outstanding == 0 ? 0 : -1;
	if (rc != 0)
		log_warn("%zu delivered and %d undelivered entries stay in-flight: "
			 "the reaper sends them again", m->ndone, m->outstanding);
	rd_kafka_destroy(m->rk);
	kafka_wake_close(m->event_pipe);
	m->rk = NULL;
	return rc;
}

void retry_mover_free(struct retry_mover *m)
{
	for (size_t i = 0; i < m->ndone; i++)
		member_free(m->done[i]);
	free(m->done);
	free(m->inflight_key);
	memset(m, 0, sizeof *m);
}
