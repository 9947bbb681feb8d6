#include "judge/lane.h"

#include <stdlib.h>
#include <string.h>

static struct lane lanes[] = {
	{"submit", "SUBMISSION_JOBS", "SUBMISSION_RESULTS", "CE_SUBMISSION_NORMAL_EXEC", "submissionId"},
	{"run", "RUN_JOBS", "RUN_RESULTS", "CE_RUN_NORMAL_EXEC", "tempId"},
	{"custom", "CUSTOM_JOBS", "CUSTOM_RESULTS", "CE_CUSTOM_NORMAL_EXEC", "tempId"},
};
static const char *const env_names[] = {"SUBMISSION", "RUN", "CUSTOM"};
enum { NLANES = sizeof lanes / sizeof lanes[0] };

static void env_override(const char **field, const char *lane, const char *what)
{
	char name[64];
	const char *v;
	strcpy(name, "KAFKA_");
	strcat(name, lane);
	strcat(name, what);
	v = getenv(name);
	if (v && *v)
		*field = v;
}

static void load(void)
{
	static int done;
	if (done)
		return;
	done = 1;
	for (int i = 0; i < NLANES; i++) {
		env_override(&lanes[i].jobs_topic, env_names[i], "_JOBS_TOPIC");
		env_override(&lanes[i].results_topic, env_names[i], "_RESULTS_TOPIC");
		env_override(&lanes[i].group, env_names[i], "_GROUP_ID");
	}
}

const struct lane *lane_find(const char *name)
{
	load();
	if (name && strcmp(name, "submission") == 0)
		name = "submit";
	for (int i = 0; name && i < NLANES; i++)
		if (strcmp(lanes[i].name, name) == 0)
			return &lanes[i];
	return NULL;
}

const struct lane *lane_of_topic(const char *topic)
{
	load();
	for (int i = 0; topic && i < NLANES; i++)
		if (strcmp(lanes[i].jobs_topic, topic) == 0)
			return &lanes[i];
	return NULL;
}

const char *lane_dlq_topic(void)
{
	const char *v = getenv("KAFKA_DLQ_TOPIC");
	return v && *v ? v : "DLQ_QUEUE";
}
