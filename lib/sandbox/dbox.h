/* dbox: the docker backend of sandbox-exec. A job takes a slot of the
 * language's pool (lib/sandbox/pool.h), replaces the slot's container when it is
 * missing, dead or stale, and talks to the codex-agent inside over one
 * attached stream: files in, steps run, results file out, then the agent
 * kills what the job left and wipes the work dirs. A job that timed out or
 * broke the stream leaves the slot dirty, and the container is replaced
 * before the slot's next job. */
#ifndef DBOX_H
#define DBOX_H

#include <limits.h>
#include <stddef.h>

#include "core/lang.h"
#include "core/sbuf.h"
#include "sandbox/backend.h"
#include "sandbox/docker.h"
#include "sandbox/pool.h"
#include "sandbox/slot.h"

struct dbox {
	const struct lang_table *table;
	const struct lang *lang;
	struct dk dk;
	struct dk_stream st;
	struct pool_slot slot;
	struct sbuf in;		/* agent replies read but not consumed */
	int lock;		/* the slot's flock fd */
	int broken;		/* the stream is unusable: replace the container */
	int replace;		/* replace it after this job (a step timed out, ...) */
	int oom_seen;		/* a step of this job had an OOM kill */
	char memcg[PATH_MAX];	/* the container's memory cgroup on the host, or "" */
	int memcg_v2;		/* ... in the unified hierarchy */
	int peak_fd;		/* v2: memory.peak, reset for this step, or -1 */
};

/* Acquires a slot of l's pool (waiting up to the table's acquire_ms),
 * readies its container and attaches to it. Returns the slot number, or
 * SLOT_BUSY when every slot stayed busy, or SLOT_ERROR with err (dockerd
 * unreachable, the container would not start). */
int dbox_open(struct dbox *b, const struct lang_table *t, const struct lang *l,
	      int nslots, int prefer, char *err, size_t errlen);

/* Has the agent clean up, records the job in the slot's state and releases
 * the slot. */
void dbox_close(struct dbox *b);

extern const struct box_ops dbox_ops;

#endif
