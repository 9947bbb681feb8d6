/* limit: the resource limits of one sandboxed step, their names in job
 * lines (camelCase) and in the language table (snake_case), with strict
 * parsing and ranges. */
#ifndef LIMIT_H
#define LIMIT_H

#include <stddef.h>
#include <stdint.h>
#include <cjson/cJSON.h>

struct sbx_limits {
	int64_t time_ms;	/* CPU time, from the cgroup */
	int64_t wall_ms;	/* wall clock */
	int64_t memory_mb;	/* memory without swap */
	int64_t processes;	/* pids (threads count) */
	int64_t output_bytes;	/* captured bytes per stream */
	int64_t file_bytes;	/* largest file written (RLIMIT_FSIZE) */
	int64_t workdir_mb;	/* size of the box's writable tmpfs */
};

/* Built-in defaults, before the language table and the job apply. */
void limit_default(struct sbx_limits *l);

/* Sets one limit by its table name ("time_ms") or job name ("timeMs") from
 * a decimal string. Returns 0, or -1 with a message in err. */
int limit_set(struct sbx_limits *l, const char *name, const char *value,
	       char *err, size_t errlen);

/* Applies a job's `limits` object (borrowed; NULL is fine) over *l.
 * Unknown keys, non-integers and values out of range are errors.
 * Returns 0, or -1 with a message in err. */
int limit_from_json(struct sbx_limits *l, const cJSON *obj, char *err,
		     size_t errlen);

/* Applies the platform's variables: EXECUTION_TIMEOUT (ms, wall) and
 * MAX_OUTPUT_LENGTH (bytes), when set. Returns 0, or -1 with err. */
int limit_from_env(struct sbx_limits *l, char *err, size_t errlen);

/* The limits as a JSON object with the job-line names; caller deletes. */
cJSON *limit_to_json(const struct sbx_limits *l);

/* What a language's binary cache keeps (bincache.h; languages.conf). */
struct bincache_limits {
	long entries;		/* most entries kept */
	size_t entry_bytes;	/* a larger binary is not kept */
	size_t total_bytes;	/* most bytes kept in all */
};

#endif
