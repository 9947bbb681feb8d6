/* jobline: the vocabulary of a job line that every stage shares
 * (docs/formats.md, section 1): the shapes and modes of jobs with their
 * names, the mode a line's own fields imply, and the sections the stages
 * add to it. Knows no language, comparator or result. */
#ifndef JOBLINE_H
#define JOBLINE_H

#include <cjson/cJSON.h>

enum job_shape { SHAPE_COMPAT, SHAPE_FUNCTION, SHAPE_STDIO, SHAPE_CUSTOM };
enum job_mode { MODE_SUBMIT, MODE_RUN, MODE_CUSTOM };
enum { SHAPE_COUNT = SHAPE_CUSTOM + 1, MODE_COUNT = MODE_CUSTOM + 1 };

/* "compat", "function", "stdio", "custom". */
const char *job_shape_name(enum job_shape s);
/* "submit", "run", "custom". */
const char *job_mode_name(enum job_mode m);

/* The shape or mode called name, or -1. */
int job_shape_named(const char *name);
int job_mode_named(const char *name);

/* The mode a line's ids imply, for a line that names none and was not
 * (or could not be) classified by job_parse(): submit with a
 * submissionId, run with a tempId and testCases, custom otherwise. */
enum job_mode job_mode_implied(const cJSON *line);

/* The sections the stages add to a job line (meta, exec, result, error,
 * retry, dlq). job_section_of() names the first one line carries, or NULL;
 * job_bare() returns a copy of line without any (the caller deletes). */
const char *job_section_of(const cJSON *line);
cJSON *job_bare(const cJSON *line);

#endif
