/* report: the human form of judge's output (judge --pretty): one block per
 * line, a header with the job's verdict and figures, then a row per
 * testcase, with output and expected output under each failing one (whole
 * up to a cap: wrapped, control characters escaped, the last lines kept);
 * at the end, a summary line. Verdicts in colour when asked. */
#ifndef REPORT_H
#define REPORT_H

#include <stdio.h>

#include "judge/judging.h"
#include "judge/verdict.h"

enum {
	REPORT_TEXT_CAP = 72,	/* characters of an id or a name shown */
	REPORT_WIDTH = 100,	/* columns of a line of output before it wraps */
	REPORT_HEAD_LINES = 4,	/* of a longer output, its first lines shown */
	REPORT_TAIL_LINES = 16,	/* ... and its last */
};

struct report {
	int colour;		/* ANSI colours for verdicts */
	size_t jobs, errors;
	size_t verdicts[VERDICT_INTERNAL_ERROR + 1];	/* jobs by verdict */
	double time_ms;		/* the jobs' time figures, added */
};

void report_init(struct report *rep, int colour);

/* Writes the block for one judged line (out and its line are borrowed),
 * and counts it. */
void report_pretty(FILE *f, struct report *rep, const struct judging_output *out);

/* "12 jobs: 9 accepted, 3 wrong_answer; 160 ms of the programs' time in all" */
void report_summary(FILE *f, const struct report *rep);

#endif
