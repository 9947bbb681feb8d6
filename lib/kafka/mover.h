/* mover: the half of the retry stage that `retryd run` is (docs/pipeline.md,
 * "Retries"): it claims the due entries of the retry set (retry.h) into
 * RETRY_QUEUE:inflight with a Lua script, re-publishes them to Kafka, and
 * removes each once Kafka acknowledged it. A mover that dies loses
 * nothing: the reaper puts in-flight entries whose visibility time-out
 * passed back into the set. */
#ifndef MOVER_H
#define MOVER_H

#include <librdkafka/rdkafka.h>

#include "kafka/kafka.h"
#include "otel/otel.h"
#include "redis/redis.h"
#include "redis/retry.h"

struct retry_member;

struct retry_mover {
	const char *key;		/* borrowed */
	char *inflight_key;		/* owned: key + ":inflight" */
	struct redis *redis;		/* borrowed */
	rd_kafka_t *rk;			/* owned, from retry_mover_start() */
	int event_pipe[2];		/* written when rk has reports */
	int batch;			/* most entries claimed at a time */
	double visibility_s;		/* in-flight time-out */
	int outstanding;		/* produced, not reported yet */
	int fatal;			/* the producer raised a fatal error */
	struct retry_member **done;	/* owned: delivered, still in-flight in Redis */
	size_t ndone, done_cap;
	/* codex.retries.republished, codex.dlq.messages; NULL: metrics off */
	struct otel_metric *republished, *dead;
};

/* Sets m up, without a producer. */
void retry_mover_init(struct retry_mover *m, const char *key, struct redis *redis,
		      int batch, double visibility_s);

/* Creates the producer: idempotent, client.id retryd, message.timeout.ms
 * half the visibility time-out (so a message fails in the producer before
 * the reaper would send it again), then o (brokers, -F, -X) over that.
 * Returns 0, or -1 with err (a bad property). */
int retry_mover_start(struct retry_mover *m, const struct kafka_opts *o,
		      char *err, size_t errlen);

/* An fd that becomes readable when the producer has reports to serve. */
int retry_mover_fd(const struct retry_mover *m);

/* Serves the producer's delivery reports, errors and logs. */
void retry_mover_poll(struct retry_mover *m);

/* One step of the loop: removes delivered entries from the in-flight set,
 * reaps expired in-flight entries, claims due ones and produces them.
 * Redis or Kafka failures are logged and left for the next step. Each
 * entry gets a `retry publish` span, a child of its traceparent header,
 * ended at the delivery report; its context replaces that header. */
void retry_mover_tick(struct retry_mover *m);

/* Flushes the producer for up to timeout_ms, removes what was delivered
 * from the in-flight set, and destroys the producer. Returns 0, or -1
 * (logged) when entries stay in-flight for the reaper. */
int retry_mover_stop(struct retry_mover *m, int timeout_ms);

void retry_mover_free(struct retry_mover *m);

#endif
