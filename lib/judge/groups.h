/* groups: a job's scored groups of testcases (docs/formats.md, "Scored
 * groups"): `"groups": [{"name", "points", "testCases": [Id, ...],
 * "scoring": "all" | "sum"}]`. "all" gives a group's points only when every
 * testcase in it is accepted (CMS's GroupMin), "sum" in proportion to
 * those accepted. A job with groups runs every testcase, submissions too. */
#ifndef GROUPS_H
#define GROUPS_H

#include <stddef.h>
#include <cjson/cJSON.h>

enum { GROUPS_MAX = 1000 };

struct group {
	const char *name;	/* borrowed from the job line */
	double points;
	int sum;		/* scoring "sum"; else "all" */
	int *tests;		/* indexes into testCases (owned) */
	int n;
};

struct groups {
	struct group *v;	/* owned */
	int n;			/* 0: the job has no groups */
};

/* Reads line's "groups" against its testCases (tests, ntests of them):
 * absent is no groups. A group names testcases by Id; each Id it names is
 * exactly one testcase's. Returns 0, or -1 with a message naming what is
 * allowed. */
int groups_parse(struct groups *g, const cJSON *line, const cJSON *tests, int ntests,
		 char *msg, size_t msglen);
void groups_free(struct groups *g);

/* A group's score: its points, all or nothing or in proportion, from
 * accepted[i] (1 when testcase i was accepted); *passed: how many of its
 * testcases were. */
double group_score(const struct group *gr, const char *accepted, int *passed);

#endif
