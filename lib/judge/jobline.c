#include "judge/jobline.h"

#include <stdlib.h>
#include <string.h>

#include "core/util.h"

static const char *const shape_names[SHAPE_COUNT] = {
	[SHAPE_COMPAT] = "compat",
	[SHAPE_FUNCTION] = "function",
	[SHAPE_STDIO] = "stdio",
	[SHAPE_CUSTOM] = "custom",
};

static const char *const mode_names[MODE_COUNT] = {
	[MODE_SUBMIT] = "submit",
	[MODE_RUN] = "run",
	[MODE_CUSTOM] = "custom",
};

const char *job_shape_name(enum job_shape s)
{
	return shape_names[s];
}

const char *job_mode_name(enum job_mode m)
{
	return mode_names[m];
}

static int index_of(const char *name, const char *const *names, int n)
{
	for (int i = 0; name && i < n; i++)
		if (strcmp(name, names[i]) == 0)
			return i;
	return -1;
}

int job_shape_named(const char *name)
{
	return index_of(name, shape_names, SHAPE_COUNT);
}

int job_mode_named(const char *name)
{
	return index_of(name, mode_names, MODE_COUNT);
}

enum job_mode job_mode_implied(const cJSON *line)
{
	if (cJSON_HasObjectItem(line, "submissionId"))
		return MODE_SUBMIT;
	if (cJSON_HasObjectItem(line, "tempId") && cJSON_HasObjectItem(line, "testCases"))
		return MODE_RUN;
	return MODE_CUSTOM;
}

static const char *const sections[] = {"meta", "exec", "result", "error", "retry", "dlq"};
enum { NSECTIONS = sizeof sections / sizeof sections[0] };

const char *job_section_of(const cJSON *line)
{
	for (size_t i = 0; i < NSECTIONS; i++)
		if (cJSON_HasObjectItem(line, sections[i]))
			return sections[i];
	return NULL;
}

cJSON *job_bare(const cJSON *line)
{
	cJSON *job = cJSON_Duplicate(line, 1);
	if (job == NULL)
		die(EXIT_TEMPORARY, "out of memory copying a job");
	for (size_t i = 0; i < NSECTIONS; i++)
		cJSON_DeleteItemFromObjectCaseSensitive(job, sections[i]);
	return job;
}
