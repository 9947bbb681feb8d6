/* kafka: librdkafka configuration the way kcat takes it (bootstrap list,
 * a properties file, -X prop=val pairs, in that order so later ones win),
 * and message headers as JSON objects. */
#ifndef KAFKA_H
#define KAFKA_H

#include <stddef.h>
#include <cjson/cJSON.h>
#include <librdkafka/rdkafka.h>

struct kafka_opts {
	const char *brokers;		/* KAFKA_BROKERS or -b */
	const char *props_file;		/* -F: "key=value" lines, # comments */
	const char *props[64];		/* -X key=value, borrowed from argv */
	size_t nprops;
};

/* Adds one -X pair. Returns 0, or -1 when there are too many. */
int kafka_opts_add(struct kafka_opts *o, const char *kv);

/* A client of ours: its type, the properties it starts from (under o),
 * the callbacks it needs (NULL: none) and the descriptor its events wake. */
struct kafka_client {
	rd_kafka_type_t type;
	const char *const *defaults;	/* key, value pairs, NULL-terminated; may be NULL */
	void *opaque;			/* passed to the callbacks */
	void (*delivered)(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque);
	void (*rebalanced)(rd_kafka_t *rk, rd_kafka_resp_err_t err,
			   rd_kafka_topic_partition_list_t *parts, void *opaque);
	void (*error)(rd_kafka_t *rk, int err, const char *reason, void *opaque);
	int wake_fd;			/* -1, or written a byte when the client's queue
					 * (a consumer's messages, a producer's reports)
					 * gets something */
};

/* The pipe through which clients wake a poll loop: fd[0] is polled,
 * fd[1] is a client's wake_fd. kafka_wake_open() returns 0, or -1 with
 * err; kafka_wake_drain() reads what woke it (call before serving the
 * clients); kafka_wake_close() closes both ends. */
int kafka_wake_open(int fd[2], char *err, size_t errlen);
void kafka_wake_drain(int fd[2]);
void kafka_wake_close(int fd[2]);

/* The one way a client is made: the configuration is the defaults, then o
 * (bootstrap list, properties file, -X pairs: later ones win); librdkafka's
 * own messages become our log lines; a consumer's messages come on its
 * consumer queue. Returns the client, or NULL with err (an unknown or bad
 * property, an unreadable file, a client librdkafka refuses). */
rd_kafka_t *kafka_client_new(const struct kafka_opts *o, const struct kafka_client *c,
			     char *err, size_t errlen);

/* The message's headers as {"name":"value"} (a repeated name keeps its last
 * value; values made valid UTF-8). The caller deletes the object. */
cJSON *kafka_headers_json(const rd_kafka_message_t *m);

/* Headers from a {"name":"value"} object (non-string values skipped);
 * NULL when obj is NULL. Ownership passes to rd_kafka_producev(). */
rd_kafka_headers_t *kafka_headers_from_json(const cJSON *obj);

/* Sets header name to value, replacing any it had; a NULL value sets
 * nothing. */
void kafka_header_set(rd_kafka_headers_t *h, const char *name, const char *value);

#endif
