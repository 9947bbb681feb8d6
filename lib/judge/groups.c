#include "judge/groups.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/jsonx.h"
#include "core/util.h"

/* A name is copied into the result: 1000 of them stay far under its cap. */
enum { POINTS_MAX = 1000000000, NAME_MAX_BYTES = 256 };

void groups_free(struct groups *g)
{
	for (int k = 0; k < g->n; k++)
		free(g->v[k].tests);
	free(g->v);
	memset(g, 0, sizeof *g);
}

/* The testcases by Id, sorted, to find each Id a group names; an Id two
 * testcases share has index -1 (a group could not tell which). */
struct by_id {
	const char *id;
	int i;
};

static int cmp_id(const void *a, const void *b)
{
	return strcmp(((const struct by_id *)a)->id, ((const struct by_id *)b)->id);
}

static struct by_id *index_ids(const cJSON *tests, int ntests, int *n)
{
	struct by_id *v = xcalloc((size_t)ntests + 1, sizeof *v);
	*n = 0;
	for (int i = 0; i < ntests; i++) {
		const char *id = jsonx_str(cJSON_GetArrayItem(tests, i), "Id");
		if (id)
			v[(*n)++] = (struct by_id){id, i};
	}
	qsort(v, (size_t)*n, sizeof *v, cmp_id);
	for (int k = 1; k < *n; k++)
		if (strcmp(v[k - 1].id, v[k].id) == 0)
			v[k - 1].i = v[k].i = -1;
	return v;
}

/* What parse_one() reads against. */
struct ids {
	struct by_id *v;
	int n;
	int *seen;		/* testcase -> 1 + the last group that named it */
	int ntests;
};

static int test_index(const struct ids *ids, const char *id)
{
	struct by_id key = {id, 0}, *hit = bsearch(&key, ids->v, (size_t)ids->n, sizeof key, cmp_id);
	return hit ? hit->i : -1;
}

static int parse_one(struct group *gr, const cJSON *o, int k, struct ids *ids,
		     char *msg, size_t msglen)
{
	const cJSON *points = cJSON_GetObjectItemCaseSensitive(o, "points");
	const cJSON *tcs = cJSON_GetObjectItemCaseSensitive(o, "testCases");
	const cJSON *scoring = cJSON_GetObjectItemCaseSensitive(o, "scoring");
	const cJSON *id;
	gr->name = jsonx_str(o, "name");
	if (gr->name == NULL || gr->name[0] == '\0' || strlen(gr->name) > NAME_MAX_BYTES) {
		snprintf(msg, msglen, "groups[%d].name must be a string of 1 to %d bytes", k,
			 NAME_MAX_BYTES);
		return -1;
	}
	if (!cJSON_IsNumber(points) || !isfinite(points->valuedouble) || points->valuedouble < 0 ||
	    points->valuedouble > POINTS_MAX) {
		snprintf(msg, msglen, "groups[%d].points must be a number from 0 to %d", k, POINTS_MAX);
		return -1;
	}
	gr->points = points->valuedouble;
	if (scoring && !(cJSON_IsString(scoring) && (strcmp(scoring->valuestring, "all") == 0 ||
						     strcmp(scoring->valuestring, "sum") == 0))) {
		snprintf(msg, msglen, "groups[%d].scoring must be \"all\" or \"sum\"", k);
		return -1;
	}
	gr->sum = scoring && strcmp(scoring->valuestring, "sum") == 0;
	if (!cJSON_IsArray(tcs) || cJSON_GetArraySize(tcs) == 0 ||
	    cJSON_GetArraySize(tcs) > ids->ntests) {
		snprintf(msg, msglen, "groups[%d].testCases must be a non-empty array of testcase Ids", k);
		return -1;
	}
	gr->tests = xcalloc((size_t)cJSON_GetArraySize(tcs), sizeof *gr->tests);
	cJSON_ArrayForEach(id, tcs) {
		int i = cJSON_IsString(id) ? test_index(ids, id->valuestring) : -1;
		if (i < 0) {
			snprintf(msg, msglen, "groups[%d].testCases[%d] is not the Id of exactly one testcase",
				 k, gr->n);
			return -1;
		}
		if (ids->seen[i] == k + 1) {
			snprintf(msg, msglen, "groups[%d].testCases names '%.64s' twice", k, id->valuestring);
			return -1;
		}
		ids->seen[i] = k + 1;
		gr->tests[gr->n++] = i;
	}
	return 0;
}

int groups_parse(struct groups *g, const cJSON *line, const cJSON *tests, int ntests,
		 char *msg, size_t msglen)
{
	const cJSON *arr = cJSON_GetObjectItemCaseSensitive(line, "groups"), *o;
	int k = 0;
	memset(g, 0, sizeof *g);
	if (arr == NULL)
		return 0;
	if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) == 0 ||
	    cJSON_GetArraySize(arr) > GROUPS_MAX) {
		snprintf(msg, msglen, "groups must be an array of 1 to %d groups", GROUPS_MAX);
		return -1;
	}
	struct ids ids = {.seen = xcalloc((size_t)ntests + 1, sizeof *ids.seen), .ntests = ntests};
	ids.v = index_ids(tests, ntests, &ids.n);
	g->v = xcalloc((size_t)cJSON_GetArraySize(arr), sizeof *g->v);
	cJSON_ArrayForEach(o, arr) {
		g->n = k + 1;
		if (!cJSON_IsObject(o)) {
			snprintf(msg, msglen, "groups[%d] must be an object", k);
			goto bad;
		}
		if (parse_one(&g->v[k], o, k, &ids, msg, msglen) != 0)
			goto bad;
		for (int m = 0; m < k; m++)
			if (strcmp(g->v[m].name, g->v[k].name) == 0) {
				snprintf(msg, msglen, "groups[%d].name '%.64s' is taken by groups[%d]", k,
					 g->v[k].name, m);
				goto bad;
			}
		k++;
	}
	free(ids.v);
	free(ids.seen);
	return 0;
bad:
	free(ids.v);
	free(ids.seen);
	groups_free(g);
	return -1;
}

double group_score(const struct group *gr, const char *accepted, int *passed)
{
	int ok = 0;
	for (int m = 0; m < gr->n; m++)
		ok += accepted[gr->tests[m]] != 0;
	*passed = ok;
	if (gr->sum)
		return gr->points * ok / gr->n;
	return ok == gr->n ? gr->points : 0;
}
