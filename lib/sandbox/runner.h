/* runner: one job through a sandbox backend (box.h's box_ops: the ns box
 * or the docker pool), from its files to the `exec` section of
 * docs/formats.md. */
#ifndef RUNNER_H
#define RUNNER_H

#include <stddef.h>
#include <stdint.h>
#include <cjson/cJSON.h>

#include "core/lang.h"
#include "judge/job.h"
#include "sandbox/box.h"

/* Where a job's time went, for its trace: each phase of the sandbox
 * ("acquire", "setup", "compile", "run", "clean") with its wall-clock
 * bounds. Phases past RUNNER_PHASES_MAX are not kept. */
enum { RUNNER_PHASES_MAX = 64 };

struct runner_phases {
	struct runner_phase {
		const char *name;	/* static */
		uint64_t start_ns, end_ns;
	} v[RUNNER_PHASES_MAX];
	int n;
};

/* Records phase name from start_ns until now; ph may be NULL. */
void runner_phase(struct runner_phases *ph, const char *name, uint64_t start_ns);

/* The phases as a JSON line's value: [[name, start_ns, end_ns], ...]
 * (the caller deletes it). */
cJSON *runner_phases_json(const struct runner_phases *ph);

/* Runs j in box, an open box of the backend ops (slot is reported), and
 * records its compile and run steps in ph (may be NULL). Returns a new exec
 * section (the caller deletes it), or NULL with err when the sandbox
 * failed. */
cJSON *runner_run(const struct lang_table *t, const struct box_ops *ops, void *box,
		  const struct job *j, int slot, struct runner_phases *ph,
		  char *err, size_t errlen);

/* A job's first step, made ahead by runner_warm(): what its box was made
 * for (owned; runner_warm_free() releases it once the box is gone). */
struct runner_warm {
	char **argv, **env;
	struct sbx_limits limits;
};

/* Makes in box the box of j's first step, its run (not for a compiled
 * language), before any job's files are written, when the backend can
 * (ops->warm): a later runner_run() of a job whose first step is the same
 * starts it at once. j is the job before, the best guess of the next.
 * Returns 0, or -1 with err. */
/* The environment of l's steps on ops's backend (malloc'd array of the
 * table's strings; free the array only). */
char **runner_env(const struct lang_table *t, const struct box_ops *ops, const struct lang *l);

int runner_warm(const struct lang_table *t, const struct box_ops *ops, void *box,
		const struct job *j, struct runner_warm *w, char *err, size_t errlen);
void runner_warm_free(struct runner_warm *w);

#endif
