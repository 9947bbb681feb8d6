#include "kafka/kproduce.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/caps.h"
#include "core/fit.h"
#include "core/jsonx.h"
#include "core/log.h"
#include "core/util.h"
#include "judge/answer.h"
#include "judge/jobline.h"
#include "otel/jobtrace.h"

/* One input line in flight: acknowledged when `messages` reaches zero. */
struct pending_line {
	struct kproduce *p;
	int messages;
	int failed;
	int has_origin;
	const struct lane *lane;	/* meta.lane, else produce's --lane; may be NULL */
	char *result_id;		/* the id whose result this line carries */
	char *topic;
	int32_t partition;
	int64_t offset;
	char *language;			/* the job's, for the metrics; may be NULL */
	int64_t timestamp;		/* meta.timestamp (ms), 0 when unknown */
	char sent_to[256];		/* the topics sent to, for the log line */
	struct tracectx ctx;	/* the first send span's, for the log line */
};

enum msg_kind { MSG_RESULT, MSG_DLQ };

/* One message of a line: the opaque of its delivery report. */
struct pending_msg {
	struct pending_line *pl;
	enum msg_kind kind;
	struct otel_span *span;		/* `send <topic>`, ended at the report */
	char *label;			/* MSG_RESULT: the verdict; MSG_DLQ: x-error; may be NULL */
};

static void pending_line_free(struct pending_line *pl)
{
	free(pl->result_id);
	free(pl->topic);
	free(pl->language);
	free(pl);
}

static void line_settled(struct pending_line *pl)
{
	struct kproduce *p = pl->p;
	if (!pl->failed && pl->result_id && p->dedupe)
		dedupe_mark(p->dedupe, pl->lane->name, pl->result_id);
	if (!pl->failed && pl->has_origin && p->ack)
		p->ack(p->ack_arg, pl->topic, pl->partition, pl->offset);
	p->lines_pending--;
	pending_line_free(pl);
}

/* Adds the attribute {key, value} to a[*n] when value is not NULL. */
static void attr_add(struct otel_attr *a, size_t *n, const char *key, const char *value)
{
	if (value)
		a[(*n)++] = (struct otel_attr){key, value};
}

/* The metrics of a delivered message: a result completes its job (and
 * ends its duration, counted from the job message's timestamp); a DLQ
 * message counts by its x-error. */
static void count_delivery(const struct pending_msg *pm)
{
	const struct pending_line *pl = pm->pl;
	struct otel_attr a[3];
	size_t n = 0;
	attr_add(a, &n, "codex.lane", pl->lane ? pl->lane->name : NULL);
	if (pm->kind == MSG_DLQ) {
		attr_add(a, &n, "error.type", pm->label ? pm->label : "unknown");
		otel_metric_add(pl->p->dead, 1, a, n);
		return;
	}
	attr_add(a, &n, "codex.language", pl->language);
	if (pl->timestamp > 0)
		otel_metric_record(pl->p->duration, (double)(now_wall_ms() - pl->timestamp), a, n);
	attr_add(a, &n, "codex.verdict", pm->label);
	otel_metric_add(pl->p->completed, 1, a, n);
}

static void msg_free(struct pending_msg *pm)
{
	free(pm->label);
	free(pm);
}

static void delivered(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
	struct pending_msg *pm = m->_private;
	struct pending_line *pl = pm->pl;
	(void)rk;
	(void)opaque;
	if (m->err) {
		/* After librdkafka's own retries: this line's job must run again,
		 * so no ack; the caller exits 111 and the job is redelivered. */
		log_error("send to %s failed: %s", rd_kafka_topic_name(m->rkt), rd_kafka_err2str(m->err));
		otel_span_set_error(pm->span, rd_kafka_err2name(m->err), rd_kafka_err2str(m->err));
		pl->failed = 1;
		pl->p->fatal = 1;
	} else {
		log_debug("delivered to %s[%d]@%lld", rd_kafka_topic_name(m->rkt), (int)m->partition,
			  (long long)m->offset);
		count_delivery(pm);
	}
	otel_span_end(pm->span);
	msg_free(pm);
	if (--pl->messages == 0)
		line_settled(pl);
}

