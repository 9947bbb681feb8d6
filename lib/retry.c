#include "retry.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "answer.h"
#include "jobline.h"
#include "jsonx.h"
#include "kafka.h"
#include "lane.h"
#include "log.h"
#include "util.h"
#include "caps.h"

/* ---- the Lua scripts ---- */

/* KEYS[1] the set; ARGV: cap, score, entry. 1 added, 0 there already (a
 * retried call whose first reply was lost), -1 the set is full. */
struct redis_script retry_lua_schedule = REDIS_SCRIPT(
	"if redis.call('ZSCORE', KEYS[1], ARGV[3]) then return 0 end\n"
	"if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then return -1 end\n"
	"redis.call('ZADD', KEYS[1], ARGV[2], ARGV[3])\n"
	"return 1\n");

/* KEYS: the set, the in-flight set; ARGV: now, most, visible again at.
 * Moves the due entries and returns them. */
struct redis_script retry_lua_claim = REDIS_SCRIPT(
	"local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[2])\n"
	"for _, m in ipairs(due) do\n"
	"  redis.call('ZREM', KEYS[1], m)\n"
	"  redis.call('ZADD', KEYS[2], ARGV[3], m)\n"
	"end\n"
	"return due\n");

/* KEYS: the set, the in-flight set; ARGV: now, most. Puts in-flight
 * entries whose time-out passed back, due now; returns how many. */
struct redis_script retry_lua_reap = REDIS_SCRIPT(
	"local old = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', '(' .. ARGV[1], 'LIMIT', 0, ARGV[2])\n"
	"for _, m in ipairs(old) do\n"
	"  redis.call('ZREM', KEYS[2], m)\n"
	"  redis.call('ZADD', KEYS[1], ARGV[1], m)\n"
	"end\n"
	"return #old\n");

/* KEYS: the set, the in-flight set; ARGV: delivered entries. Removes
 * them from both: one reaped back before its acknowledgement came is
 * not sent again. */
struct redis_script retry_lua_ack = REDIS_SCRIPT(
	"local n = 0\n"
	"for _, m in ipairs(ARGV) do\n"
	"  n = n + redis.call('ZREM', KEYS[2], m) + redis.call('ZREM', KEYS[1], m)\n"
	"end\n"
	"return n\n");

/* ---- configuration, backoff, ids ---- */

int retry_parse_seconds(const char *s, double min, double max, double *out)
{
	char *end;
	if (s == NULL || *s < '0' || *s > '9' || strpbrk(s, "eExXnN") != NULL)
		return -1;
	errno = 0;
	double v = strtod(s, &end);
	if (errno != 0 || *end != '\0' || end[-1] == '.' || !(v >= min && v <= max))
		return -1;
	*out = v;
	return 0;
}

static int env_int(const char *name, int64_t min, int64_t max, int64_t *out,
		   char *err, size_t errlen)
{
	const char *v = getenv(name);
	if (v == NULL || *v == '\0')
		return 0;
	if (parse_i64(v, min, max, out) == 0)
		return 0;
	snprintf(err, errlen, "%s=%s is not a whole number in %lld-%lld", name, v,
		 (long long)min, (long long)max);
	return -1;
}

static int env_seconds(const char *name, double *out, char *err, size_t errlen)
{
	const char *v = getenv(name);
	if (v == NULL || *v == '\0')
		return 0;
	if (retry_parse_seconds(v, 0.001, 1e9, out) == 0)
		return 0;
	snprintf(err, errlen, "%s=%s is not a number of seconds (0.001 or more)", name, v);
	return -1;
}

int retry_conf_init(struct retry_conf *c, char *err, size_t errlen)
{
	*c = (struct retry_conf){.max_retries = 3, .cap = 100000, .base_s = 5,
				 .max_s = 600, .key = "RETRY_QUEUE"};
	if (env_int("KAFKA_MAX_RETRIES", 0, RETRY_MAX_ATTEMPT, &c->max_retries, err, errlen) != 0 ||
	    env_int("KAFKA_RETRY_QUEUE_CAP", 0, INT64_MAX, &c->cap, err, errlen) != 0 ||
	    env_seconds("KAFKA_RETRY_BASE_SECONDS", &c->base_s, err, errlen) != 0 ||
	    env_seconds("KAFKA_RETRY_MAX_SECONDS", &c->max_s, err, errlen) != 0)
		return -1;
	return 0;
}

