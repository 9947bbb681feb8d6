/* Unit tests of lib/judge/groups.c: scored groups read against testCases,
 * and their scores. */
#include <stdlib.h>
#include <string.h>

#include "judge/groups.h"
#include "unit.h"

static const char tests_json[] =
	"[{\"Id\":\"a\",\"input\":\"\",\"output\":\"\"},{\"Id\":\"b\",\"input\":\"\",\"output\":\"\"},"
	"{\"Id\":\"c\",\"input\":\"\",\"output\":\"\"},{\"Id\":\"c\",\"input\":\"\",\"output\":\"\"},"
	"{\"Id\":\"d\",\"input\":\"\",\"output\":\"\"}]";

/* Parses {"groups": GROUPS} against tests_json: the return code, and the
 * message in msg. */
static int parse(struct groups *g, const char *groups, char *msg, size_t len)
{
	char *text = malloc(strlen(groups) + 16);
	strcpy(text, "{\"groups\":");
	strcat(text, groups);
	strcat(text, "}");
	cJSON *line = cJSON_Parse(text), *tests = cJSON_Parse(tests_json);
	msg[0] = '\0';
	int rc = groups_parse(g, line, tests, cJSON_GetArraySize(tests), msg, len);
	/* The names are borrowed from the line: kept for the checks. */
	if (rc == 0)
		for (int k = 0; k < g->n; k++)
			g->v[k].name = strdup(g->v[k].name);
	cJSON_Delete(line);
	cJSON_Delete(tests);
	free(text);
	return rc;
}

static void free_names(struct groups *g)
{
	for (int k = 0; k < g->n; k++)
		free((char *)g->v[k].name);
	groups_free(g);
}

static void test_none(void)
{
	struct groups g;
	char msg[256];
	cJSON *line = cJSON_Parse("{\"testCases\":[]}");
	CHECK_INT(groups_parse(&g, line, NULL, 0, msg, sizeof msg), 0);
	CHECK_INT(g.n, 0);
	groups_free(&g);
	cJSON_Delete(line);
}

static void test_scores(void)
{
	struct groups g;
	char msg[256];
	CHECK_INT(parse(&g, "[{\"name\":\"x\",\"points\":30,\"testCases\":[\"a\",\"b\"]},"
			 "{\"name\":\"y\",\"points\":70,\"testCases\":[\"b\",\"d\",\"a\"],\"scoring\":\"sum\"},"
			 "{\"name\":\"z\",\"points\":10,\"testCases\":[\"d\"],\"scoring\":\"all\"}]",
			 msg, sizeof msg), 0);
	CHECK_INT(g.n, 3);
	CHECK_STR(g.v[0].name, "x");
	CHECK_INT(g.v[1].n, 3);
	CHECK_INT(g.v[1].tests[1], 4);
	CHECK_INT(g.v[1].sum, 1);
	CHECK_INT(g.v[2].sum, 0);
	char all[5] = {1, 1, 1, 1, 1}, some[5] = {1, 0, 0, 0, 1}, none[5] = {0};
	int passed;
	CHECK(group_score(&g.v[0], all, &passed) == 30);
	CHECK_INT(passed, 2);
	CHECK(group_score(&g.v[0], some, &passed) == 0);
	CHECK_INT(passed, 1);
	double s = group_score(&g.v[1], some, &passed);
	CHECK(s > 46.66 && s < 46.67);
	CHECK_INT(passed, 2);
	CHECK(group_score(&g.v[2], some, &passed) == 10);
	CHECK(group_score(&g.v[1], none, &passed) == 0);
	CHECK_INT(passed, 0);
	free_names(&g);
}

static void bad(const char *groups, const char *want)
{
	struct groups g;
	char msg[256];
	CHECK_INT(parse(&g, groups, msg, sizeof msg), -1);
	CHECK_STR(msg, want);
	CHECK(g.n == 0 && g.v == NULL);
}

static void test_errors(void)
{
	bad("{}", "groups must be an array of 1 to 1000 groups");
	bad("[]", "groups must be an array of 1 to 1000 groups");
	bad("[1]", "groups[0] must be an object");
	bad("[{\"points\":1,\"testCases\":[\"a\"]}]", "groups[0].name must be a string of 1 to 256 bytes");
	bad("[{\"name\":\"\",\"points\":1,\"testCases\":[\"a\"]}]",
	    "groups[0].name must be a string of 1 to 256 bytes");
	char long_name[400];
	snprintf(long_name, sizeof long_name, "[{\"name\":\"%0257d\",\"points\":1,\"testCases\":[\"a\"]}]", 7);
	bad(long_name, "groups[0].name must be a string of 1 to 256 bytes");
	bad("[{\"name\":\"x\",\"testCases\":[\"a\"]}]", "groups[0].points must be a number from 0 to 1000000000");
	bad("[{\"name\":\"x\",\"points\":-1,\"testCases\":[\"a\"]}]",
	    "groups[0].points must be a number from 0 to 1000000000");
	bad("[{\"name\":\"x\",\"points\":\"5\",\"testCases\":[\"a\"]}]",
	    "groups[0].points must be a number from 0 to 1000000000");
	bad("[{\"name\":\"x\",\"points\":1,\"testCases\":[\"a\"],\"scoring\":\"min\"}]",
	    "groups[0].scoring must be \"all\" or \"sum\"");
	bad("[{\"name\":\"x\",\"points\":1,\"testCases\":[]}]",
	    "groups[0].testCases must be a non-empty array of testcase Ids");
	bad("[{\"name\":\"x\",\"points\":1,\"testCases\":\"a\"}]",
	    "groups[0].testCases must be a non-empty array of testcase Ids");
	bad("[{\"name\":\"x\",\"points\":1,\"testCases\":[\"a\",\"zz\"]}]",
	    "groups[0].testCases[1] is not the Id of exactly one testcase");
	bad("[{\"name\":\"x\",\"points\":1,\"testCases\":[\"c\"]}]",
	    "groups[0].testCases[0] is not the Id of exactly one testcase");
	bad("[{\"name\":\"x\",\"points\":1,\"testCases\":[7]}]",
	    "groups[0].testCases[0] is not the Id of exactly one testcase");
	bad("[{\"name\":\"x\",\"points\":1,\"testCases\":[\"a\",\"b\",\"a\"]}]",
	    "groups[0].testCases names 'a' twice");
	bad("[{\"name\":\"x\",\"points\":1,\"testCases\":[\"a\"]},{\"name\":\"x\",\"points\":2,\"testCases\":[\"b\"]}]",
	    "groups[1].name 'x' is taken by groups[0]");
}

int main(void)
{
	UNIT_RUN(test_none);
	UNIT_RUN(test_scores);
	UNIT_RUN(test_errors);
	return unit_finish();
}
