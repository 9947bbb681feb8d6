#include "redis/redis.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "core/log.h"
#include "core/util.h"

/* ---- URLs ---- */

/* Percent-decodes s[0..n) into out (size outlen). Returns 0, or -1 when
 * it does not fit, has a bad escape, or decodes to a NUL. */
static int pct_decode(const char *s, size_t n, char *out, size_t outlen)
{
	char *d = percent_decode(s, n);
	int fits = d && strlen(d) < outlen;
	if (fits)
		strcpy(out, d);
	free(d);
	return fits ? 0 : -1;
}

/* "[user]:password" of s[0..n). */
static int parse_userinfo(const char *s, size_t n, struct redis_url *u,
			  char *err, size_t errlen)
{
	const char *colon = memchr(s, ':', n);
	if (colon == NULL) {
		snprintf(err, errlen, "the user part must be [user]:password");
		return -1;
	}
	if (pct_decode(s, (size_t)(colon - s), u->user, sizeof u->user) != 0 ||
	    pct_decode(colon + 1, n - (size_t)(colon - s) - 1, u->password,
		       sizeof u->password) != 0) {
		snprintf(err, errlen, "bad user or password (too long or a bad %%-escape)");
		return -1;
	}
	return 0;
}

/* "host[:port]" or "[v6addr][:port]" of s[0..n). */
static int parse_hostport(const char *s, size_t n, struct redis_url *u,
			  char *err, size_t errlen)
{
	const char *host = s, *port = NULL, *end = s + n;
	size_t hlen;
	if (n > 0 && s[0] == '[') {
		const char *close = memchr(s, ']', n);
		if (close == NULL || (close + 1 < end && close[1] != ':')) {
			snprintf(err, errlen, "bad [address]");
			return -1;
		}
		host = s + 1;
		hlen = (size_t)(close - host);
		port = close + 1 < end ? close + 2 : NULL;
	} else {
		const char *colon = memchr(s, ':', n);
		hlen = colon ? (size_t)(colon - s) : n;
		port = colon ? colon + 1 : NULL;
	}
	if (hlen == 0 || hlen >= sizeof u->host) {
		snprintf(err, errlen, "no host, or a host too long");
		return -1;
	}
	memcpy(u->host, host, hlen);
	u->host[hlen] = '\0';
	u->port = REDIS_DEFAULT_PORT;
	if (port != NULL) {
		char buf[16];
		int64_t v;
		snprintf(buf, sizeof buf, "%.*s", (int)(end - port), port);
		if (end - port >= (long)sizeof buf || parse_i64(buf, 1, 65535, &v) != 0) {
			snprintf(err, errlen, "the port is not a number in 1-65535");
			return -1;
		}
		u->port = (int)v;
	}
	return 0;
}

static int parse_db(const char *s, struct redis_url *u, char *err, size_t errlen)
{
	int64_t v;
	u->db = 0;
	if (*s == '\0')
		return 0;
	if (parse_i64(s, 0, 1 << 30, &v) != 0) {
		snprintf(err, errlen, "the database is not a number");
		return -1;
	}
	u->db = (int)v;
	return 0;
}

int redis_url_parse(const char *text, struct redis_url *u, char *err, size_t errlen)
{
	static const char scheme[] = "redis://";
	char sub[160];
	memset(u, 0, sizeof *u);
	if (strncmp(text, scheme, sizeof scheme - 1) != 0) {
		snprintf(err, errlen, "%s: not a redis:// URL (no TLS, no unix socket)", text);
		return -1;
	}
	const char *auth = text + sizeof scheme - 1;
	size_t alen = strcspn(auth, "/?#");
	const char *at = memrchr(auth, '@', alen);
	const char *hp = at ? at + 1 : auth;
	int rc = 0;
	if (auth[alen] == '?' || auth[alen] == '#') {
		snprintf(sub, sizeof sub, "options (?...) are not supported");
		rc = -1;
	}
	if (rc == 0 && at)
		rc = parse_userinfo(auth, (size_t)(at - auth), u, sub, sizeof sub);
	if (rc == 0)
		rc = parse_hostport(hp, alen - (size_t)(hp - auth), u, sub, sizeof sub);
	if (rc == 0 && auth[alen] == '/')
		rc = parse_db(auth + alen + 1, u, sub, sizeof sub);
	if (rc != 0)
		snprintf(err, errlen, "%s: %s", text, sub);
	return rc;
}