/* The `send <topic>` span of a message of line (messaging semantic
 * conventions); NULL when tracing is off. */
static struct otel_span *send_span(const cJSON *line, const char *topic, const char *key)
{
	char name[300];		/* Kafka topic names have at most 249 bytes */
	snprintf(name, sizeof name, "send %s", topic);
	struct otel_span *s = jobtrace_start(name, OTEL_PRODUCER, line);
	otel_span_set_str(s, "messaging.system", "kafka");
	otel_span_set_str(s, "messaging.operation.type", "send");
	otel_span_set_str(s, "messaging.destination.name", topic);
	if (key)
		otel_span_set_str(s, "messaging.kafka.message.key", key);
	return s;
}

/* Notes where the line went and its first span, for the log line. */
static void note_sent(struct pending_line *pl, const char *topic, const struct otel_span *span)
{
	size_t used = strlen(pl->sent_to);
	snprintf(pl->sent_to + used, sizeof pl->sent_to - used, "%s%s", used ? ", " : "", topic);
	if (!tracectx_valid(&pl->ctx))
		otel_span_context(span, &pl->ctx);
}

static char *print_or_die(const cJSON *value)
{
	char *text = cJSON_PrintUnformatted(value);
	if (text == NULL)
		die(EXIT_TEMPORARY, "out of memory");
	return text;
}

/* What goes out instead of a value over CAP_RESULT_MESSAGE, which the
 * broker would refuse (and the line would come back forever): a dead
 * letter without its value (x-value-omitted: too-large; the job stays at
 * its original offset), a result replaced by an error result. Takes text;
 * returns the text to send. */
static char *stand_in(struct pending_msg *pm, const cJSON *line, rd_kafka_headers_t **headers,
		      char *text)
{
	const struct lane *l = pm->pl->lane;
	size_t len = strlen(text);
	free(text);
	log_job(LOG_ERROR, line, "a %s message of %zu bytes is over %d: sending a stand-in",
		pm->kind == MSG_DLQ ? "dead-letter" : "result", len, CAP_RESULT_MESSAGE);
	if (pm->kind == MSG_DLQ || l == NULL) {
		if (*headers == NULL)
			*headers = rd_kafka_headers_new(2);
		kafka_header_set(*headers, "x-value-omitted", "too-large");
		return xstrdup("");
	}
	const cJSON *meta = cJSON_GetObjectItemCaseSensitive(line, "meta");
	cJSON *r = answer_error(line, l->name, jsonx_str(meta, "key"), "result-too-large",
				"the result is larger than a message may be");
	fit_result(r, CAP_RESULT_MESSAGE);
	free(pm->label);
	pm->label = xstrdup("internal_error");
	text = print_or_die(r);
	cJSON_Delete(r);
	return text;
}

/* Produces value to topic with headers (taken; may be NULL) under a send
 * span whose context goes into the traceparent header; pm is taken. */
static void send_msg(struct pending_msg *pm, const cJSON *line, const char *topic, const char *key,
		     const cJSON *value, rd_kafka_headers_t *headers)
{
	struct pending_line *pl = pm->pl;
	struct jobtrace_headers th;
	char *text = print_or_die(value);
	if (strlen(text) > CAP_RESULT_MESSAGE)
		text = stand_in(pm, line, &headers, text);
	pm->span = send_span(line, topic, key);
	otel_span_set_str(pm->span, pm->kind == MSG_DLQ ? "codex.dlq.reason" : "codex.verdict",
			  pm->label);
	jobtrace_headers(&th, pm->span, line);
	if (headers == NULL && th.traceparent)
		headers = rd_kafka_headers_new(2);
	if (headers) {
		kafka_header_set(headers, "traceparent", th.traceparent);
		kafka_header_set(headers, "tracestate", th.tracestate);
	}
	size_t sent_len = strlen(pl->sent_to);
	note_sent(pl, topic, pm->span);
	pl->messages++;
	rd_kafka_resp_err_t e;
	for (;;) {
		e = rd_kafka_producev(pl->p->rk, RD_KAFKA_V_TOPIC(topic),
				      RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_FREE),
				      RD_KAFKA_V_KEY(key, key ? strlen(key) : 0),
				      RD_KAFKA_V_VALUE(text, strlen(text)),
				      RD_KAFKA_V_HEADERS(headers), RD_KAFKA_V_OPAQUE(pm), RD_KAFKA_V_END);
		if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL)
			break;
		rd_kafka_poll(pl->p->rk, 100);	/* the local queue drains as the broker acks */
	}
	if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
		log_error("send to %s: %s", topic, rd_kafka_err2str(e));
		pl->sent_to[sent_len] = '\0';	/* not produced to it */
		otel_span_set_error(pm->span, rd_kafka_err2name(e), rd_kafka_err2str(e));
		otel_span_end(pm->span);
		msg_free(pm);
		free(text);
		if (headers)
			rd_kafka_headers_destroy(headers);
		pl->messages--;
		pl->failed = 1;
		pl->p->fatal = 1;
	}
}