double retry_delay(const struct retry_conf *c, int64_t attempt, double u)
{
	double d = ldexp(c->base_s, (int)(attempt < 1 ? 0 : attempt > 1000 ? 1000 : attempt - 1));
	if (d > c->max_s)
		d = c->max_s;
	return d + u * 0.1 * d;
}

static void random_bytes(void *buf, size_t n)
{
	static uint64_t counter;
	if (getrandom(buf, n, 0) == (ssize_t)n)
		return;
	/* No entropy yet (early boot): unique is what matters here. */
	uint64_t x = (uint64_t)now_wall_ms() ^ ((uint64_t)getpid() << 40) ^ ++counter;
	for (size_t i = 0; i < n; i++, x = x * 6364136223846793005ULL + 1442695040888963407ULL)
		((unsigned char *)buf)[i] = (unsigned char)(x >> 56);
}

double retry_random(void)
{
	uint64_t x;
	random_bytes(&x, sizeof x);
	return (double)(x >> 11) * 0x1.0p-53;
}

void retry_new_id(char *out)
{
	unsigned char b[RETRY_ID_LEN / 2];
	random_bytes(b, sizeof b);
	for (size_t i = 0; i < sizeof b; i++)
		snprintf(out + 2 * i, 3, "%02x", b[i]);
}

/* ---- reading a line ---- */

static int read_attempt(const cJSON *meta, int64_t *out)
{
	const cJSON *a = cJSON_GetObjectItemCaseSensitive(meta, "attempt");
	*out = 1;
	if (a == NULL || cJSON_IsNull(a))
		return 0;
	if (!cJSON_IsNumber(a) || a->valuedouble != floor(a->valuedouble) ||
	    a->valuedouble < 1 || a->valuedouble > RETRY_MAX_ATTEMPT)
		return -1;
	*out = (int64_t)a->valuedouble;
	return 0;
}

static void read_first_seen(const cJSON *meta, char *out, size_t outlen)
{
	const cJSON *f = cJSON_GetObjectItemCaseSensitive(meta, "firstSeen");
	int64_t n;
	if (cJSON_IsNumber(f) && f->valuedouble >= 0 && f->valuedouble < 1e15)
		snprintf(out, outlen, "%lld", (long long)floor(f->valuedouble));
	else if (cJSON_IsString(f) && parse_i64(f->valuestring, 0, INT64_MAX, &n) == 0)
		snprintf(out, outlen, "%lld", (long long)n);
	else
		snprintf(out, outlen, "%lld", (long long)(now_wall_ms() / 1000));
}

static int is_infrastructure(const cJSON *line)
{
	const cJSON *error = cJSON_GetObjectItemCaseSensitive(line, "error");
	const char *kind = jsonx_str(error, "kind");
	return kind && strcmp(kind, "infrastructure") == 0;
}

static const char *error_message(const cJSON *line)
{
	const cJSON *error = cJSON_GetObjectItemCaseSensitive(line, "error");
	const char *m = jsonx_str(error, "message");
	if (m == NULL || *m == '\0')
		m = jsonx_str(error, "code");
	return m ? m : "infrastructure failure";
}

