/* compare: the comparators of native jobs (judge(1), "COMPARATORS").
 * A comparator is parsed once per job from the job's `compare` field
 * (cmp_init), then applied to each testcase (cmp_check). */
#ifndef COMPARE_H
#define COMPARE_H

#include <cjson/cJSON.h>
#include <jq.h>

enum cmp_type {
	CMP_EXACT,	/* byte equal */
	CMP_TRIMMED,	/* equal after trimming the text and each line's end */
	CMP_TOKENS,	/* equal white-space separated tokens */
	CMP_FLOAT,	/* tokens; integers exactly, other numbers within an absolute
			 * or relative epsilon */
	CMP_JSON,	/* JSON values equal (jcanon.h): key order ignored, numbers
			 * by exact value (1 == 1.0), strings by every character */
	CMP_UNORDERED,	/* two JSON arrays equal as multisets */
	CMP_JQ,		/* a jq program over $actual and $expected */
};

/* How the two texts given to cmp_check() are bound in a jq program:
 * parsed as JSON (function jobs) or as strings (stdio jobs). */
enum cmp_operands {
	CMP_AS_TEXT,
	CMP_AS_JSON,
};

enum cmp_outcome {
	CMP_PASS,
	CMP_FAIL,
	CMP_ERROR,	/* the comparator itself could not decide: not the program's fault */
};

enum {
	CMP_JQ_TIMEOUT_MS = 2000,	/* wall time of one jq evaluation */
	CMP_JQ_MEMORY_MB = 512,		/* address space of the evaluating child */
};

#define CMP_EPSILON_DEFAULT 1e-6

struct cmp {
	enum cmp_type type;
	double epsilon;		/* CMP_FLOAT */
	int jq_timeout_ms;	/* CMP_JQ */
	jq_state *jq;		/* CMP_JQ: owned, compiled program */
};

/* Parses a `compare` value: a name ("exact", "trimmed", "tokens", "float",
 * "json", "unordered") or an object {"type": name, "epsilon": x} or
 * {"type": "jq", "expr": "..."}. spec is borrowed and may be NULL, which
 * gives `dflt`. Returns 0, or -1 with *err set to a message the caller
 * frees (unknown name, bad epsilon, jq compile error, ...). */
int cmp_init(struct cmp *c, const cJSON *spec, enum cmp_type dflt, char **err);

/* Frees what cmp_init() allocated; c may be zeroed or already freed. */
void cmp_free(struct cmp *c);

/* Compares actual against expected (NUL-terminated texts, borrowed).
 * Returns CMP_PASS or CMP_FAIL; CMP_ERROR with *why set (the caller
 * frees) when the comparator failed: expected text not JSON where JSON is
 * needed, a jq program that timed out. On CMP_FAIL *why may be set too
 * (the jq run-time error, say), else it is NULL. */
enum cmp_outcome cmp_check(const struct cmp *c, const char *actual,
			   const char *expected, enum cmp_operands ops,
			   char **why);

/* Can the comparator compare with the expected text: JSON for the json,
 * unordered (an array) and, on JSON operands, jq comparators; anything
 * for the others. Returns 0, or -1 with *why set (the caller frees). */
int cmp_expected_ok(const struct cmp *c, enum cmp_operands ops, const char *expected,
		    char **why);

/* The name of a comparator type, as written in `compare`. */
const char *cmp_type_name(enum cmp_type t);

#endif
