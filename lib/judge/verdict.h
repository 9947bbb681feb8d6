/* verdict: the vocabulary of judging: verdicts, a job line's `exec`
 * section (docs/formats.md, section 2) read strictly into a struct
 * verdict_job, and the pieces every result is built from. judging.c
 * dispatches a job to compat.c (the platform's rules, shape "compat"),
 * native.c (shapes "function" and "stdio", compared with compare.h) or
 * verdict_custom(), which all build on this file and never on each
 * other. Strings in the structs are borrowed from the parsed line. */
#ifndef VERDICT_H
#define VERDICT_H

#include <stddef.h>
#include <cjson/cJSON.h>

#include "core/caps.h"
#include "judge/jobline.h"

enum verdict {
	VERDICT_ACCEPTED,
	VERDICT_WRONG_ANSWER,
	VERDICT_TIME_LIMIT_EXCEEDED,
	VERDICT_MEMORY_LIMIT_EXCEEDED,
	VERDICT_OUTPUT_LIMIT_EXCEEDED,
	VERDICT_RUNTIME_ERROR,
	VERDICT_COMPILATION_ERROR,
	VERDICT_INTERNAL_ERROR,
};

enum verdict_limit {
	VERDICT_LIMIT_NONE,
	VERDICT_LIMIT_TIME,
	VERDICT_LIMIT_WALL,
	VERDICT_LIMIT_MEMORY,
	VERDICT_LIMIT_OUTPUT,
	VERDICT_LIMIT_FILE,
	VERDICT_LIMIT_PROCESSES,
};

enum {
	VERDICT_LINE_CAP = CAP_EXEC_LINE,	/* longest input line */
	VERDICT_STDERR_CAP = 4096,	/* bytes of stderr copied into a result */
};

/* The platform's text for a run that hit its time limit. */
#define VERDICT_TIMEOUT_TEXT "TimeoutError: Execution took too long"

/* One <run> of the exec section. */
struct verdict_run {
	const cJSON *exit_code;	/* a number, or null when killed by a signal */
	const char *signal;	/* NULL when none */
	double time_ms, wall_ms, memory_kb;
	enum verdict_limit limit;
	const char *out;	/* stdout, "" when absent */
	const char *err;	/* stderr, "" when absent */
	const char *results;	/* the results file text, NULL when absent */
	const char *results_error;	/* NULL when none */
};

struct verdict_job {
	const cJSON *line;	/* the job line */
	const cJSON *tests;	/* testCases, an array (NULL for custom jobs) */
	int ntests;
	enum job_shape shape;
	enum job_mode mode;
	const char *language;	/* NULL when neither exec nor the job names one */
	int has_compile;
	struct verdict_run compile;
	struct verdict_run *runs;	/* owned */
	int nruns;
	const char *stopped;	/* exec.stopped: why testcases after the last run
				 * did not run ("time", "output"), or NULL */
};

/* The verdict's name in results ("time_limit_exceeded", ...). */
const char *verdict_name(enum verdict v);

/* Reads a job line and its exec section strictly. Returns 0, or -1 with
 * *err set (the caller frees). On success free with verdict_job_free(). */
int verdict_job_parse(const cJSON *line, struct verdict_job *job, char **err);
void verdict_job_free(struct verdict_job *job);

/* Did the run fail as a whole: non-zero exit, a signal, or a limit hit. */
int verdict_run_failed(const struct verdict_run *r);

/* Did the compile step (if any) fail. */
int verdict_compile_failed(const struct verdict_job *job);

/* The verdict of a failed run (accepted for one that did not fail). */
enum verdict verdict_of_run(const struct verdict_run *r);

/* The platform's error text of a failed run: the timeout text for a time
 * limit, else stderr if not empty, else stdout. Borrowed or static. */
const char *verdict_run_error_text(const struct verdict_run *r);

/* The platform's text for a failed compile step. Borrowed or static. */
const char *verdict_compile_error_text(const struct verdict_job *job);

/* testCases[i] (borrowed), or NULL when i is out of range. */
const cJSON *verdict_test(const struct verdict_job *job, int i);

/* dst[dkey] = a copy of src[skey], when src has it. */
void verdict_copy_field(cJSON *dst, const char *dkey, const cJSON *src,
			const char *skey);

/* {"totalTestCase","passedTestCase","failedTestCase","executionTimeMs","memoryMB"};
 * a new object. */
cJSON *verdict_stats(int total, int passed, int failed, double time_ms,
		     double memory_mb);

/* The platform's executionResult for a program that failed as a whole:
 * failedTestCase at index 0 with `text` as its output. A new object. */
cJSON *verdict_whole_failure(const struct verdict_job *job, const char *text,
			     enum verdict v);

/* Adds "verdict", "timeMs", "wallMs", "memoryKb" (maxima over the runs),
 * "exitCode", "signal", "stderr" (capped) of `reported` (may be NULL), and
 * "compileOutput" when the job has a compile step. */
void verdict_add_measures(cJSON *obj, const struct verdict_job *job,
			  const struct verdict_run *reported, enum verdict v);

/* The custom message {"tempId","stdOut", measures...}; a new object. */
cJSON *verdict_custom(const struct verdict_job *job, enum verdict *v);

#endif
