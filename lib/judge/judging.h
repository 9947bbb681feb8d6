/* judging: one input line of judge(1) to its output line: the job line
 * with an `exec` section gets its `result` section (docs/formats.md,
 * section 4), built by compat.c, native.c or verdict_custom() according
 * to its shape; everything else becomes an error line. */
#ifndef JUDGING_H
#define JUDGING_H

#include <stddef.h>
#include <cjson/cJSON.h>

#include "judge/verdict.h"

/* What judging_line() made of a line. */
enum judging_status {
	JUDGING_SKIPPED,	/* a blank line: nothing to write */
	JUDGING_ACCEPTED,	/* a job judged accepted */
	JUDGING_REJECTED,	/* a job judged with any other verdict */
	JUDGING_ERROR,		/* an error line (made here or passed through) */
};

struct judging_output {
	cJSON *line;		/* owned by the caller: the line to write; NULL when skipped */
	int passthrough;	/* the input carried an error: write its bytes unchanged */
	enum judging_status status;
	enum verdict verdict;	/* for ACCEPTED and REJECTED */
};

/* Judges one input line (text[len] is NUL, as line.h hands it out):
 * oversized or not a JSON object gives an error line, a line with an
 * `error` is passed through, a line without `exec` gets an invalid-job
 * error, any other gets its `result`. Fills *out; the caller deletes
 * out->line. */
void judging_line(const char *text, size_t len, int oversized,
		  struct judging_output *out);

/* Builds the `result` section of a job line that has an exec section.
 * Returns a new object and sets *v, or NULL with *err set (the caller
 * frees) when the line or its exec section is malformed. */
cJSON *judging_result(const cJSON *line, enum verdict *v, char **err);

#endif
