/* Unit tests of lib/core/limit.c: limit names, strict parsing, ranges, the
 * platform's environment variables. */
#include <stdlib.h>

#include "core/limit.h"
#include "unit.h"

static void test_defaults(void)
{
	struct sbx_limits l;
	limit_default(&l);
	CHECK_INT(l.time_ms, 3000);
	CHECK_INT(l.wall_ms, 6000);
	CHECK_INT(l.memory_mb, 256);
	CHECK_INT(l.processes, 64);
	CHECK_INT(l.output_bytes, 65536);
}

static void test_set_by_either_name(void)
{
	struct sbx_limits l;
	char err[256];
	limit_default(&l);
	CHECK_INT(limit_set(&l, "time_ms", "1500", err, sizeof err), 0);
	CHECK_INT(l.time_ms, 1500);
	CHECK_INT(limit_set(&l, "memoryMb", "512", err, sizeof err), 0);
	CHECK_INT(l.memory_mb, 512);
}

static void test_set_rejects(void)
{
	struct sbx_limits l;
	char err[256];
	limit_default(&l);
	CHECK_INT(limit_set(&l, "time_ms", "12ms", err, sizeof err), -1);
	CHECK_STR(err, "limit time_ms: '12ms' is not an integer");
	CHECK_INT(limit_set(&l, "time_ms", "", err, sizeof err), -1);
	CHECK_INT(limit_set(&l, "time_ms", " 12", err, sizeof err), -1);
	CHECK_INT(limit_set(&l, "time_ms", "0", err, sizeof err), -1);
	CHECK_STR(err, "limit timeMs=0 is out of range [1, 600000]");
	CHECK_INT(limit_set(&l, "memory_mb", "99999999999999999999", err, sizeof err), -1);
	CHECK_INT(limit_set(&l, "cpu", "1", err, sizeof err), -1);
	CHECK_STR(err, "unknown limit 'cpu'");
	CHECK_INT(l.time_ms, 3000);	/* failures change nothing */
}

static int from_json(struct sbx_limits *l, const char *text, char *err, size_t len)
{
	cJSON *o = cJSON_Parse(text);
	int rc = limit_from_json(l, o, err, len);
	cJSON_Delete(o);
	return rc;
}

static void test_from_json(void)
{
	struct sbx_limits l;
	char err[256];
	limit_default(&l);
	CHECK_INT(from_json(&l, "{\"timeMs\":100,\"wallMs\":200,\"outputBytes\":0}", err, sizeof err), 0);
	CHECK_INT(l.time_ms, 100);
	CHECK_INT(l.wall_ms, 200);
	CHECK_INT(l.output_bytes, 0);
	CHECK_INT(from_json(&l, "null", err, sizeof err), 0);
	CHECK_INT(from_json(&l, "{\"timeMs\":1.5}", err, sizeof err), -1);
	CHECK_STR(err, "limit timeMs must be an integer");
	CHECK_INT(from_json(&l, "{\"timeMs\":\"100\"}", err, sizeof err), -1);
	CHECK_INT(from_json(&l, "{\"timeMs\":-1}", err, sizeof err), -1);
	CHECK_INT(from_json(&l, "{\"timeMs\":1e300}", err, sizeof err), -1);
	CHECK_INT(from_json(&l, "{\"nice\":1}", err, sizeof err), -1);
	CHECK_STR(err, "unknown limit 'nice'");
	CHECK_INT(from_json(&l, "[1]", err, sizeof err), -1);
	CHECK_STR(err, "limits must be an object");
}

static void test_from_env(void)
{
	struct sbx_limits l;
	char err[256];
	limit_default(&l);
	setenv("EXECUTION_TIMEOUT", "2500", 1);
	setenv("MAX_OUTPUT_LENGTH", "1000", 1);
	CHECK_INT(limit_from_env(&l, err, sizeof err), 0);
	CHECK_INT(l.wall_ms, 2500);
	CHECK_INT(l.output_bytes, 1000);
	setenv("EXECUTION_TIMEOUT", "soon", 1);
	CHECK_INT(limit_from_env(&l, err, sizeof err), -1);
	CHECK_STR(err, "EXECUTION_TIMEOUT: limit wall_ms: 'soon' is not an integer");
	unsetenv("EXECUTION_TIMEOUT");
	unsetenv("MAX_OUTPUT_LENGTH");
}

static void test_to_json(void)
{
	struct sbx_limits l;
	limit_default(&l);
	cJSON *o = limit_to_json(&l);
	char *s = cJSON_PrintUnformatted(o);
	CHECK_STR(s, "{\"timeMs\":3000,\"wallMs\":6000,\"memoryMb\":256,\"processes\":64,"
		     "\"outputBytes\":65536,\"fileBytes\":8388608,\"workdirMb\":64}");
	free(s);
	cJSON_Delete(o);
}

int main(void)
{
	UNIT_RUN(test_defaults);
	UNIT_RUN(test_set_by_either_name);
	UNIT_RUN(test_set_rejects);
	UNIT_RUN(test_from_json);
	UNIT_RUN(test_from_env);
	UNIT_RUN(test_to_json);
	return unit_finish();
}
