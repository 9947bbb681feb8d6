/* Unit tests of lib/sandbox/slot.c: slots taken and let go, and how a warm
 * box's holder hears of them: a slot let go and a wish for a slot (the
 * want file) are events of slot_watch(); the tries of slot_take_idle()
 * are not, so a holder waiting for a slot does not wake itself. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "sandbox/slot.h"
#include "unit.h"

static char dir[] = "/tmp/test_slot.XXXXXX";

static void test_take_idle(void)
{
	int a, b, c = -1;
	CHECK(slot_take_idle(dir, 2, 1, &a) == 1);
	CHECK(slot_take_idle(dir, 2, 1, &b) == 0);
	CHECK(slot_take_idle(dir, 2, 0, &c) == SLOT_BUSY);
	CHECK(c == -1);
	slot_let_go(dir, 1, a);
	CHECK(slot_take_idle(dir, 2, 0, &c) == 1);
	close(b);
	close(c);
}

static void test_watch(void)
{
	int w = slot_watch(dir), held, other;
	CHECK(w >= 0);
	CHECK(slot_events(w) == 0);
	CHECK(slot_take_idle(dir, 1, 0, &held) == 0);
	CHECK(slot_take_idle(dir, 1, 0, &other) == SLOT_BUSY);
	CHECK(slot_events(w) == 0);		/* read-only tries: no event */
	CHECK(!slot_wanted(dir, 1000));
	/* Every slot held: an acquirer that waits says it wants one. */
	CHECK(slot_acquire(dir, 1, 0, 30, &other) == SLOT_BUSY);
	CHECK(slot_events(w) & SLOT_WANTED);
	CHECK(slot_wanted(dir, 1000));
	slot_let_go(dir, 0, held);
	CHECK(slot_events(w) == SLOT_FREED);
	close(w);
}

int main(void)
{
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	UNIT_RUN(test_take_idle);
	UNIT_RUN(test_watch);
	char cmd[64];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	return unit_finish();
}