enum retry_kind retry_plan_line(const cJSON *line, struct retry_plan *p,
				char *why, size_t whylen)
{
	const struct lane *lane;
	memset(p, 0, sizeof *p);
	if (!is_infrastructure(line))
		return RETRY_KIND_PASS;
	p->meta = cJSON_GetObjectItemCaseSensitive(line, "meta");
	p->lane = jsonx_str(p->meta, "lane");
	p->topic = jsonx_str(p->meta, "topic");
	p->message = error_message(line);
	lane = lane_find(p->lane);
	if ((p->topic == NULL || *p->topic == '\0') && lane)
		p->topic = lane->jobs_topic;
	if (!cJSON_IsObject(p->meta))
		snprintf(why, whylen, "no meta section");
	else if (p->topic == NULL || *p->topic == '\0')
		snprintf(why, whylen, "no meta.topic and no known meta.lane");
	else if (read_attempt(p->meta, &p->attempt) != 0)
		snprintf(why, whylen, "meta.attempt is not a whole number in 1-%d", RETRY_MAX_ATTEMPT);
	else {
		read_first_seen(p->meta, p->first_seen, sizeof p->first_seen);
		return RETRY_KIND_RETRY;
	}
	return RETRY_KIND_UNUSABLE;
}

/* ---- making entries and sections ---- */

cJSON *retry_job_of(const cJSON *line)
{
	return job_bare(line);
}

/* Prints obj unformatted; the caller frees. */
static char *print_or_die(const cJSON *obj)
{
	char *s = cJSON_PrintUnformatted(obj);
	if (s == NULL)
		die(EXIT_TEMPORARY, "out of memory printing JSON");
	return s;
}

static cJSON *entry_headers(const struct retry_plan *p)
{
	const cJSON *h = cJSON_GetObjectItemCaseSensitive(p->meta, "headers");
	cJSON *out = cJSON_IsObject(h) ? cJSON_Duplicate(h, 1) : cJSON_CreateObject();
	char count[24];
	snprintf(count, sizeof count, "%lld", (long long)p->attempt);
	jsonx_set(out, "x-retry-count", cJSON_CreateString(count));
	jsonx_set(out, "x-first-seen", cJSON_CreateString(p->first_seen));
	if (p->trace.traceparent)
		jsonx_set(out, "traceparent", cJSON_CreateString(p->trace.traceparent));
	if (p->trace.tracestate)
		jsonx_set(out, "tracestate", cJSON_CreateString(p->trace.tracestate));
	return out;
}

char *retry_entry_new(const cJSON *line, const struct retry_plan *p, const char *id)
{
	cJSON *e = cJSON_CreateObject(), *job = retry_job_of(line);
	const char *key = jsonx_str(p->meta, "key");
	char *value = print_or_die(job), *text;
	cJSON_AddStringToObject(e, "topic", p->topic);
	if (key)
		cJSON_AddStringToObject(e, "key", key);
	else
		cJSON_AddNullToObject(e, "key");
	cJSON_AddStringToObject(e, "value", value);
	cJSON_AddItemToObject(e, "headers", entry_headers(p));
	cJSON_AddStringToObject(e, "firstSeen", p->first_seen);
	cJSON_AddStringToObject(e, "id", id);
	text = print_or_die(e);
	free(value);
	cJSON_Delete(job);
	cJSON_Delete(e);
	return text;
}

void retry_add_dlq(cJSON *line, const struct retry_plan *p, const char *x_error)
{
	cJSON *dlq = cJSON_CreateObject();
	cJSON *h = cJSON_AddObjectToObject(dlq, "headers");
	cJSON_AddStringToObject(h, "x-error", x_error);
	if (strcmp(x_error, "max-retries-reached") == 0) {
		char count[24];
		snprintf(count, sizeof count, "%lld", (long long)(p->attempt - 1));
		cJSON_AddStringToObject(h, "x-retry-count", count);
		cJSON_AddStringToObject(h, "x-first-seen", p->first_seen);
	}
	jsonx_set(line, "dlq", dlq);
	const char *id;
	const cJSON *meta = cJSON_GetObjectItemCaseSensitive(line, "meta");
	cJSON *result = answer_message(line, p->lane, jsonx_str(meta, "key"), x_error, p->message, &id);
	if (result)
		jsonx_set(line, "result", result);
}

