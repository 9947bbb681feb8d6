#include "redis/dedupe.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/util.h"

enum { DEDUPE_IO_MS = 500 };

int dedupe_open(struct dedupe *d, const char *url, char *err, size_t errlen)
{
	struct redis_url u;
	const char *ttl = getenv("KAFKA_IDEMPOTENCY_KEY_EXPIRY");
	memset(d, 0, sizeof *d);
	d->ttl_s = 86400;
	if (ttl && *ttl && parse_i64(ttl, 1, 100L * 365 * 86400, &d->ttl_s) != 0) {
		snprintf(err, errlen, "KAFKA_IDEMPOTENCY_KEY_EXPIRY: '%s' is not a number of seconds", ttl);
		return -1;
	}
	if (redis_url_parse(url, &u, err, errlen) != 0)
		return -1;
	redis_init(&d->redis, &u, DEDUPE_IO_MS);
	return 0;
}

static int key_of(char *buf, size_t len, const char *lane, const char *id)
{
	return snprintf(buf, len, "processed:%s:result:%s", lane, id) < (int)len;
}

int dedupe_seen(struct dedupe *d, const char *lane, const char *id)
{
	char key[600];
	if (id == NULL || !key_of(key, sizeof key, lane, id))
		return 0;
	const char *argv[] = {"EXISTS", key};
	redisReply *r = redis_command(&d->redis, 2, argv, NULL);
	int seen = r && r->type == REDIS_REPLY_INTEGER && r->integer > 0;
	if (r == NULL)
		log_warn("idempotency check skipped (%s): the job runs", d->redis.err);
	freeReplyObject(r);
	return seen;
}

void dedupe_mark(struct dedupe *d, const char *lane, const char *id)
{
	char key[600], ttl[32];
	if (id == NULL || !key_of(key, sizeof key, lane, id))
		return;
	snprintf(ttl, sizeof ttl, "%lld", (long long)d->ttl_s);
	const char *argv[] = {"SET", key, "1", "EX", ttl};
	redisReply *r = redis_command(&d->redis, 5, argv, NULL);
	if (r == NULL || r->type == REDIS_REPLY_ERROR)
		log_warn("idempotency key %s not set: %s", key, r ? r->str : d->redis.err);
	freeReplyObject(r);
}

void dedupe_close(struct dedupe *d)
{
	redis_close(&d->redis);
}