static struct pending_msg *msg_new(struct pending_line *pl, enum msg_kind kind, const char *label)
{
	struct pending_msg *pm = xcalloc(1, sizeof *pm);
	pm->pl = pl;
	pm->kind = kind;
	pm->label = label ? xstrdup(label) : NULL;
	return pm;
}

static const struct lane *lane_of(const struct kproduce *p, const cJSON *meta)
{
	const struct lane *l = lane_find(jsonx_str(meta, "lane"));
	return l ? l : p->lane;
}

/* The job's headers, then extra (an object of strings), then where the
 * job came from (the trace headers are send_msg()'s). */
static rd_kafka_headers_t *dlq_headers(const cJSON *line, const cJSON *extra)
{
	const cJSON *meta = cJSON_GetObjectItemCaseSensitive(line, "meta");
	const cJSON *item;
	char num[32];
	rd_kafka_headers_t *h = kafka_headers_from_json(cJSON_GetObjectItemCaseSensitive(meta, "headers"));
	if (h == NULL)
		h = rd_kafka_headers_new(8);
	cJSON_ArrayForEach(item, extra)
		if (cJSON_IsString(item))
			kafka_header_set(h, item->string, item->valuestring);
	kafka_header_set(h, "x-original-topic", jsonx_str(meta, "topic"));
	item = cJSON_GetObjectItemCaseSensitive(meta, "partition");
	if (cJSON_IsNumber(item)) {
		snprintf(num, sizeof num, "%d", item->valueint);
		kafka_header_set(h, "x-original-partition", num);
	}
	item = cJSON_GetObjectItemCaseSensitive(meta, "offset");
	if (cJSON_IsNumber(item)) {
		snprintf(num, sizeof num, "%.0f", item->valuedouble);
		kafka_header_set(h, "x-original-offset", num);
	}
	return h;
}

static void send_dlq(struct pending_line *pl, const cJSON *line, const cJSON *extra)
{
	const cJSON *meta = cJSON_GetObjectItemCaseSensitive(line, "meta");
	cJSON *job = job_bare(line);
	send_msg(msg_new(pl, MSG_DLQ, jsonx_str(extra, "x-error")), line, lane_dlq_topic(),
		 jsonx_str(meta, "key"), job, dlq_headers(line, extra));
	cJSON_Delete(job);
}

/* The DLQ headers of an error section: x-error and x-error-message. */
static cJSON *error_headers(const cJSON *error)
{
	cJSON *h = cJSON_CreateObject();
	const char *code = jsonx_str(error, "code"), *msg = jsonx_str(error, "message");
	cJSON_AddStringToObject(h, "x-error", code ? code : "unknown");
	if (msg)
		cJSON_AddStringToObject(h, "x-error-message", msg);
	return h;
}

/* The verdict of a result section (executionResult's, or custom's own). */
static const char *verdict_of(const cJSON *result)
{
	const char *v = jsonx_str(cJSON_GetObjectItemCaseSensitive(result, "executionResult"), "verdict");
	return v ? v : jsonx_str(result, "verdict");
}

/* Sends the line's result to the lane's results topic, keyed by its id;
 * once delivered, the id is marked as having a result (dedupe.h). */
