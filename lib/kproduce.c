#include "kproduce.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "job.h"
#include "jsonx.h"
#include "log.h"
#include "util.h"

/* One input line in flight: acknowledged when `messages` reaches zero. */
struct pending_line {
	struct kproduce *p;
	int messages;
	int failed;
	int has_origin;
	const struct lane *lane;
	char *result_id;		/* the id whose result this line carries */
	char *topic;
	int32_t partition;
	int64_t offset;
};

static void line_settled(struct pending_line *pl)
{
	struct kproduce *p = pl->p;
	if (!pl->failed && pl->result_id && p->dedupe)
		dedupe_mark(p->dedupe, pl->lane->name, pl->result_id);
	if (!pl->failed && pl->has_origin && p->ack)
		p->ack(p->ack_arg, pl->topic, pl->partition, pl->offset);
	p->lines_pending--;
	free(pl->result_id);
	free(pl->topic);
	free(pl);
}

static void delivered(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
	struct pending_line *pl = m->_private;
	(void)rk;
	(void)opaque;
	if (m->err) {
		/* After librdkafka's own retries: this line's job must run again,
		 * so no ack; the caller exits 111 and the job is redelivered. */
		log_error("send to %s failed: %s", rd_kafka_topic_name(m->rkt), rd_kafka_err2str(m->err));
		pl->failed = 1;
		pl->p->fatal = 1;
	} else {
		log_debug("delivered to %s[%d]@%lld", rd_kafka_topic_name(m->rkt), (int)m->partition,
			  (long long)m->offset);
	}
	if (--pl->messages == 0)
		line_settled(pl);
}

static void send_msg(struct pending_line *pl, const char *topic, const char *key, const cJSON *value,
		 rd_kafka_headers_t *headers)
{
	char *text = cJSON_PrintUnformatted(value);
	if (text == NULL)
		die(EXIT_TEMPORARY, "out of memory");
	pl->messages++;
	rd_kafka_resp_err_t e;
	for (;;) {
		e = rd_kafka_producev(pl->p->rk, RD_KAFKA_V_TOPIC(topic),
				      RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_FREE),
				      RD_KAFKA_V_KEY(key, key ? strlen(key) : 0),
				      RD_KAFKA_V_VALUE(text, strlen(text)),
				      RD_KAFKA_V_HEADERS(headers), RD_KAFKA_V_OPAQUE(pl), RD_KAFKA_V_END);
		if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL)
			break;
		rd_kafka_poll(pl->p->rk, 100);	/* the local queue drains as the broker acks */
	}
	if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
		log_error("send to %s: %s", topic, rd_kafka_err2str(e));
		free(text);
		if (headers)
			rd_kafka_headers_destroy(headers);
		pl->messages--;
		pl->failed = 1;
		pl->p->fatal = 1;
	}
}

static const struct lane *lane_of(const struct kproduce *p, const cJSON *meta)
{
	const struct lane *l = lane_find(jsonx_str(meta, "lane"));
	return l ? l : p->lane;
}

static void set_header(rd_kafka_headers_t *h, const char *name, const char *value)
{
	if (value == NULL)
		return;
	rd_kafka_header_remove(h, name);
	rd_kafka_header_add(h, name, -1, value, -1);
}

/* The job's headers, then extra (an object of strings), then where the
 * job came from. */
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
			set_header(h, item->string, item->valuestring);
	set_header(h, "x-original-topic", jsonx_str(meta, "topic"));
	item = cJSON_GetObjectItemCaseSensitive(meta, "partition");
	if (cJSON_IsNumber(item)) {
		snprintf(num, sizeof num, "%d", item->valueint);
		set_header(h, "x-original-partition", num);
	}
	item = cJSON_GetObjectItemCaseSensitive(meta, "offset");
	if (cJSON_IsNumber(item)) {
		snprintf(num, sizeof num, "%.0f", item->valuedouble);
		set_header(h, "x-original-offset", num);
	}
	set_header(h, "traceparent", jsonx_str(meta, "traceparent"));
	return h;
}

