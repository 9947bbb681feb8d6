/* dedupe: the platform's idempotency keys, processed:<lane>:result:<id>
 * with a TTL, so a redelivered job that already has a result is not run
 * again. Best effort by design: when Redis cannot be reached the job runs
 * (a duplicate result is bounded and identifiable; a lost job is not). */
#ifndef DEDUPE_H
#define DEDUPE_H

#include <stdint.h>

#include "redis/redis.h"

struct dedupe {
	struct redis redis;
	int64_t ttl_s;		/* KAFKA_IDEMPOTENCY_KEY_EXPIRY, default 86400 */
};

/* Connects lazily to url. Returns 0, or -1 with err (bad URL or TTL). */
int dedupe_open(struct dedupe *d, const char *url, char *err, size_t errlen);

/* 1 if lane/id already has a result, 0 if not or Redis is unreachable. */
int dedupe_seen(struct dedupe *d, const char *lane, const char *id);

/* Records that lane/id has a result (logged on failure). */
void dedupe_mark(struct dedupe *d, const char *lane, const char *id);

void dedupe_close(struct dedupe *d);

#endif