void retry_add_retry(cJSON *line, const struct retry_plan *p, double due)
{
	cJSON *r = cJSON_CreateObject();
	cJSON_AddNumberToObject(r, "attempt", (double)(p->attempt + 1));
	cJSON_AddNumberToObject(r, "due", due);
	jsonx_set(line, "retry", r);
}

/* ---- schedule ---- */

static void sleep_ms(int64_t ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* Adds entry to the set with score due. Returns 1 stored, 0 the set is
 * full, -1 Redis did not answer well before the deadline. */
static int store(struct retry_scheduler *s, const char *entry, double due)
{
	char cap[24], score[40];
	const char *argv[] = {s->conf.key, cap, score, entry};
	int64_t deadline = now_mono_ms() + s->redis_timeout_ms;
	snprintf(cap, sizeof cap, "%lld", (long long)s->conf.cap);
	snprintf(score, sizeof score, "%.3f", due);
	for (;;) {
		redisReply *rep = redis_eval(s->redis, &retry_lua_schedule, 1, 4, argv, NULL);
		if (rep && rep->type == REDIS_REPLY_INTEGER) {
			int full = rep->integer < 0;
			freeReplyObject(rep);
			return full ? 0 : 1;
		}
		if (rep) {
			log_error("redis %s: scheduling: %s", redis_where(s->redis),
				  rep->type == REDIS_REPLY_ERROR ? rep->str : "unexpected reply");
			freeReplyObject(rep);
		}
		int64_t left = deadline - now_mono_ms();
		if (left <= 0)
			return -1;
		int64_t wait = redis_retry_in_ms(s->redis);
		sleep_ms(wait < REDIS_BACKOFF_MIN_MS ? REDIS_BACKOFF_MIN_MS : wait > left ? left : wait);
	}
}

/* The span's context for the log line, or NULL. */
static const struct tracectx *span_ctx(const struct otel_span *span, struct tracectx *buf)
{
	return otel_span_context(span, buf) == 0 ? buf : NULL;
}

/* Dead-letters the line; ends span with x_error. */
static enum retry_outcome dead(cJSON *line, const struct retry_plan *p, const char *x_error,
			       struct otel_span *span)
{
	struct tracectx ctx;
	retry_add_dlq(line, p, x_error);
	otel_span_set_error(span, x_error, "to the dead-letter queue");
	log_job_ctx(LOG_WARN, line, span_ctx(span, &ctx), "attempt %lld: %s: to the dead-letter queue",
		    (long long)p->attempt, x_error);
	otel_span_end(span);
	return RETRY_DEAD;
}

/* The `retry schedule` span of a line: a Redis client call. */
static struct otel_span *schedule_span(const cJSON *line, const struct retry_plan *p)
{
	struct otel_span *span = jobtrace_start("retry schedule", OTEL_CLIENT, line);
	otel_span_set_str(span, "db.system", "redis");
	otel_span_set_str(span, "db.operation.name", "EVALSHA");
	otel_span_set_int(span, "codex.attempt", p->attempt);
	return span;
}

/* Stores the line's next attempt after delay seconds and says so in
 * the line; ends span. */
static enum retry_outcome store_retry(struct retry_scheduler *s, cJSON *line, struct retry_plan *p,
				      double delay, struct otel_span *span)
{
	char id[RETRY_ID_LEN + 1];
	struct tracectx ctx;
	struct otel_attr attrs[JOBTRACE_ATTRS];
	double due = round((double)now_wall_ms() + delay * 1000) / 1000;
	otel_span_set_int(span, "codex.retry.delay_ms", (int64_t)llround(delay * 1000));
	jobtrace_headers(&p->trace, span, line);
	retry_new_id(id);
	char *entry = retry_entry_new(line, p, id);
	int rc = store(s, entry, due);
	free(entry);
	if (rc < 0) {
		otel_span_set_error(span, "redis_unreachable", "Redis did not answer in time");
		otel_span_end(span);
		return RETRY_UNREACHABLE;
	}
	if (rc == 0)
		return dead(line, p, "retry-queue-capacity", span);
	retry_add_retry(line, p, due);
	log_job_ctx(LOG_INFO, line, span_ctx(span, &ctx),
		    "retry scheduled: attempt %lld failed (%s): retry %lld in %.3f s",
		    (long long)p->attempt, p->message, (long long)p->attempt + 1, delay);
	otel_span_end(span);
	otel_metric_add(s->scheduled, 1, attrs, jobtrace_attrs(line, attrs));
	return RETRY_SCHEDULED;
}

enum retry_outcome retry_schedule_line(struct retry_scheduler *s, cJSON *line)
{
	struct retry_plan p;
	char why[128];
	switch (retry_plan_line(line, &p, why, sizeof why)) {
	case RETRY_KIND_PASS:
		return RETRY_PASSED;
	case RETRY_KIND_UNUSABLE:
		log_job(LOG_WARN, line, "no retry: %s; passed on for the dead-letter queue", why);
		return RETRY_PASSED;
	case RETRY_KIND_RETRY:
		break;
	}
	struct otel_span *span = schedule_span(line, &p);
	if (p.attempt > s->conf.max_retries)
		return dead(line, &p, "max-retries-reached", span);
	return store_retry(s, line, &p, retry_delay(&s->conf, p.attempt, retry_random()), span);
}

enum retry_outcome retry_schedule_text(struct retry_scheduler *s, const char *text,
				       size_t len, int oversized, cJSON **out)
{
	enum retry_outcome r;
	*out = NULL;
	if (oversized) {
		char msg[64];
		snprintf(msg, sizeof msg, "the line is longer than %d bytes", CAP_RESULT_LINE);
		log_warn("%s", msg);
		*out = jsonx_unparsable(text, len, "oversized", msg);
		return RETRY_INVALID;
	}
	if (strspn(text, " \t\r") == len)
		return RETRY_SKIPPED;
	cJSON *line = jsonx_parse_line(text, len);
	if (!cJSON_IsObject(line)) {
		cJSON_Delete(line);
		log_warn("a line is not a JSON object");
		*out = jsonx_unparsable(text, len, "invalid-json", "the line is not a JSON object");
		return RETRY_INVALID;
	}
	r = retry_schedule_line(s, line);
	if (r == RETRY_SCHEDULED || r == RETRY_DEAD)
		*out = line;
	else
		cJSON_Delete(line);
	return r;
}

/* ---- reading entries ---- */

/* A header value: a string, or KafkaJS's JSON of a Buffer. NULL: neither.
 * The caller frees. */
static char *header_value(const cJSON *v)
{
	const cJSON *data = cJSON_GetObjectItemCaseSensitive(v, "data");
	const char *type = jsonx_str(v, "type");
	if (cJSON_IsString(v))
		return xstrdup(v->valuestring);
	if (type == NULL || strcmp(type, "Buffer") != 0 || !cJSON_IsArray(data))
		return NULL;
	size_t n = (size_t)cJSON_GetArraySize(data), i = 0;
	char *bytes = xmalloc(n + 1), *s;
	const cJSON *b;
	cJSON_ArrayForEach(b, data) {
		if (!cJSON_IsNumber(b) || b->valuedouble < 0 || b->valuedouble > 255 ||
		    b->valuedouble != floor(b->valuedouble)) {
			free(bytes);
			return NULL;
		}
		bytes[i++] = (char)(int)b->valuedouble;
	}
	s = jsonx_utf8(bytes, n);
	free(bytes);
	return s;
}

static cJSON *normalize_headers(const cJSON *h)
{
	cJSON *out = cJSON_CreateObject();
	const cJSON *v;
	cJSON_ArrayForEach(v, h) {
		char *s = header_value(v);
		if (s)
			jsonx_set(out, v->string, cJSON_CreateString(s));
		free(s);
	}
	return out;
}

static int entry_fail(struct retry_entry *e, char *err, size_t errlen, const char *why)
{
	snprintf(err, errlen, "%s", why);
	retry_entry_free(e);
	return -1;
}

int retry_entry_parse(const char *text, size_t len, struct retry_entry *e,
		      char *err, size_t errlen)
{
	const cJSON *key, *value, *headers;
	memset(e, 0, sizeof *e);
	e->root = jsonx_parse_line(text, len);
	if (!cJSON_IsObject(e->root))
		return entry_fail(e, err, errlen, "not a JSON object");
	key = cJSON_GetObjectItemCaseSensitive(e->root, "key");
	value = cJSON_GetObjectItemCaseSensitive(e->root, "value");
	headers = cJSON_GetObjectItemCaseSensitive(e->root, "headers");
	e->topic = jsonx_str(e->root, "topic");
	if (e->topic == NULL || *e->topic == '\0')
		return entry_fail(e, err, errlen, "no topic");
	if (key && !cJSON_IsNull(key) && !cJSON_IsString(key))
		return entry_fail(e, err, errlen, "key is neither a string nor null");
	if (!cJSON_IsString(value))
		return entry_fail(e, err, errlen, "value is not a string");
	if (headers && !cJSON_IsNull(headers) && !cJSON_IsObject(headers))
		return entry_fail(e, err, errlen, "headers is not an object");
	e->key = cJSON_IsString(key) ? key->valuestring : NULL;
	e->value = value->valuestring;
	e->headers = normalize_headers(headers);
	return 0;
}

void retry_entry_free(struct retry_entry *e)
{
	cJSON_Delete(e->root);
	cJSON_Delete(e->headers);
	memset(e, 0, sizeof *e);
}

/* ---- the mover ---- */

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

/* librdkafka's levels are syslog's (0 emerg .. 7 debug); <syslog.h> is
 * not included: its LOG_INFO would clash with log.h's. */
static enum log_level pino_level(int syslog_level)
{
	if (syslog_level <= 3)
		return LOG_ERROR;
	if (syslog_level == 4)
		return LOG_WARN;
	return syslog_level <= 6 ? LOG_INFO : LOG_DEBUG;
}

static void on_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
	(void)rk;
	log_job(pino_level(level), NULL, "kafka: %s: %s", fac, buf);
}