static void send_result(struct pending_line *pl, const cJSON *line, const struct lane *l)
{
	const cJSON *result = cJSON_GetObjectItemCaseSensitive(line, "result");
	const char *key = jsonx_str(result, l->id_field);
	if (key == NULL)
		key = jsonx_str(line, l->id_field);
	if (key && pl->result_id == NULL)
		pl->result_id = xstrdup(key);
	send_msg(msg_new(pl, MSG_RESULT, verdict_of(result)), line, l->results_topic, key, result, NULL);
}

/* The error result of a line that could not be judged: its job is in the
 * DLQ; the client gets to know (answer.h). Not marked as a result: the
 * job, replayed from the DLQ once its cause is mended, must run. */
static void send_error_result(struct pending_line *pl, const cJSON *line, const struct lane *l,
			      const char *code, const char *message)
{
	const cJSON *meta = cJSON_GetObjectItemCaseSensitive(line, "meta");
	const char *id;
	cJSON *result = answer_message(line, l->name, jsonx_str(meta, "key"), code, message, &id);
	if (result == NULL) {
		log_job(LOG_WARN, line, "no %s and no key: dead-lettered, no result sent", l->id_field);
		return;
	}
	send_msg(msg_new(pl, MSG_RESULT, "internal_error"), line, l->results_topic, id, result, NULL);
	cJSON_Delete(result);
}

/* The error result of a line sent to the DLQ, when it has a lane. */
static void answer_dead(struct pending_line *pl, const cJSON *line, const struct lane *l,
			const char *code, const char *message)
{
	if (l)
		send_error_result(pl, line, l, code, message);
	else
		log_job(LOG_ERROR, line, "no lane (no meta.lane, no --lane): dead-lettered, no result sent");
}

/* The headers of a dead letter of our own: x-error and x-error-message. */
static cJSON *own_error(const char *code, const char *message)
{
	cJSON *h = cJSON_CreateObject();
	cJSON_AddStringToObject(h, "x-error", code);
	cJSON_AddStringToObject(h, "x-error-message", message);
	return h;
}

/* Sends what the line asks for (docs/pipeline.md): every line but a
 * stored retry answers its job on its lane's results topic, with its
 * result or, when it has none, an error result (its job to the DLQ). */
static void route(struct pending_line *pl, const cJSON *line, const struct lane *l)
{
	const cJSON *error = cJSON_GetObjectItemCaseSensitive(line, "error");
	const cJSON *dlq = cJSON_GetObjectItemCaseSensitive(line, "dlq");
	const cJSON *result = cJSON_GetObjectItemCaseSensitive(line, "result");
	const int has_result = cJSON_IsObject(result) && l;
	if (cJSON_HasObjectItem(line, "retry"))
		return;	/* stored in Redis: nothing to send */
	if (dlq) {
		const cJSON *h = cJSON_GetObjectItemCaseSensitive(dlq, "headers");
		send_dlq(pl, line, h);
		if (has_result)
			send_result(pl, line, l);
		else
			answer_dead(pl, line, l, jsonx_str(h, "x-error"), jsonx_str(h, "x-error-message"));
	} else if (error || !has_result) {
		cJSON *h;
		if (error)
			h = error_headers(error);
		else if (l)
			h = own_error("no-result", "the line came back without a result");
		else
			h = own_error("no-lane", "a result with no lane (no meta.lane, no --lane)");
		send_dlq(pl, line, h);
		answer_dead(pl, line, l, jsonx_str(h, "x-error"), jsonx_str(h, "x-error-message"));
		cJSON_Delete(h);
	} else {
		send_result(pl, line, l);
	}
}

static void set_origin(struct pending_line *pl, const cJSON *meta)
{
	const char *topic = jsonx_str(meta, "topic");
	const cJSON *part = cJSON_GetObjectItemCaseSensitive(meta, "partition");
	const cJSON *off = cJSON_GetObjectItemCaseSensitive(meta, "offset");
	if (topic && cJSON_IsNumber(part) && cJSON_IsNumber(off)) {
		pl->has_origin = 1;
		pl->topic = xstrdup(topic);
		pl->partition = (int32_t)part->valueint;
		pl->offset = (int64_t)off->valuedouble;
	}
}