const char *redis_url_choose(const char *flag)
{
	const char *env = getenv("REDIS_URL");
	if (flag)
		return flag;
	return env && *env ? env : "redis://127.0.0.1:6379";
}

/* ---- connections ---- */

void redis_init(struct redis *r, const struct redis_url *u, int64_t io_timeout_ms)
{
	memset(r, 0, sizeof *r);
	r->url = *u;
	r->io_timeout_ms = io_timeout_ms;
	r->backoff_ms = REDIS_BACKOFF_MIN_MS;
}

int redis_open(struct redis *r, const char *url, int64_t io_timeout_ms,
	       char *err, size_t errlen)
{
	struct redis_url u;
	if (redis_url_parse(url, &u, err, errlen) != 0)
		return -1;
	redis_init(r, &u, io_timeout_ms);
	redis_connect(r);
	return 0;
}

const char *redis_where(const struct redis *r)
{
	static char buf[300];
	snprintf(buf, sizeof buf, "%s:%d/%d", r->url.host, r->url.port, r->url.db);
	return buf;
}

int64_t redis_retry_in_ms(const struct redis *r)
{
	int64_t left = r->retry_at_ms - now_mono_ms();
	return left > 0 ? left : 0;
}

void redis_close(struct redis *r)
{
	if (r->ctx)
		redisFree(r->ctx);
	r->ctx = NULL;
}

/* Logs the failure in r->err and starts the next backoff. Returns -1. */
static int backoff(struct redis *r)
{
	log_warn("redis %s: %s; next try in %lld ms", redis_where(r), r->err,
		 (long long)r->backoff_ms);
	r->retry_at_ms = now_mono_ms() + r->backoff_ms;
	r->backoff_ms *= 2;
	if (r->backoff_ms > REDIS_BACKOFF_MAX_MS)
		r->backoff_ms = REDIS_BACKOFF_MAX_MS;
	return -1;
}

/* The reply of a command on c, or NULL with r->err (the connection is
 * then unusable, or the server said no: both fail the handshake). */
static redisReply *handshake_step(struct redis *r, redisContext *c, int argc,
				  const char **argv)
{
	redisReply *rep = redisCommandArgv(c, argc, argv, NULL);
	if (rep == NULL) {
		snprintf(r->err, sizeof r->err, "%s: %s", argv[0], c->errstr);
		return NULL;
	}
	if (rep->type == REDIS_REPLY_ERROR) {
		snprintf(r->err, sizeof r->err, "%s: %s", argv[0], rep->str);
		freeReplyObject(rep);
		return NULL;
	}
	return rep;
}

/* AUTH and SELECT as the URL asks. Returns 0 or -1 with r->err. */
static int handshake(struct redis *r, redisContext *c)
{
	char db[16];
	const char *auth2[] = {"AUTH", r->url.password};
	const char *auth3[] = {"AUTH", r->url.user, r->url.password};
	const char *select[] = {"SELECT", db};
	redisReply *rep;
	snprintf(db, sizeof db, "%d", r->url.db);
	if (r->url.password[0]) {
		rep = r->url.user[0] ? handshake_step(r, c, 3, auth3) : handshake_step(r, c, 2, auth2);
		if (rep == NULL)
			return -1;
		freeReplyObject(rep);
	}
	if (r->url.db != 0) {
		if ((rep = handshake_step(r, c, 2, select)) == NULL)
			return -1;
		freeReplyObject(rep);
	}
	return 0;
}

static struct timeval ms_tv(int64_t ms)
{
	struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
	return tv;
}

int redis_connect(struct redis *r)
{
	if (r->ctx)
		return 0;
	if (redis_retry_in_ms(r) > 0)
		return -1;
	redisContext *c = redisConnectWithTimeout(r->url.host, r->url.port, ms_tv(r->io_timeout_ms));
	if (c == NULL)
		die(EXIT_TEMPORARY, "out of memory connecting to redis");
	if (c->err) {
		snprintf(r->err, sizeof r->err, "unable to connect: %s", c->errstr);
		redisFree(c);
		return backoff(r);
	}
	if (redisSetTimeout(c, ms_tv(r->io_timeout_ms)) != REDIS_OK || handshake(r, c) != 0) {
		if (r->err[0] == '\0')
			snprintf(r->err, sizeof r->err, "unable to set a time-out");
		redisFree(c);
		return backoff(r);
	}
	if (r->backoff_ms > REDIS_BACKOFF_MIN_MS)
		log_info("redis %s: connected again", redis_where(r));
	r->ctx = c;
	r->backoff_ms = REDIS_BACKOFF_MIN_MS;
	r->retry_at_ms = 0;
	r->err[0] = '\0';
	return 0;
}