static void send_dlq(struct pending_line *pl, const cJSON *line, const cJSON *extra)
{
	const cJSON *meta = cJSON_GetObjectItemCaseSensitive(line, "meta");
	cJSON *job = job_bare(line);
	send_msg(pl, lane_dlq_topic(), jsonx_str(meta, "key"), job, dlq_headers(line, extra));
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

static void send_result(struct pending_line *pl, const cJSON *line, const struct lane *l)
{
	const cJSON *meta = cJSON_GetObjectItemCaseSensitive(line, "meta");
	const cJSON *result = cJSON_GetObjectItemCaseSensitive(line, "result");
	const char *key = jsonx_str(result, l->id_field);
	const char *tp = jsonx_str(meta, "traceparent");
	rd_kafka_headers_t *h = NULL;
	if (key == NULL)
		key = jsonx_str(line, l->id_field);
	if (tp) {
		h = rd_kafka_headers_new(1);
		rd_kafka_header_add(h, "traceparent", -1, tp, -1);
	}
	if (key && pl->result_id == NULL) {
		pl->result_id = xstrdup(key);
		pl->lane = l;
	}
	send_msg(pl, l->results_topic, key, result, h);
}

/* Sends what the line asks for (docs/pipeline.md); a line that asks for
 * nothing (a stored retry) only needs its acknowledgement. */
static void route(struct pending_line *pl, const cJSON *line, const struct lane *l)
{
	const cJSON *error = cJSON_GetObjectItemCaseSensitive(line, "error");
	const cJSON *dlq = cJSON_GetObjectItemCaseSensitive(line, "dlq");
	const cJSON *result = cJSON_GetObjectItemCaseSensitive(line, "result");
	if (cJSON_HasObjectItem(line, "retry"))
		return;	/* stored in Redis: nothing to send */
	if (dlq) {
		send_dlq(pl, line, cJSON_GetObjectItemCaseSensitive(dlq, "headers"));
		if (cJSON_IsObject(result) && l)
			send_result(pl, line, l);
		return;
	}
	if (error) {
		cJSON *h = error_headers(error);
		send_dlq(pl, line, h);
		cJSON_Delete(h);
		return;
	}
	if (!cJSON_IsObject(result))
		log_job(LOG_WARN, line, "line without result, error, retry or dlq: only acknowledged");
	else if (l == NULL)
		log_job(LOG_ERROR, line, "a result with no lane (no meta.lane, no --lane) was dropped");
	else
		send_result(pl, line, l);
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

void kproduce_line(struct kproduce *p, const char *text, size_t len)
{
	cJSON *line = jsonx_parse_line(text, len);
	if (!cJSON_IsObject(line)) {
		log_error("produce: a line that is not a JSON object was dropped (%zu bytes)", len);
		cJSON_Delete(line);
		return;
	}
	const cJSON *meta = cJSON_GetObjectItemCaseSensitive(line, "meta");
	const struct lane *l = lane_of(p, meta);
	struct pending_line *pl = xcalloc(1, sizeof *pl);
	pl->p = p;
	set_origin(pl, meta);
	p->lines_pending++;
	pl->messages = 1;	/* held until route() has sent everything */
	route(pl, line, l);
	log_job(LOG_INFO, line, "produced");
	cJSON_Delete(line);
	if (--pl->messages == 0)
		line_settled(pl);
}

int kproduce_open(struct kproduce *p, const struct kafka_opts *ko, const struct lane *lane,
		  kproduce_ack_fn *ack, void *ack_arg, char *err, size_t errlen)
{
	static const char *const defaults[] = {
		"enable.idempotence", "true", "acks", "all", "linger.ms", "5", NULL};
	char rderr[512];
	memset(p, 0, sizeof *p);
	p->lane = lane;
	p->ack = ack;
	p->ack_arg = ack_arg;
	rd_kafka_conf_t *conf = kafka_conf(ko, defaults, err, errlen);
	if (conf == NULL)
		return -1;
	rd_kafka_conf_set_dr_msg_cb(conf, delivered);
	p->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, rderr, sizeof rderr);
	if (p->rk == NULL) {
		snprintf(err, errlen, "%s", rderr);
		rd_kafka_conf_destroy(conf);
		return -1;
	}
	if (pipe2(p->evfd, O_NONBLOCK | O_CLOEXEC) != 0) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		return -1;
	}
	rd_kafka_queue_t *q = rd_kafka_queue_get_main(p->rk);
	rd_kafka_queue_io_event_enable(q, p->evfd[1], "1", 1);
	rd_kafka_queue_destroy(q);
	return 0;
}

int kproduce_fd(const struct kproduce *p)
{
	return p->evfd[0];
}

void kproduce_poll(struct kproduce *p)
{
	char buf[64];
	while (read(p->evfd[0], buf, sizeof buf) > 0)
		;
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
	close(p->evfd[0]);
	close(p->evfd[1]);
}
