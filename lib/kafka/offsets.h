/* offsets: at-least-once bookkeeping of a consumer whose jobs finish out of
 * order. Per partition it keeps the offsets handed out and not yet done;
 * what may be committed is the contiguous prefix: everything below the
 * oldest offset still out (or past the last one handed out when none is). */
#ifndef OFFSETS_H
#define OFFSETS_H

#include <stddef.h>
#include <stdint.h>

struct offsets;

/* A new, empty set; offsets_free() releases it. */
struct offsets *offsets_new(void);
void offsets_free(struct offsets *o);

/* Records offset off of topic/partition as handed out (offsets of one
 * partition come in increasing order). */
void offsets_out(struct offsets *o, const char *topic, int32_t partition, int64_t off);

/* Marks it done. Returns 1 and sets *commit (the next offset to consume,
 * i.e. what rd_kafka_offsets_store wants) when the committable point moved;
 * 0 when it did not or the offset is unknown (a partition since revoked). */
int offsets_done(struct offsets *o, const char *topic, int32_t partition, int64_t off,
		 int64_t *commit);

/* The committable point of a partition, or -1 if nothing was handed out. */
int64_t offsets_commit_point(const struct offsets *o, const char *topic, int32_t partition);

/* Forgets a partition (revoked or lost). */
void offsets_drop(struct offsets *o, const char *topic, int32_t partition);

/* Offsets handed out and not done, over every partition. */
size_t offsets_pending(const struct offsets *o);

#endif
