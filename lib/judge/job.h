/* job: a job line, validated and classified (docs/formats.md section 1). */
#ifndef JOB_H
#define JOB_H

#include <stddef.h>
#include <cjson/cJSON.h>

#include "core/lang.h"
#include "core/limit.h"
#include "judge/jobline.h"

enum { JOB_MAX_TESTS = 10000 };

struct job {
	cJSON *line;			/* the whole line; owned */
	enum job_shape shape;
	enum job_mode mode;
	const struct lang *lang;	/* borrowed from the table */
	const char *code;		/* program text; borrowed from line or code_owned */
	char *code_owned;		/* custom jobs: the decoded userCode */
	const char *entry;		/* function jobs; borrowed */
	const cJSON *tests;		/* testCases array or NULL; borrowed */
	int ntests;
	struct sbx_limits limits, compile_limits;
	int64_t budget_ms;		/* the whole job's wall time in its slot */
	int grouped;			/* scored groups (judge/groups.h): every
					 * testcase runs, submissions too */
};

/* Validates line (taking ownership of it: job_free() deletes it, also on
 * failure): everything that can be known from the line alone, so that a
 * job that could never run is refused before a slot is taken: the shape
 * and its fields, the language (and its harness for function jobs), the
 * mode, limits the language can start within, the comparator (a jq
 * expression compiles), function inputs that are JSON, expected outputs
 * the comparator can read, scored groups of its testcases. Returns 0, or
 * -1 with *code set to a poison code of docs/formats.md ("invalid-job",
 * "unknown-language") and a message naming what is allowed. */
int job_parse(struct job *j, cJSON *line, const struct lang_table *t,
	      const char **code, char *msg, size_t msglen);
void job_free(struct job *j);

/* Whether language l runs jobs of shape s: every shape but function, which
 * needs the language's harness. */
int job_lang_takes(const struct lang *l, enum job_shape s);

/* Input text of testcase i (borrowed), or "" if absent. */
const char *job_test_input(const struct job *j, int i);

#endif
