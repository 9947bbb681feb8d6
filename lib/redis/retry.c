#include "redis/retry.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "core/caps.h"
#include "core/jsonx.h"
#include "core/log.h"
#include "core/util.h"
#include "judge/answer.h"
#include "judge/jobline.h"
#include "judge/lane.h"

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
