/* redis: one Redis connection that survives restarts of the server.
 *
 * The URL is redis://[[user]:password@]host[:port][/db] (port 6379, db 0
 * by default; no TLS, no unix sockets). A connection is opened lazily;
 * a command that meets a broken connection reconnects at once and is sent
 * once more, so a server restart costs one command no error. When that
 * fails too, or a connection cannot be opened, the next attempt waits a
 * backoff (100 ms doubling to 2 s, reset by a success): redis_command()
 * fails at once until then, and redis_retry_in_ms() says how long.
 *
 * A command sent twice can run twice (the reply of the first may be what
 * was lost): send only commands that may. */
#ifndef REDIS_H
#define REDIS_H

#include <stddef.h>
#include <stdint.h>
#include <hiredis/hiredis.h>

enum {
	REDIS_BACKOFF_MIN_MS = 100,
	REDIS_BACKOFF_MAX_MS = 2000,
	REDIS_DEFAULT_PORT = 6379,
};

struct redis_url {
	char host[256];
	int port;
	int db;
	char user[128];		/* "" for the default user */
	char password[256];	/* "" for none */
};

struct redis {
	struct redis_url url;
	redisContext *ctx;	/* owned; NULL while disconnected */
	int64_t io_timeout_ms;	/* connect, and each command */
	int64_t backoff_ms;	/* the next wait after a failure */
	int64_t retry_at_ms;	/* monotonic: no connection attempt before */
	char err[256];		/* why the last call failed */
};

/* A Lua script run by EVALSHA, loaded on first use (SCRIPT LOAD) and sent
 * whole again (EVAL) when the server does not know it (NOSCRIPT: after a
 * restart or SCRIPT FLUSH). Define with REDIS_SCRIPT(src). */
struct redis_script {
	const char *src;
	char sha[41];		/* "" until loaded */
};
#define REDIS_SCRIPT(text) {.src = (text), .sha = ""}

/* Parses text into *u. Returns 0, or -1 with a message in err. */
int redis_url_parse(const char *text, struct redis_url *u, char *err, size_t errlen);

/* The URL to use: flag if not NULL, else REDIS_URL if set and not empty,
 * else redis://127.0.0.1:6379. Borrowed. */
const char *redis_url_choose(const char *flag);

/* Sets r up for u, disconnected. Nothing to free until a connection is made. */
void redis_init(struct redis *r, const struct redis_url *u, int64_t io_timeout_ms);

/* redis_url_parse() then redis_init(), then a first redis_connect() (its
 * failure is logged, and left for the first command to try again).
 * Returns 0, or -1 with err when the URL is bad. */
int redis_open(struct redis *r, const char *url, int64_t io_timeout_ms,
	       char *err, size_t errlen);

/* Connects (AUTH and SELECT included) unless connected. Returns 0, or -1
 * with r->err (logged) and the backoff advanced; -1 at once while the
 * backoff runs. */
int redis_connect(struct redis *r);

/* Runs one command (argv[i] of lens[i] bytes, binary safe). Returns the
 * reply, which the caller frees with freeReplyObject(); an error reply of
 * the server is a reply (type REDIS_REPLY_ERROR). Returns NULL with r->err
 * when the server could not be reached, after one reconnect-and-retry. */
redisReply *redis_command(struct redis *r, int argc, const char **argv,
			  const size_t *lens);

/* Runs script s with nkeys keys then the other arguments in argv (argc in
 * all; lens may be NULL for C strings). Replies as redis_command(). */
redisReply *redis_eval(struct redis *r, struct redis_script *s, int nkeys,
		       int argc, const char **argv, const size_t *lens);

/* Milliseconds until a connection may be tried again (0: now). */
int64_t redis_retry_in_ms(const struct redis *r);

/* "host:port/db", for messages. Static buffer. */
const char *redis_where(const struct redis *r);

/* Closes the connection; r may be used again (it reconnects). */
void redis_close(struct redis *r);

#endif
