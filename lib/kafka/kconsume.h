/* kconsume: the consuming half of kcat-jobs. Turns messages of a lane's
 * job topic into job lines with a `meta` section (docs/pipeline.md),
 * answers the messages that are no job itself (the dead-letter topic and
 * an error result on the lane's results topic), answers a job whose line
 * never came back in time the same way, and commits only the contiguous
 * prefix of offsets whose jobs were acknowledged. */
#ifndef KCONSUME_H
#define KCONSUME_H

#include <stddef.h>
#include <stdint.h>
#include <librdkafka/rdkafka.h>

#include "core/lang.h"
#include "core/outbuf.h"
#include "judge/lane.h"
#include "kafka/kafka.h"
#include "kafka/offsets.h"
#include "otel/otel.h"
#include "redis/dedupe.h"

struct kconsume_opts {
	const struct lane *lane;
	const char *topic;		/* default: the lane's job topic */
	const char *group;		/* default: the lane's group */
	size_t max_inflight;		/* jobs out at most; as many more fetched ahead,
					 * then the assignment is paused */
	size_t max_bytes;		/* bigger messages are poison (oversized) */
	long count;			/* stop after this many lines; 0 = no end */
	int acked;			/* 1: wait for kconsume_ack(); 0: a written line is done */
	long answer_ms;			/* acked: a job not acknowledged this long after it
					 * went out is answered here (error result and DLQ,
					 * x-error no-answer); 0: never */
};

struct kconsume_job;

struct kconsume {
	struct kconsume_opts opt;
	rd_kafka_t *rk;			/* the consumer */
	rd_kafka_t *dlq;		/* producer of the answers given here: DLQ, results */
	const struct lang_table *table;	/* borrowed: validates jobs */
	struct offsets *offs;
	struct outbuf *out;		/* borrowed: where job lines go */
	struct dedupe *dedupe;		/* borrowed, may be NULL: skip jobs with a result */
	int paused;
	int hold;			/* set by the caller: the output is backed up */
	/* Messages fetched ahead, oldest first (a ring at head, n of them,
	 * bytes long); owned. */
	rd_kafka_message_t **ahead;
	size_t ahead_cap, ahead_head, ahead_n, ahead_bytes;
	long emitted;
	int stopping;
	int fatal;
	int evfd[2];			/* librdkafka writes [1] when a queue wakes up */
	/* Jobs out and not acknowledged (acked mode): their consumer spans,
	 * and what answering them takes. Hash buckets and a list oldest
	 * first; owned, NULL until the first. */
	struct kconsume_job **jobs, *oldest, *newest;
	struct otel_metric *consumed, *dead;	/* codex.jobs.consumed, codex.dlq.messages */
};

/* Creates the consumer (cooperative-sticky, offsets stored by hand) and
 * the DLQ producer, and subscribes. Returns 0, or -1 with err. */
int kconsume_open(struct kconsume *c, const struct kafka_opts *ko,
		  const struct kconsume_opts *opt, const struct lang_table *table,
		  struct outbuf *out, char *err, size_t errlen);

/* A file descriptor that becomes readable when the consumer or the DLQ
 * producer has something to serve: poll() it with the caller's other fds. */
int kconsume_fd(const struct kconsume *c);

/* Serves everything the consumer and the DLQ producer have queued (messages,
 * rebalances, delivery reports) without blocking: hands out jobs while
 * fewer than max_inflight are out and hold is not set, keeps the others
 * fetched ahead, and pauses the assignment while max_inflight of them
 * wait; answers the jobs out longer than answer_ms. */
void kconsume_poll(struct kconsume *c);

/* The job at topic/partition/offset is safe (result, retry or DLQ acked);
 * its consumer span ends. */
void kconsume_ack(struct kconsume *c, const char *topic, int32_t partition, int64_t offset);

/* Claims the answer of the job at topic/partition/offset for a line that
 * came back for it (acked mode): 1 when the job is out and unclaimed (from
 * now on the answer_ms time-out leaves it to that line), 0 when its line
 * must not be answered: the job was answered here after answer_ms, or
 * another line claimed it. A job whose partition was revoked is still
 * answered by its line (its next owner may answer it too). */
int kconsume_claim(struct kconsume *c, const char *topic, int32_t partition, int64_t offset);

/* Stops taking messages (SIGTERM): what is out may still be acked. */
void kconsume_stop(struct kconsume *c);

/* Jobs handed out and not yet acknowledged, plus DLQ sends in flight. */
size_t kconsume_pending(const struct kconsume *c);

/* Commits what is committable, closes the group membership and frees;
 * the consumer spans of jobs not acknowledged end with an error (they run
 * again). */
void kconsume_close(struct kconsume *c);

#endif
