#include "kconsume.h"

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

/* Where a message came from: the DLQ producer's per-message opaque. */
struct origin {
	char *topic;
	int32_t partition;
	int64_t offset;
};

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
	if (offsets_done(c->offs, topic, partition, offset, &next))
		store(c, topic, partition, next);
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
		c->fatal = 1;
	} else {
		kconsume_ack(c, o->topic, o->partition, o->offset);
	}
	free(o->topic);
	free(o);
}

static void add_header(rd_kafka_headers_t *h, const char *name, const char *value)
{
	rd_kafka_header_remove(h, name);
	rd_kafka_header_add(h, name, -1, value, -1);
}

/* Sends a message that is no job to the dead-letter topic, with why. */
static void poison(struct kconsume *c, const rd_kafka_message_t *m, const char *code,
		   const char *message)
{
	rd_kafka_headers_t *orig = NULL, *h;
	char part[16], off[32];
	const char *topic = rd_kafka_topic_name(m->rkt);
	struct origin *o = xcalloc(1, sizeof *o);
	*o = (struct origin){xstrdup(topic), m->partition, m->offset};
	h = rd_kafka_message_headers(m, &orig) == RD_KAFKA_RESP_ERR_NO_ERROR
		    ? rd_kafka_headers_copy(orig) : rd_kafka_headers_new(6);
	snprintf(part, sizeof part, "%d", (int)m->partition);
	snprintf(off, sizeof off, "%lld", (long long)m->offset);
	add_header(h, "x-error", code);
	add_header(h, "x-error-message", message);
	add_header(h, "x-original-topic", topic);
	add_header(h, "x-original-partition", part);
	add_header(h, "x-original-offset", off);
	offsets_out(c->offs, topic, m->partition, m->offset);
	log_warn("%s[%d]@%lld to %s: %s: %s", topic, (int)m->partition, (long long)m->offset,
		 lane_dlq_topic(), code, message);
	rd_kafka_resp_err_t e = rd_kafka_producev(c->dlq,
		RD_KAFKA_V_TOPIC(lane_dlq_topic()), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
		RD_KAFKA_V_KEY(m->key, m->key_len), RD_KAFKA_V_VALUE(m->payload, m->len),
		RD_KAFKA_V_HEADERS(h), RD_KAFKA_V_OPAQUE(o), RD_KAFKA_V_END);
	if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
		log_error("dead-letter send: %s", rd_kafka_err2str(e));
		rd_kafka_headers_destroy(h);
		free(o->topic);
		free(o);
		c->fatal = 1;
	}
}

static cJSON *make_meta(const struct kconsume *c, const rd_kafka_message_t *m)
{
	cJSON *meta = cJSON_CreateObject(), *headers = kafka_headers_json(m);
	const char *retries = jsonx_str(headers, "x-retry-count");
	const char *first = jsonx_str(headers, "x-first-seen");
	const char *tp = jsonx_str(headers, "traceparent");
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
	cJSON_AddItemToObject(meta, "headers", headers);
	if (tp)
		cJSON_AddStringToObject(meta, "traceparent", tp);
	else
		cJSON_AddNullToObject(meta, "traceparent");
	cJSON_AddNumberToObject(meta, "attempt", (double)(n + 1));
	cJSON_AddNumberToObject(meta, "firstSeen", (double)seen);
	return meta;
}

static void emit(struct kconsume *c, const rd_kafka_message_t *m, cJSON *line)
{
	const char *topic = rd_kafka_topic_name(m->rkt);
	jsonx_set(line, "meta", make_meta(c, m));
	char *text = cJSON_PrintUnformatted(line);
	if (text == NULL)
		die(EXIT_TEMPORARY, "out of memory");
	outbuf_put(c->out, text, strlen(text));
	outbuf_put(c->out, "\n", 1);
	free(text);
	offsets_out(c->offs, topic, m->partition, m->offset);
	log_job(LOG_INFO, line, "consumed %s[%d]@%lld", topic, (int)m->partition, (long long)m->offset);
	c->emitted++;
	if (!c->opt.acked)	/* nobody will acknowledge: written is done */
		kconsume_ack(c, topic, m->partition, m->offset);
	if (c->opt.count > 0 && c->emitted >= c->opt.count)
		kconsume_stop(c);
}

static void handle(struct kconsume *c, const rd_kafka_message_t *m)
{
	char msg[256];
	const char *code;
	struct job j;
	if (m->len > c->opt.max_bytes) {
		snprintf(msg, sizeof msg, "message of %zu bytes over the cap of %zu", m->len, c->opt.max_bytes);
		poison(c, m, "oversized", msg);
		return;
	}
	char *text = xstrndup(m->payload ? m->payload : "", m->len);
	cJSON *line = strlen(text) == m->len ? jsonx_parse_line(text, m->len) : NULL;
	free(text);
	if (!cJSON_IsObject(line)) {
		cJSON_Delete(line);
		poison(c, m, "invalid-json", "the value is not a JSON object");
		return;
	}
	/* A job bringing a stage's section would be taken for that stage's
	 * verdict on it (its own "retry": never produced). */
	const char *section = job_section_of(line);
	if (section) {
		snprintf(msg, sizeof msg, "a job may not carry a \"%s\" section", section);
		cJSON_Delete(line);
		poison(c, m, "invalid-job", msg);
		return;
	}
	if (job_parse(&j, line, c->table, &code, msg, sizeof msg) != 0) {
		poison(c, m, code, msg);
		job_free(&j);
		return;
	}
	const char *id = jsonx_str(j.line, c->opt.lane->id_field);
	if (id == NULL || strcmp(job_mode_name(j.mode), c->opt.lane->name) != 0) {
		snprintf(msg, sizeof msg, "a %s job with%s %s does not belong to the %s lane",
			 job_mode_name(j.mode), id ? "" : "out", c->opt.lane->id_field, c->opt.lane->name);
		poison(c, m, "invalid-job", msg);
		job_free(&j);
		return;
	}
	if (c->dedupe && dedupe_seen(c->dedupe, c->opt.lane->name, id)) {
		log_job(LOG_INFO, j.line, "skipped %s[%d]@%lld: it has a result already",
			rd_kafka_topic_name(m->rkt), (int)m->partition, (long long)m->offset);
		offsets_out(c->offs, rd_kafka_topic_name(m->rkt), m->partition, m->offset);
		kconsume_ack(c, rd_kafka_topic_name(m->rkt), m->partition, m->offset);
		job_free(&j);
		return;
	}
	emit(c, m, j.line);
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
	offsets_free(c->offs);
	if (c->evfd[0] > 0) {
		close(c->evfd[0]);
		close(c->evfd[1]);
	}
	memset(c, 0, sizeof *c);
}
