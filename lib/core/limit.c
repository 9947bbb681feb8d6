#include "core/limit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"

static const struct limit_field {
	const char *table_name;
	const char *job_name;
	size_t offset;
	int64_t min, max;
} fields[] = {
	{"time_ms", "timeMs", offsetof(struct sbx_limits, time_ms), 1, 600000},
	{"wall_ms", "wallMs", offsetof(struct sbx_limits, wall_ms), 1, 1200000},
	{"memory_mb", "memoryMb", offsetof(struct sbx_limits, memory_mb), 8, 65536},
	{"processes", "processes", offsetof(struct sbx_limits, processes), 1, 4096},
	{"output_bytes", "outputBytes", offsetof(struct sbx_limits, output_bytes), 0, 64 << 20},
	{"file_bytes", "fileBytes", offsetof(struct sbx_limits, file_bytes), 0, 1 << 30},
	{"workdir_mb", "workdirMb", offsetof(struct sbx_limits, workdir_mb), 1, 8192},
};
enum { NFIELDS = sizeof fields / sizeof fields[0] };

static int64_t *field_of(struct sbx_limits *l, const struct limit_field *f)
{
	return (int64_t *)((char *)l + f->offset);
}

static const struct limit_field *find_field(const char *name)
{
	for (size_t i = 0; i < NFIELDS; i++)
		if (strcmp(name, fields[i].table_name) == 0 ||
		    strcmp(name, fields[i].job_name) == 0)
			return &fields[i];
	return NULL;
}

void limit_default(struct sbx_limits *l)
{
	l->time_ms = 3000;
	l->wall_ms = 6000;
	l->memory_mb = 256;
	l->processes = 64;
	l->output_bytes = 64 * 1024;
	l->file_bytes = 8 << 20;
	l->workdir_mb = 64;
}

static int set_checked(struct sbx_limits *l, const struct limit_field *f,
		       int64_t v, char *err, size_t errlen)
{
	if (v < f->min || v > f->max) {
		snprintf(err, errlen, "limit %s=%lld is out of range [%lld, %lld]",
			 f->job_name, (long long)v, (long long)f->min, (long long)f->max);
		return -1;
	}
	*field_of(l, f) = v;
	return 0;
}

int limit_set(struct sbx_limits *l, const char *name, const char *value,
	       char *err, size_t errlen)
{
	const struct limit_field *f = find_field(name);
	int64_t v;
	if (f == NULL) {
		snprintf(err, errlen, "unknown limit '%s'", name);
		return -1;
	}
	if (parse_i64(value, INT64_MIN, INT64_MAX, &v) != 0) {
		snprintf(err, errlen, "limit %s: '%s' is not an integer", name, value);
		return -1;
	}
	return set_checked(l, f, v, err, errlen);
}

int limit_from_json(struct sbx_limits *l, const cJSON *obj, char *err,
		     size_t errlen)
{
	const cJSON *item;
	if (obj == NULL || cJSON_IsNull(obj))
		return 0;
	if (!cJSON_IsObject(obj)) {
		snprintf(err, errlen, "limits must be an object");
		return -1;
	}
	cJSON_ArrayForEach(item, obj) {
		const struct limit_field *f = find_field(item->string);
		if (f == NULL) {
			snprintf(err, errlen, "unknown limit '%s'", item->string);
			return -1;
		}
		double d = item->valuedouble;
		if (!cJSON_IsNumber(item) || d != (double)(int64_t)d) {
			snprintf(err, errlen, "limit %s must be an integer", item->string);
			return -1;
		}
		if (d < -1e15 || d > 1e15) {
			snprintf(err, errlen, "limit %s is out of range", item->string);
			return -1;
		}
		if (set_checked(l, f, (int64_t)d, err, errlen) != 0)
			return -1;
	}
	return 0;
}

static int env_limit(struct sbx_limits *l, const char *var, const char *name,
		     char *err, size_t errlen)
{
	const char *v = getenv(var);
	char sub[256];
	if (v == NULL || *v == '\0')
		return 0;
	if (limit_set(l, name, v, sub, sizeof sub) != 0) {
		snprintf(err, errlen, "%s: %s", var, sub);
		return -1;
	}
	return 0;
}

int limit_from_env(struct sbx_limits *l, char *err, size_t errlen)
{
	if (env_limit(l, "EXECUTION_TIMEOUT", "wall_ms", err, errlen) != 0)
		return -1;
	return env_limit(l, "MAX_OUTPUT_LENGTH", "output_bytes", err, errlen);
}

cJSON *limit_to_json(const struct sbx_limits *l)
{
	cJSON *obj = cJSON_CreateObject();
	for (size_t i = 0; i < NFIELDS; i++)
		cJSON_AddNumberToObject(obj, fields[i].job_name,
					(double)*field_of((struct sbx_limits *)l, &fields[i]));
	return obj;
}
