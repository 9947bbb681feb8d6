/* native: judging of shape "function" and "stdio" jobs, whose expected
 * outputs never entered the sandbox: each testcase's actual output is
 * compared here with the job's comparator (compare.h). The message has the
 * platform's shape and mode rules (submit stops at the first failing
 * testcase, run lists them all). */
#ifndef NATIVE_H
#define NATIVE_H

#include <cjson/cJSON.h>

#include "judge/verdict.h"

/* The executionResult of a function or stdio job, with our additive
 * fields. Sets *v. Returns a new object; the caller deletes. */
cJSON *native_execution_result(const struct verdict_job *job, enum verdict *v);

#endif
