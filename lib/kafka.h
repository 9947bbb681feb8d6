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

/* A new configuration with o applied on top of `defaults` (NULL-terminated
 * key, value pairs). Returns NULL with err on an unknown property or an
 * unreadable file. The caller hands it to rd_kafka_new() or destroys it. */
rd_kafka_conf_t *kafka_conf(const struct kafka_opts *o, const char *const *defaults,
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
