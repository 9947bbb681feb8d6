#include "kconsume.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "job.h"
#include "jobtrace.h"
#include "jsonx.h"
#include "log.h"
#include "util.h"

enum { SPAN_BUCKETS = 1024 };

/* Where a message came from: the DLQ producer's per-message opaque. */
struct origin {
	char *topic;
	int32_t partition;
	int64_t offset;
	char *code;			/* x-error */
	struct otel_span *span;		/* its consumer span, ended at the delivery */
};

/* A job's consumer span, waiting for the job's acknowledgement. */
struct kconsume_span {
	struct kconsume_span *next;
	char *topic;
	int32_t partition;
	int64_t offset;
	struct otel_span *span;
};

/* ---- consumer spans waiting for their acknowledgement ---- */

static size_t span_bucket(const char *topic, int32_t partition, int64_t offset)
{
	uint64_t h = 1469598103934665603u;	/* FNV-1a over the three */
	for (const char *p = topic; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211u;
	h = (h ^ (uint32_t)partition) * 1099511628211u;
	h = (h ^ (uint64_t)offset) * 1099511628211u;
	return (size_t)(h % SPAN_BUCKETS);
}

/* Takes the span of topic/partition/offset out of the table (the caller
 * ends it), or NULL. */
static struct otel_span *span_take(struct kconsume *c, const char *topic, int32_t partition,
				   int64_t offset)
{
	if (c->spans == NULL)
		return NULL;
	for (struct kconsume_span **pp = &c->spans[span_bucket(topic, partition, offset)]; *pp;
	     pp = &(*pp)->next) {
		struct kconsume_span *e = *pp;
		if (e->offset == offset && e->partition == partition && strcmp(e->topic, topic) == 0) {
			struct otel_span *span = e->span;
			*pp = e->next;
			free(e->topic);
			free(e);
			return span;
		}
	}
	return NULL;
}

/* Keeps span (taken; NULL: tracing is off) until the job's ack. The same
 * offset out again (its partition revoked and given back before the first
 * ack came) ends the older span. */
static void span_put(struct kconsume *c, const char *topic, int32_t partition, int64_t offset,
		     struct otel_span *span)
{
	struct otel_span *old;
	if (span == NULL)
		return;
	if (c->spans == NULL)
		c->spans = xcalloc(SPAN_BUCKETS, sizeof *c->spans);
	if ((old = span_take(c, topic, partition, offset)) != NULL) {
		otel_span_set_error(old, "redelivered", "handed out again before its acknowledgement");
		otel_span_end(old);
	}
	struct kconsume_span *e = xmalloc(sizeof *e);
	size_t b = span_bucket(topic, partition, offset);
	*e = (struct kconsume_span){c->spans[b], xstrdup(topic), partition, offset, span};
	c->spans[b] = e;
}

/* Ends every span still waiting: their jobs were not acknowledged. */
static void spans_end_all(struct kconsume *c)
{
	for (size_t b = 0; c->spans && b < SPAN_BUCKETS; b++)
		while (c->spans[b]) {
			struct kconsume_span *e = c->spans[b];
			c->spans[b] = e->next;
			otel_span_set_error(e->span, "not_acknowledged",
					    "not acknowledged before the consumer closed: it runs again");
			otel_span_end(e->span);
			free(e->topic);
			free(e);
		}
	free(c->spans);
	c->spans = NULL;
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
	/* Also for a partition since revoked: the job itself is finished. */
	otel_span_end(span_take(c, topic, partition, offset));
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
	struct otel_context parent;
	const char *topic = rd_kafka_topic_name(m->rkt);
	int has_parent = otel_context_parse(&parent, jsonx_str(headers, "traceparent"),
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

/* DLQ delivery: the poison message is safe, its offset is done. A failed
 * send is not: the offset stays out and the message comes back after a
 * restart. */
static void dlq_delivered(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
	struct kconsume *c = opaque;
	struct origin *o = m->_private;
	(void)rk;
	if (m->err) {
		log_error("dead-letter send for %s[%d]@%lld failed: %s", o->topic, o->partition,
			  (long long)o->offset, rd_kafka_err2str(m->err));
		otel_span_set_error(o->span, "dlq_send_failed", rd_kafka_err2str(m->err));
		c->fatal = 1;
	} else {
		count_dead(c, o->code);
		kconsume_ack(c, o->topic, o->partition, o->offset);
	}
	otel_span_end(o->span);
	free(o->topic);
	free(o->code);
	free(o);
}

static void add_header(rd_kafka_headers_t *h, const char *name, const char *value)
{
	rd_kafka_header_remove(h, name);
	rd_kafka_header_add(h, name, -1, value, -1);
}

/* The consumer span's context as the DLQ message's traceparent and
 * tracestate (the message's own are kept when tracing is off). */
static void trace_headers(rd_kafka_headers_t *h, const struct otel_span *span)
{
	struct otel_context ctx;
	char tp[OTEL_TRACEPARENT_LEN + 1];
	if (otel_span_context(span, &ctx) != 0)
		return;
	otel_traceparent_format(&ctx, tp);
	add_header(h, "traceparent", tp);
	if (ctx.trace_state[0])
		add_header(h, "tracestate", ctx.trace_state);
}

/* Sends a message that is no job to the dead-letter topic, with why;
 * takes span (the message's consumer span), ended at the delivery. */
static void poison(struct kconsume *c, const rd_kafka_message_t *m, const char *code,
		   const char *message, struct otel_span *span)
{
	rd_kafka_headers_t *orig = NULL, *h;
	char part[16], off[32];
	const char *topic = rd_kafka_topic_name(m->rkt);
	struct origin *o = xcalloc(1, sizeof *o);
	struct otel_context ctx;
	*o = (struct origin){xstrdup(topic), m->partition, m->offset, xstrdup(code), span};
	h = rd_kafka_message_headers(m, &orig) == RD_KAFKA_RESP_ERR_NO_ERROR
		    ? rd_kafka_headers_copy(orig) : rd_kafka_headers_new(6);
	snprintf(part, sizeof part, "%d", (int)m->partition);
	snprintf(off, sizeof off, "%lld", (long long)m->offset);
	add_header(h, "x-error", code);
	add_header(h, "x-error-message", message);
	add_header(h, "x-original-topic", topic);
	add_header(h, "x-original-partition", part);
	add_header(h, "x-original-offset", off);
	otel_span_set_error(span, code, message);
	trace_headers(h, span);
	offsets_out(c->offs, topic, m->partition, m->offset);
	log_job_ctx(LOG_WARN, NULL, otel_span_context(span, &ctx) == 0 ? &ctx : NULL,
		    "%s[%d]@%lld to %s: %s: %s", topic, (int)m->partition, (long long)m->offset,
		    lane_dlq_topic(), code, message);
	rd_kafka_resp_err_t e = rd_kafka_producev(c->dlq,
		RD_KAFKA_V_TOPIC(lane_dlq_topic()), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
		RD_KAFKA_V_KEY(m->key, m->key_len), RD_KAFKA_V_VALUE(m->payload, m->len),
		RD_KAFKA_V_HEADERS(h), RD_KAFKA_V_OPAQUE(o), RD_KAFKA_V_END);
	if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
		log_error("dead-letter send: %s", rd_kafka_err2str(e));
		rd_kafka_headers_destroy(h);
		otel_span_set_error(span, "dlq_send_failed", rd_kafka_err2str(e));
		otel_span_end(span);
		free(o->topic);
		free(o->code);
		free(o);
		c->fatal = 1;
	}
}

/* meta.traceparent and meta.tracestate: the consumer span's context, or
 * with tracing off the message's headers as they came. */
static void meta_trace(cJSON *meta, const cJSON *headers, const struct otel_span *span)
{
	struct otel_context ctx;
	char tp[OTEL_TRACEPARENT_LEN + 1];
	const char *traceparent = jsonx_str(headers, "traceparent");
	const char *tracestate = jsonx_str(headers, "tracestate");
	if (otel_span_context(span, &ctx) == 0) {
		otel_traceparent_format(&ctx, tp);
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

/* Hands the job line out; takes headers and span (ended at the ack). */
static void emit(struct kconsume *c, const rd_kafka_message_t *m, cJSON *line, cJSON *headers,
		 struct otel_span *span)
{
	const char *topic = rd_kafka_topic_name(m->rkt);
	struct otel_attr attrs[JOBTRACE_ATTRS];
	jsonx_set(line, "meta", make_meta(c, m, headers, span));
	char *text = cJSON_PrintUnformatted(line);
	if (text == NULL)
		die(EXIT_TEMPORARY, "out of memory");
	outbuf_put(c->out, text, strlen(text));
	outbuf_put(c->out, "\n", 1);
	free(text);
	offsets_out(c->offs, topic, m->partition, m->offset);
	span_put(c, topic, m->partition, m->offset, span);
	log_job(LOG_INFO, line, "consumed %s[%d]@%lld", topic, (int)m->partition, (long long)m->offset);
	otel_metric_add(c->consumed, 1, attrs, jobtrace_attrs(line, attrs));
	c->emitted++;
	if (!c->opt.acked)	/* nobody will acknowledge: written is done */
		kconsume_ack(c, topic, m->partition, m->offset);
	if (c->opt.count > 0 && c->emitted >= c->opt.count)
		kconsume_stop(c);
}

/* A job that has a result already (the idempotency key): done at once. */
static void skip(struct kconsume *c, const rd_kafka_message_t *m, const cJSON *job,
		 struct otel_span *span)
{
	const char *topic = rd_kafka_topic_name(m->rkt);
	struct otel_context ctx;
	otel_span_set_bool(span, "codex.duplicate", 1);
	log_job_ctx(LOG_INFO, job, otel_span_context(span, &ctx) == 0 ? &ctx : NULL,
		    "skipped %s[%d]@%lld: it has a result already", topic, (int)m->partition,
		    (long long)m->offset);
	otel_span_end(span);
	offsets_out(c->offs, topic, m->partition, m->offset);
	kconsume_ack(c, topic, m->partition, m->offset);
}

/* The job of a message, validated, or NULL with *code and msg saying why
 * it is poison. */
static cJSON *job_of(struct kconsume *c, const rd_kafka_message_t *m, struct job *j,
		     const char **code, char *msg, size_t msglen)
{
	if (m->len > c->opt.max_bytes) {
		snprintf(msg, msglen, "message of %zu bytes over the cap of %zu", m->len, c->opt.max_bytes);
		*code = "oversized";
		return NULL;
	}
	char *text = xstrndup(m->payload ? m->payload : "", m->len);
	cJSON *line = strlen(text) == m->len ? jsonx_parse_line(text, m->len) : NULL;
	free(text);
	if (!cJSON_IsObject(line)) {
		cJSON_Delete(line);
		snprintf(msg, msglen, "the value is not a JSON object");
		*code = "invalid-json";
		return NULL;
	}
	/* A job bringing a stage's section would be taken for that stage's
	 * verdict on it (its own "retry": never produced). */
	const char *section = job_section_of(line);
	if (section) {
		snprintf(msg, msglen, "a job may not carry a \"%s\" section", section);
		cJSON_Delete(line);
		*code = "invalid-job";
		return NULL;
	}
	if (job_parse(j, line, c->table, code, msg, msglen) != 0) {
		job_free(j);
		return NULL;
	}
	const char *id = jsonx_str(j->line, c->opt.lane->id_field);
	if (id == NULL || strcmp(job_mode_name(j->mode), c->opt.lane->name) != 0) {
		snprintf(msg, msglen, "a %s job with%s %s does not belong to the %s lane",
			 job_mode_name(j->mode), id ? "" : "out", c->opt.lane->id_field, c->opt.lane->name);
		*code = "invalid-job";
		job_free(j);
		return NULL;
	}
	return j->line;
}

static void handle(struct kconsume *c, const rd_kafka_message_t *m)
{
	char msg[256];
	const char *code = "invalid-job";
	struct job j;
	cJSON *headers = kafka_headers_json(m);
	struct otel_span *span = process_span(c, m, headers);
	cJSON *line = job_of(c, m, &j, &code, msg, sizeof msg);
	if (line == NULL) {
		cJSON_Delete(headers);
		poison(c, m, code, msg, span);
		return;
	}
	otel_span_set_str(span, "codex.language", jsonx_str(line, "language"));
	if (c->dedupe && dedupe_seen(c->dedupe, c->opt.lane->name,
				     jsonx_str(line, c->opt.lane->id_field))) {
		cJSON_Delete(headers);
		skip(c, m, line, span);
	} else {
		emit(c, m, line, headers, span);
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

/* Commits, for partitions about to go, what their finished jobs allow;
 * then forgets them. Lost partitions are only forgotten: someone else owns
 * them already, and a commit now could skip a job. */
static void give_back(struct kconsume *c, rd_kafka_topic_partition_list_t *parts, int lost)
{
	rd_kafka_topic_partition_list_t *commit = rd_kafka_topic_partition_list_new(parts->cnt);
	for (int i = 0; i < parts->cnt; i++) {
		const rd_kafka_topic_partition_t *p = &parts->elems[i];
		int64_t next = offsets_commit_point(c->offs, p->topic, p->partition);
		if (!lost && next >= 0)
			rd_kafka_topic_partition_list_add(commit, p->topic, p->partition)->offset = next;
		offsets_drop(c->offs, p->topic, p->partition);
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
		if (c->paused || c->stopping)
			rd_kafka_pause_partitions(rk, parts);
		return;
	}
	give_back(c, parts, rd_kafka_assignment_lost(rk));
	if (coop)
		rd_kafka_incremental_unassign(rk, parts);
	else
		rd_kafka_assign(rk, NULL);
}

static rd_kafka_t *new_client(rd_kafka_type_t type, rd_kafka_conf_t *conf, char *err, size_t errlen)
{
	char rderr[512];
	rd_kafka_t *rk = rd_kafka_new(type, conf, rderr, sizeof rderr);
	if (rk == NULL) {
		snprintf(err, errlen, "%s", rderr);
		rd_kafka_conf_destroy(conf);
	}
	return rk;
}

static int open_dlq(struct kconsume *c, const struct kafka_opts *ko, char *err, size_t errlen)
{
	static const char *const defaults[] = {
		"enable.idempotence", "true", "acks", "all", "linger.ms", "5", NULL};
	rd_kafka_conf_t *conf = kafka_conf(ko, defaults, err, errlen);
	if (conf == NULL)
		return -1;
	rd_kafka_conf_set_opaque(conf, c);
	rd_kafka_conf_set_dr_msg_cb(conf, dlq_delivered);
	c->dlq = new_client(RD_KAFKA_PRODUCER, conf, err, errlen);
	return c->dlq ? 0 : -1;
}

/* Wakes the caller's poll() when either queue gets something. */
static int wire_events(struct kconsume *c, char *err, size_t errlen)
{
	rd_kafka_queue_t *q;
	if (pipe2(c->evfd, O_NONBLOCK | O_CLOEXEC) != 0) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		return -1;
	}
	q = rd_kafka_queue_get_consumer(c->rk);
	rd_kafka_queue_io_event_enable(q, c->evfd[1], "1", 1);
	rd_kafka_queue_destroy(q);
	q = rd_kafka_queue_get_main(c->dlq);
	rd_kafka_queue_io_event_enable(q, c->evfd[1], "1", 1);
	rd_kafka_queue_destroy(q);
	return 0;
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
	rd_kafka_conf_t *conf = kafka_conf(ko, defaults, err, errlen);
	if (conf == NULL || open_dlq(c, ko, err, errlen) != 0)
		return -1;
	rd_kafka_conf_set_opaque(conf, c);
	rd_kafka_conf_set_rebalance_cb(conf, rebalanced);
	c->rk = new_client(RD_KAFKA_CONSUMER, conf, err, errlen);
	if (c->rk == NULL)
		return -1;
	rd_kafka_poll_set_consumer(c->rk);
	if (wire_events(c, err, errlen) != 0)
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
	char buf[64];
	rd_kafka_message_t *m;
	while (read(c->evfd[0], buf, sizeof buf) > 0)
		;
	/* Drain the queue: librdkafka only signals a queue that was empty. */
	do {
		int full = offsets_pending(c->offs) >= c->opt.max_inflight;
		set_paused(c, full || c->hold || c->stopping);
		m = rd_kafka_consumer_poll(c->rk, 0);
		if (m == NULL)
			break;
		if (m->err)
			consumer_error(c, m);
		else if (!c->stopping)
			handle(c, m);
		/* else: paused too late; its offset is not stored, it comes back */
		rd_kafka_message_destroy(m);
	} while (1);
	rd_kafka_poll(c->dlq, 0);
}


void kconsume_stop(struct kconsume *c)
{
	c->stopping = 1;
	set_paused(c, 1);
}

size_t kconsume_pending(const struct kconsume *c)
{
	return offsets_pending(c->offs);
}

void kconsume_close(struct kconsume *c)
{
	if (c->dlq) {
		rd_kafka_flush(c->dlq, 10000);
		rd_kafka_destroy(c->dlq);
	}
	if (c->rk) {
		rd_kafka_resp_err_t e = rd_kafka_commit(c->rk, NULL, 0);
		if (e != RD_KAFKA_RESP_ERR_NO_ERROR && e != RD_KAFKA_RESP_ERR__NO_OFFSET)
			log_warn("final commit: %s", rd_kafka_err2str(e));
		rd_kafka_consumer_close(c->rk);
		rd_kafka_destroy(c->rk);
	}
	spans_end_all(c);
	offsets_free(c->offs);
	if (c->evfd[0] > 0) {
		close(c->evfd[0]);
		close(c->evfd[1]);
	}
	memset(c, 0, sizeof *c);
}
