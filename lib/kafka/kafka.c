#include "kafka/kafka.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/jsonx.h"
#include "core/log.h"
#include "core/util.h"

int kafka_opts_add(struct kafka_opts *o, const char *kv)
{
	if (o->nprops >= sizeof o->props / sizeof o->props[0])
		return -1;
	o->props[o->nprops++] = kv;
	return 0;
}

/* Applies "key=value". Returns 0, or -1 with err. */
static int set_pair(rd_kafka_conf_t *c, const char *kv, char *err, size_t errlen)
{
	char key[256], rderr[256];
	const char *eq = strchr(kv, '=');
	if (eq == NULL || eq == kv || (size_t)(eq - kv) >= sizeof key) {
		snprintf(err, errlen, "'%s' is not key=value", kv);
		return -1;
	}
	snprintf(key, sizeof key, "%.*s", (int)(eq - kv), kv);
	if (rd_kafka_conf_set(c, key, eq + 1, rderr, sizeof rderr) != RD_KAFKA_CONF_OK) {
		snprintf(err, errlen, "%s", rderr);
		return -1;
	}
	return 0;
}

static int apply_file(rd_kafka_conf_t *c, const char *path, char *err, size_t errlen)
{
	char line[4096], sub[512];
	int n = 0;
	FILE *f = fopen(path, "re");
	if (f == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof line, f)) {
		char *s = line + strspn(line, " \t");
		n++;
		s[strcspn(s, "\r\n")] = '\0';
		if (*s == '\0' || *s == '#')
			continue;
		if (set_pair(c, s, sub, sizeof sub) != 0) {
			snprintf(err, errlen, "%s:%d: %s", path, n, sub);
			fclose(f);
			return -1;
		}
	}
	int bad = ferror(f);
	fclose(f);
	if (bad) {
		snprintf(err, errlen, "%s: cannot read it", path);
		return -1;
	}
	return 0;
}

/* librdkafka's own messages (syslog levels) as our log lines. */
static void log_line(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
	enum log_level l = level <= 3 ? LOG_ERROR : level == 4 ? LOG_WARN
			 : level <= 6 ? LOG_INFO : LOG_DEBUG;
	log_job(l, NULL, "%s: %s: %s", rd_kafka_name(rk), fac, buf);
}

static rd_kafka_conf_t *conf_new(const struct kafka_opts *o, const char *const *defaults,
				 char *err, size_t errlen)
{
	char rderr[256];
	rd_kafka_conf_t *c = rd_kafka_conf_new();
	rd_kafka_conf_set_log_cb(c, log_line);
	for (size_t i = 0; defaults && defaults[i]; i += 2)
		if (rd_kafka_conf_set(c, defaults[i], defaults[i + 1], rderr, sizeof rderr) != RD_KAFKA_CONF_OK) {
			snprintf(err, errlen, "%s", rderr);
			goto fail;
		}
	if (o->brokers && rd_kafka_conf_set(c, "bootstrap.servers", o->brokers, rderr,
					    sizeof rderr) != RD_KAFKA_CONF_OK) {
		snprintf(err, errlen, "%s", rderr);
		goto fail;
	}
	if (o->props_file && apply_file(c, o->props_file, err, errlen) != 0)
		goto fail;
	for (size_t i = 0; i < o->nprops; i++)
		if (set_pair(c, o->props[i], err, errlen) != 0)
			goto fail;
	return c;
fail:
	rd_kafka_conf_destroy(c);
	return NULL;
}

int kafka_wake_open(int fd[2], char *err, size_t errlen)
{
	if (pipe2(fd, O_NONBLOCK | O_CLOEXEC) == 0)
		return 0;
	snprintf(err, errlen, "pipe: %s", strerror(errno));
	fd[0] = fd[1] = -1;
	return -1;
}

void kafka_wake_drain(int fd[2])
{
	char buf[64];
	while (read(fd[0], buf, sizeof buf) > 0)
		;
}

void kafka_wake_close(int fd[2])
{
	for (int i = 0; i < 2; i++)
		if (fd[i] >= 0)
			close(fd[i]);
	fd[0] = fd[1] = -1;
}

/* Makes q write a byte to fd when it gets something. */
static void wake(rd_kafka_queue_t *q, int fd)
{
	rd_kafka_queue_io_event_enable(q, fd, "1", 1);
	rd_kafka_queue_destroy(q);
}

rd_kafka_t *kafka_client_new(const struct kafka_opts *o, const struct kafka_client *c,
			     char *err, size_t errlen)
{
	char rderr[512];
	rd_kafka_conf_t *conf = conf_new(o, c->defaults, err, errlen);
	if (conf == NULL)
		return NULL;
	rd_kafka_conf_set_opaque(conf, c->opaque);
	if (c->delivered)
		rd_kafka_conf_set_dr_msg_cb(conf, c->delivered);
	if (c->rebalanced)
		rd_kafka_conf_set_rebalance_cb(conf, c->rebalanced);
	if (c->error)
		rd_kafka_conf_set_error_cb(conf, c->error);
	rd_kafka_t *rk = rd_kafka_new(c->type, conf, rderr, sizeof rderr);
	if (rk == NULL) {
		snprintf(err, errlen, "%s", rderr);
		rd_kafka_conf_destroy(conf);
		return NULL;
	}
	if (c->type == RD_KAFKA_CONSUMER)
		rd_kafka_poll_set_consumer(rk);
	if (c->wake_fd >= 0)
		wake(c->type == RD_KAFKA_CONSUMER ? rd_kafka_queue_get_consumer(rk)
						  : rd_kafka_queue_get_main(rk), c->wake_fd);
	return rk;
}

cJSON *kafka_headers_json(const rd_kafka_message_t *m)
{
	rd_kafka_headers_t *h = NULL;
	cJSON *obj = cJSON_CreateObject();
	const char *name;
	const void *val;
	size_t len;
	if (rd_kafka_message_headers(m, &h) != RD_KAFKA_RESP_ERR_NO_ERROR)
		return obj;
	for (size_t i = 0; rd_kafka_header_get_all(h, i, &name, &val, &len) == RD_KAFKA_RESP_ERR_NO_ERROR; i++)
		jsonx_set_bytes(obj, name, val ? val : "", val ? len : 0);
	return obj;
}

rd_kafka_headers_t *kafka_headers_from_json(const cJSON *obj)
{
	const cJSON *item;
	if (!cJSON_IsObject(obj))
		return NULL;
	rd_kafka_headers_t *h = rd_kafka_headers_new((size_t)cJSON_GetArraySize(obj));
	cJSON_ArrayForEach(item, obj)
		if (cJSON_IsString(item))
			rd_kafka_header_add(h, item->string, -1, item->valuestring, -1);
	return h;
}

void kafka_header_set(rd_kafka_headers_t *h, const char *name, const char *value)
{
	if (value == NULL)
		return;
	rd_kafka_header_remove(h, name);
	rd_kafka_header_add(h, name, -1, value, -1);
}
