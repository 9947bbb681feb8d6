/* kproduce: the producing half of kcat-jobs. Routes each finished line
 * (docs/pipeline.md, "What kcat-jobs produce does") to the results topic
 * and/or the dead-letter topic, and acknowledges the line's origin once
 * the broker has every message of it. */
#ifndef KPRODUCE_H
#define KPRODUCE_H

#include <stddef.h>
#include <stdint.h>
#include <librdkafka/rdkafka.h>

#include "judge/lane.h"
#include "kafka/kafka.h"
#include "otel/otel.h"
#include "redis/dedupe.h"

/* Called when every message of a line is acknowledged by the broker. */
typedef void kproduce_ack_fn(void *arg, const char *topic, int32_t partition, int64_t offset);

/* Asked before a line that came from topic/partition/offset is produced:
 * 0 when its job must not be answered (again). */
typedef int kproduce_accept_fn(void *arg, const char *topic, int32_t partition, int64_t offset);

struct kproduce {
	rd_kafka_t *rk;
	const struct lane *lane;	/* default lane for lines without meta */
	kproduce_ack_fn *ack;
	void *ack_arg;
	kproduce_accept_fn *accept;	/* may be NULL: every line is produced */
	struct dedupe *dedupe;		/* borrowed, may be NULL: mark results */
	long lines_pending;		/* lines with messages not yet acknowledged */
	int fatal;			/* a message could not be delivered */
	int evfd[2];			/* librdkafka writes [1] when reports wait */
	/* codex.jobs.completed, codex.job.duration, codex.dlq.messages */
	struct otel_metric *completed, *duration, *dead;
};

/* Creates the idempotent producer. Returns 0, or -1 with err. */
int kproduce_open(struct kproduce *p, const struct kafka_opts *ko, const struct lane *lane,
		  kproduce_ack_fn *ack, void *ack_arg, char *err, size_t errlen);

/* Routes and produces one line. A line that is not a JSON object, or that
 * has nothing to send and no origin, or whose job accept() refuses, is
 * logged and skipped. A line with an error section sends its job to the
 * dead-letter topic and an error result (answer.h) to its lane. Each message
 * gets a `send <topic>` span (a child of the line's meta.traceparent,
 * ended at its delivery report) whose context is its traceparent header;
 * with tracing off the line's meta.traceparent is written as it is. */
void kproduce_line(struct kproduce *p, const char *text, size_t len);

/* A file descriptor that becomes readable when delivery reports wait. */
int kproduce_fd(const struct kproduce *p);

/* Serves the delivery reports that wait, without blocking. */
void kproduce_poll(struct kproduce *p);

/* Waits until everything is delivered, up to timeout_ms; then frees. */
void kproduce_close(struct kproduce *p, int timeout_ms);

#endif