static struct pending_line *line_new(struct kproduce *p, const cJSON *line, const struct lane *l)
{
	const cJSON *meta = cJSON_GetObjectItemCaseSensitive(line, "meta");
	const cJSON *ts = cJSON_GetObjectItemCaseSensitive(meta, "timestamp");
	struct otel_attr a[JOBTRACE_ATTRS];
	struct pending_line *pl = xcalloc(1, sizeof *pl);
	pl->p = p;
	pl->lane = l;
	set_origin(pl, meta);
	for (size_t i = 0, n = jobtrace_attrs(line, a); i < n; i++)
		if (strcmp(a[i].key, "codex.language") == 0)
			pl->language = xstrdup(a[i].value);
	if (cJSON_IsNumber(ts) && ts->valuedouble > 0)
		pl->timestamp = (int64_t)ts->valuedouble;
	return pl;
}

void kproduce_line(struct kproduce *p, const char *text, size_t len)
{
	cJSON *line = jsonx_parse_line(text, len);
	if (!cJSON_IsObject(line)) {
		log_error("produce: a line that is not a JSON object was dropped (%zu bytes)", len);
		cJSON_Delete(line);
		return;
	}
	const struct lane *l = lane_of(p, cJSON_GetObjectItemCaseSensitive(line, "meta"));
	struct pending_line *pl = line_new(p, line, l);
	if (pl->has_origin && p->accept && !p->accept(p->ack_arg, pl->topic, pl->partition, pl->offset)) {
		log_job(LOG_WARN, line, "dropped: %s[%d]@%lld was answered already, or is no longer ours",
			pl->topic, (int)pl->partition, (long long)pl->offset);
		pending_line_free(pl);
		cJSON_Delete(line);
		return;
	}
	p->lines_pending++;
	pl->messages = 1;	/* held until route() has sent everything */
	route(pl, line, l);
	if (pl->sent_to[0])
		log_job_ctx(LOG_INFO, line, &pl->ctx, "produced to %s", pl->sent_to);
	else
		log_job(LOG_INFO, line, "produced nothing%s",
			cJSON_HasObjectItem(line, "retry") ? ": the retry is stored in Redis" : "");
	cJSON_Delete(line);
	if (--pl->messages == 0)
		line_settled(pl);
}

int kproduce_open(struct kproduce *p, const struct kafka_opts *ko, const struct lane *lane,
		  kproduce_ack_fn *ack, void *ack_arg, char *err, size_t errlen)
{
	static const char *const defaults[] = {
		"enable.idempotence", "true", "acks", "all", "linger.ms", "5", NULL};
	memset(p, 0, sizeof *p);
	p->lane = lane;
	p->ack = ack;
	p->ack_arg = ack_arg;
	p->completed = otel_counter("codex.jobs.completed", "{job}",
				    "Jobs whose result Kafka acknowledged, by verdict");
	p->duration = otel_histogram("codex.job.duration", "ms",
				     "From the job message's timestamp to its result's acknowledgement",
				     NULL, 0);
	p->dead = otel_counter("codex.dlq.messages", "{message}",
			       "Messages sent to the dead-letter topic, by x-error");
	if (kafka_wake_open(p->evfd, err, errlen) != 0)
		return -1;
	struct kafka_client k = {RD_KAFKA_PRODUCER, defaults, NULL, .delivered = delivered,
				 .wake_fd = p->evfd[1]};
	p->rk = kafka_client_new(ko, &k, err, errlen);
	return p->rk ? 0 : -1;
}

int kproduce_fd(const struct kproduce *p)
{
	return p->evfd[0];
}

void kproduce_poll(struct kproduce *p)
{
	kafka_wake_drain(p->evfd);
	rd_kafka_poll(p->rk, 0);
}

void kproduce_close(struct kproduce *p, int timeout_ms)
{
	if (p->rk == NULL)
		return;
	if (rd_kafka_flush(p->rk, timeout_ms) != RD_KAFKA_RESP_ERR_NO_ERROR)
		log_error("%d messages not delivered at exit", rd_kafka_outq_len(p->rk));
	rd_kafka_destroy(p->rk);
	p->rk = NULL;
	kafka_wake_close(p->evfd);
}