static void set_callbacks(struct retry_mover *m, rd_kafka_conf_t *conf)
{
	rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
	rd_kafka_conf_set_error_cb(conf, on_error);
	rd_kafka_conf_set_log_cb(conf, on_log);
	rd_kafka_conf_set_opaque(conf, m);
}

int retry_mover_start(struct retry_mover *m, const struct kafka_opts *o,
		      char *err, size_t errlen)
{
	char timeout[24];
	const char *dflt[] = {"enable.idempotence", "true", "client.id", "retryd",
			      "message.timeout.ms", timeout, NULL};
	int64_t ms = (int64_t)(m->visibility_s * 500);
	snprintf(timeout, sizeof timeout, "%lld", (long long)(ms < 100 ? 100 : ms));
	rd_kafka_conf_t *conf = kafka_conf(o, dflt, err, errlen);
	if (conf == NULL)
		return -1;
	set_callbacks(m, conf);
	m->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, errlen);
	if (m->rk == NULL) {
		rd_kafka_conf_destroy(conf);
		return -1;
	}
	if (pipe2(m->event_pipe, O_NONBLOCK | O_CLOEXEC) != 0)
		die_sys(EXIT_TEMPORARY, "pipe");
	m->queue = rd_kafka_queue_get_main(m->rk);
	rd_kafka_queue_io_event_enable(m->queue, m->event_pipe[1], "!", 1);
	return 0;
}

int retry_mover_fd(const struct retry_mover *m)
{
	return m->event_pipe[0];
}

void retry_mover_poll(struct retry_mover *m)
{
	char drain[64];
	while (read(m->event_pipe[0], drain, sizeof drain) > 0)
		;
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
	rd_kafka_queue_destroy(m->queue);
	rd_kafka_destroy(m->rk);
	close(m->event_pipe[0]);
	close(m->event_pipe[1]);
	m->rk = NULL;
	m->queue = NULL;
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
