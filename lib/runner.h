/* runner: one job through the ns backend, from its files to the `exec`
 * section of docs/formats.md. Runs in a process that exits afterwards
 * (the box lives in its private mount namespace). */
#ifndef RUNNER_H
#define RUNNER_H

#include <stddef.h>
#include <cjson/cJSON.h>

#include "cgroup.h"
#include "job.h"
#include "lang.h"

/* Runs j in `slot` (already acquired). Returns a new exec section (the
 * caller deletes it), or NULL with err when the sandbox failed. */
cJSON *runner_run(const struct lang_table *t, const struct cg_sys *cgs,
		  const struct job *j, int slot, char *err, size_t errlen);

#endif
