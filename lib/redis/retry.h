/* retry: the retry stage of the pipeline (docs/pipeline.md, "Retries").
 *
 * Jobs that failed for a reason of the infrastructure wait in a Redis
 * sorted set (RETRY_QUEUE), scored by their due time in unix seconds, as
 * the platform's JSON entries. `retryd schedule` adds them
 * (retry_schedule_line()); the mover of `retryd run` claims the due ones
 * into RETRY_QUEUE:inflight with a Lua script, re-publishes them, and
 * removes each once Kafka acknowledged it (struct retry_mover). A mover
 * that dies loses nothing: the reaper puts in-flight entries whose
 * visibility time-out passed back into the set. */
#ifndef RETRY_H
#define RETRY_H

#include <stddef.h>
#include <stdint.h>
#include <cjson/cJSON.h>

#include "otel/jobtrace.h"
#include "otel/otel.h"
#include "redis/redis.h"

struct retry_conf {
	int64_t max_retries;	/* KAFKA_MAX_RETRIES, default 3 */
	int64_t cap;		/* KAFKA_RETRY_QUEUE_CAP, default 100000 */
	double base_s;		/* KAFKA_RETRY_BASE_SECONDS, default 5 */
	double max_s;		/* KAFKA_RETRY_MAX_SECONDS, default 600 */
	const char *key;	/* the sorted set, default RETRY_QUEUE (borrowed) */
};

enum {
	RETRY_MAX_ATTEMPT = 1000000,	/* a larger meta.attempt is not believed */
	RETRY_ID_LEN = 32,		/* hex digits of an entry's id */
};

/* The defaults, then the environment over them. Returns 0, or -1 with err
 * naming the variable whose value is not a number in range. */
int retry_conf_init(struct retry_conf *c, char *err, size_t errlen);

/* Parses a decimal number of seconds ("5", "0.5"; no sign, no exponent)
 * into [min, max]. Returns 0 or -1. */
int retry_parse_seconds(const char *s, double min, double max, double *out);

/* The delay before attempt `attempt` (1 for the first retry), in seconds:
 * min(base * 2^(attempt-1), max) plus u * 10 % of that, u in [0, 1). */
double retry_delay(const struct retry_conf *c, int64_t attempt, double u);

/* A uniform random number in [0, 1). */
double retry_random(void);

/* RETRY_ID_LEN random hex digits and a NUL into out. */
void retry_new_id(char *out);

/* ---- schedule ---- */

/* What retry_plan_line() makes of a line. */
enum retry_kind {
	RETRY_KIND_PASS,	/* no infrastructure error: not ours */
	RETRY_KIND_UNUSABLE,	/* ours, but without a usable meta section */
	RETRY_KIND_RETRY,	/* to be scheduled (or dead-lettered) */
};

/* An infrastructure error line, read. Strings are borrowed from the line. */
struct retry_plan {
	const cJSON *meta;
	const char *lane;	/* meta.lane, NULL when absent */
	const char *topic;	/* meta.topic, else the lane's jobs topic */
	const char *message;	/* error.message, else error.code */
	int64_t attempt;	/* meta.attempt, 1 when absent */
	char first_seen[32];	/* meta.firstSeen in unix seconds, else now */
	/* The entry's traceparent and tracestate headers, when set (by
	 * retry_schedule_line: its span's context, else the line's); else
	 * the job's own headers are kept. */
	struct jobtrace_headers trace;
};

/* Reads line into *p. Returns the kind; for RETRY_KIND_UNUSABLE `why`
 * says what is missing. */
enum retry_kind retry_plan_line(const cJSON *line, struct retry_plan *p,
				char *why, size_t whylen);

/* The job of a line: a copy without meta, exec, error, result, retry and
 * dlq. The caller deletes it. */
cJSON *retry_job_of(const cJSON *line);

/* The platform's entry for the line's next attempt, with a unique id:
 * {"topic","key","value","headers","firstSeen","id"}; headers are the
 * job's, x-retry-count, x-first-seen, and p->trace. The caller frees. */
char *retry_entry_new(const cJSON *line, const struct retry_plan *p, const char *id);

/* Adds "dlq": {"headers": {"x-error": x_error, and for max-retries-reached
 * x-retry-count and x-first-seen}} and the internal_error "result". */
void retry_add_dlq(cJSON *line, const struct retry_plan *p, const char *x_error);

/* Adds "retry": {"attempt": p->attempt + 1, "due": due}. */
void retry_add_retry(cJSON *line, const struct retry_plan *p, double due);

struct retry_scheduler {
	struct retry_conf conf;
	struct redis *redis;		/* borrowed */
	int64_t redis_timeout_ms;	/* how long Redis may stay down for one line */
	struct otel_metric *scheduled;	/* codex.retries.scheduled; NULL: not counted */
};

enum retry_outcome {
	RETRY_SKIPPED,		/* a blank line: write nothing */
	RETRY_INVALID,		/* not a JSON object, or too long: an error line */
	RETRY_PASSED,		/* write the input bytes unchanged */
	RETRY_SCHEDULED,	/* stored; the line has "retry" */
	RETRY_DEAD,		/* the line has "dlq" and "result" */
	RETRY_UNREACHABLE,	/* Redis stayed down: do not write the line */
};

/* Schedules one parsed line (docs/pipeline.md, "Retries"), adding to it
 * what the outcome says. Waits for Redis (reconnecting with backoff) up
 * to s->redis_timeout_ms. A `retry schedule` span (a child of the line's
 * meta.traceparent) covers it; its context is the entry's traceparent. */
enum retry_outcome retry_schedule_line(struct retry_scheduler *s, cJSON *line);

/* The same for an input line as line.h hands it out (text[len] is NUL),
 * parsed here: *out is the line to write (the caller deletes it) for
 * RETRY_INVALID, RETRY_SCHEDULED and RETRY_DEAD, else NULL. */
enum retry_outcome retry_schedule_text(struct retry_scheduler *s, const char *text,
				       size_t len, int oversized, cJSON **out);

/* ---- entries ---- */

/* A re-publishable entry, read from the set. */
struct retry_entry {
	cJSON *root;		/* owned */
	const char *topic;	/* borrowed from root, from here on */
	const char *key;	/* NULL: no key */
	const char *value;
	cJSON *headers;		/* owned: {"name":"value"}, string values only */
};

/* Reads an entry, ours or the platform's (no id; headers that KafkaJS
 * stored as {"type":"Buffer","data":[...]} are decoded). Returns 0, or -1
 * with err. On success free with retry_entry_free(). */
int retry_entry_parse(const char *text, size_t len, struct retry_entry *e,
		      char *err, size_t errlen);
void retry_entry_free(struct retry_entry *e);

/* The Lua scripts (exposed for the tests). */
extern struct redis_script retry_lua_schedule, retry_lua_claim, retry_lua_reap,
	retry_lua_ack;

#endif
