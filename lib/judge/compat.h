/* compat: the platform's judging rules for shape "compat" jobs, kept
 * exactly as the Node.js execution service applies them (quirks included,
 * each one named where it is kept). */
#ifndef COMPAT_H
#define COMPAT_H

#include <cjson/cJSON.h>

#include "judge/verdict.h"

/* The executionResult of a compat job: the platform's object plus our
 * additive fields. Sets *v. Returns a new object; the caller deletes. */
cJSON *compat_execution_result(const struct verdict_job *job, enum verdict *v);

#endif