/* One try on the open connection; NULL (connection closed, r->err) when
 * the server could not be reached. */
static redisReply *send_once(struct redis *r, int argc, const char **argv,
			     const size_t *lens)
{
	redisReply *rep = redisCommandArgv(r->ctx, argc, argv, lens);
	if (rep == NULL) {
		snprintf(r->err, sizeof r->err, "%s: %s", argv[0],
			 r->ctx->errstr[0] ? r->ctx->errstr : "connection lost");
		redis_close(r);
	}
	return rep;
}

redisReply *redis_command(struct redis *r, int argc, const char **argv,
			  const size_t *lens)
{
	int was_open = r->ctx != NULL;
	if (redis_connect(r) != 0)
		return NULL;
	redisReply *rep = send_once(r, argc, argv, lens);
	if (rep != NULL || !was_open)
		goto done;
	/* A connection that worked before: the server may have restarted. */
	log_warn("redis %s: %s; reconnecting", redis_where(r), r->err);
	if (redis_connect(r) != 0)
		return NULL;
	rep = send_once(r, argc, argv, lens);
done:
	if (rep == NULL)
		backoff(r);
	return rep;
}

/* cmd, first, nkeys, then argv: a new array the caller frees (lengths too). */
static void script_args(const char *cmd, const char *first, int nkeys, int argc,
			const char **argv, const size_t *lens, const char ***out,
			size_t **outlens, char *nbuf, size_t nbuflen)
{
	const char **a = xcalloc((size_t)argc + 3, sizeof *a);
	size_t *l = xcalloc((size_t)argc + 3, sizeof *l);
	snprintf(nbuf, nbuflen, "%d", nkeys);
	a[0] = cmd;
	a[1] = first;
	a[2] = nbuf;
	for (int i = 0; i < 3; i++)
		l[i] = strlen(a[i]);
	for (int i = 0; i < argc; i++) {
		a[i + 3] = argv[i];
		l[i + 3] = lens ? lens[i] : strlen(argv[i]);
	}
	*out = a;
	*outlens = l;
}

static redisReply *script_call(struct redis *r, const char *cmd, const char *first,
			       int nkeys, int argc, const char **argv, const size_t *lens)
{
	const char **a;
	size_t *l;
	char nbuf[16];
	script_args(cmd, first, nkeys, argc, argv, lens, &a, &l, nbuf, sizeof nbuf);
	redisReply *rep = redis_command(r, argc + 3, a, l);
	free(a);
	free(l);
	return rep;
}

/* SCRIPT LOAD into s->sha. Returns NULL when loaded, else the reply to
 * hand back (an error) or NULL with *failed set. */
static redisReply *script_load(struct redis *r, struct redis_script *s, int *failed)
{
	const char *argv[] = {"SCRIPT", "LOAD", s->src};
	redisReply *rep = redis_command(r, 3, argv, NULL);
	*failed = rep == NULL;
	if (rep == NULL || rep->type == REDIS_REPLY_ERROR)
		return rep;
	if (rep->type == REDIS_REPLY_STRING && rep->len == 40)
		memcpy(s->sha, rep->str, 41);
	freeReplyObject(rep);
	return NULL;
}

redisReply *redis_eval(struct redis *r, struct redis_script *s, int nkeys,
		       int argc, const char **argv, const size_t *lens)
{
	int failed = 0;
	redisReply *rep = NULL;
	if (s->sha[0] == '\0' && ((rep = script_load(r, s, &failed)) != NULL || failed))
		return rep;
	if (s->sha[0] != '\0') {
		rep = script_call(r, "EVALSHA", s->sha, nkeys, argc, argv, lens);
		if (rep == NULL || rep->type != REDIS_REPLY_ERROR ||
		    strncmp(rep->str, "NOSCRIPT", 8) != 0)
			return rep;
		freeReplyObject(rep);
	}
	return script_call(r, "EVAL", s->src, nkeys, argc, argv, lens);
}
