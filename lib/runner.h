/* runner: one job through a sandbox backend (box.h's box_ops: the ns box
 * or the docker pool), from its files to the `exec` section of
 * docs/formats.md. */
#ifndef RUNNER_H
#define RUNNER_H

#include <stddef.h>
#include <cjson/cJSON.h>

#include "box.h"
#include "job.h"
#include "lang.h"

/* Runs j in box, an open box of the backend ops (slot is reported). Returns
 * a new exec section (the caller deletes it), or NULL with err when the
 * sandbox failed. */
cJSON *runner_run(const struct lang_table *t, const struct box_ops *ops, void *box,
		  const struct job *j, int slot, char *err, size_t errlen);

#endif
