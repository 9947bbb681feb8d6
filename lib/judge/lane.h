/* lane: the platform's three job lanes (submit, run, custom), each with its
 * job topic, result topic, consumer group and id field (DESIGN.md
 * section 2). Topic and group names can be changed by environment:
 * KAFKA_<LANE>_JOBS_TOPIC, KAFKA_<LANE>_RESULTS_TOPIC, KAFKA_<LANE>_GROUP_ID
 * with <LANE> one of SUBMISSION, RUN, CUSTOM; KAFKA_DLQ_TOPIC. */
#ifndef LANE_H
#define LANE_H

struct lane {
	const char *name;		/* "submit", "run", "custom": the idempotency key's mode */
	const char *jobs_topic;
	const char *results_topic;
	const char *group;
	const char *id_field;		/* "submissionId" or "tempId" */
};

/* The lane called name ("submit"/"submission", "run", "custom"), or NULL.
 * Borrowed; the names reflect the environment at the first call. */
const struct lane *lane_find(const char *name);

/* The lane whose job topic is topic, or NULL. */
const struct lane *lane_of_topic(const char *topic);

/* The dead-letter topic (KAFKA_DLQ_TOPIC, default DLQ_QUEUE). */
const char *lane_dlq_topic(void);

#endif
