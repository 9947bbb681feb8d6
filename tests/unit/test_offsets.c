/* Unit tests of lib/kafka/offsets.c: the committable prefix with jobs that finish
 * out of order. */
#include "kafka/offsets.h"
#include "unit.h"

static void test_in_order(void)
{
	struct offsets *o = offsets_new();
	int64_t c = -1;
	CHECK_INT(offsets_commit_point(o, "T", 0), -1);
	offsets_out(o, "T", 0, 10);
	offsets_out(o, "T", 0, 11);
	CHECK_INT(offsets_commit_point(o, "T", 0), 10);
	CHECK_INT(offsets_done(o, "T", 0, 10, &c), 1);
	CHECK_INT(c, 11);
	CHECK_INT(offsets_done(o, "T", 0, 11, &c), 1);
	CHECK_INT(c, 12);	/* offset + 1: the next one to consume */
	CHECK_INT(offsets_pending(o), 0);
	offsets_free(o);
}

static void test_out_of_order(void)
{
	struct offsets *o = offsets_new();
	int64_t c = -1;
	for (int64_t off = 0; off < 4; off++)
		offsets_out(o, "T", 1, off);
	CHECK_INT(offsets_done(o, "T", 1, 2, &c), 0);	/* 0 and 1 still out */
	CHECK_INT(offsets_done(o, "T", 1, 3, &c), 0);
	CHECK_INT(offsets_commit_point(o, "T", 1), 0);
	CHECK_INT(offsets_done(o, "T", 1, 1, &c), 0);
	CHECK_INT(offsets_done(o, "T", 1, 0, &c), 1);
	CHECK_INT(c, 4);	/* the whole prefix at once */
	offsets_free(o);
}

static void test_partitions_apart(void)
{
	struct offsets *o = offsets_new();
	int64_t c = -1;
	offsets_out(o, "A", 0, 5);
	offsets_out(o, "A", 1, 5);
	offsets_out(o, "B", 0, 7);
	CHECK_INT(offsets_pending(o), 3);
	CHECK_INT(offsets_done(o, "A", 1, 5, &c), 1);
	CHECK_INT(c, 6);
	CHECK_INT(offsets_commit_point(o, "A", 0), 5);
	CHECK_INT(offsets_commit_point(o, "B", 0), 7);
	offsets_free(o);
}

static void test_unknown_and_twice(void)
{
	struct offsets *o = offsets_new();
	int64_t c = -1;
	offsets_out(o, "T", 0, 1);
	CHECK_INT(offsets_done(o, "T", 0, 99, &c), 0);
	CHECK_INT(offsets_done(o, "X", 0, 1, &c), 0);
	CHECK_INT(offsets_done(o, "T", 0, 1, &c), 1);
	CHECK_INT(offsets_done(o, "T", 0, 1, &c), 0);	/* an ack twice counts once */
	CHECK_INT(offsets_pending(o), 0);
	offsets_free(o);
}

static void test_drop(void)
{
	struct offsets *o = offsets_new();
	int64_t c = -1;
	offsets_out(o, "T", 0, 1);
	offsets_out(o, "T", 0, 2);
	offsets_out(o, "T", 1, 1);
	offsets_drop(o, "T", 0);
	CHECK_INT(offsets_pending(o), 1);
	CHECK_INT(offsets_commit_point(o, "T", 0), -1);
	CHECK_INT(offsets_done(o, "T", 0, 1, &c), 0);	/* revoked: its acks are ignored */
	CHECK_INT(offsets_done(o, "T", 1, 1, &c), 1);
	offsets_free(o);
}

static void test_many(void)
{
	struct offsets *o = offsets_new();
	int64_t c = -1;
	for (int64_t off = 0; off < 1000; off++)
		offsets_out(o, "T", 0, off);
	for (int64_t off = 999; off >= 1; off--)
		CHECK_INT(offsets_done(o, "T", 0, off, &c), 0);
	CHECK_INT(offsets_done(o, "T", 0, 0, &c), 1);
	CHECK_INT(c, 1000);
	offsets_free(o);
}

int main(void)
{
	UNIT_RUN(test_in_order);
	UNIT_RUN(test_out_of_order);
	UNIT_RUN(test_partitions_apart);
	UNIT_RUN(test_unknown_and_twice);
	UNIT_RUN(test_drop);
	UNIT_RUN(test_many);
	return unit_finish();
}
