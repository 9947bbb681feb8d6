/* Unit tests of lib/redis/retry.c (backoff, configuration, lines, entries),
 * and lib/redis/redis.c's URLs. Redis and Kafka
 * themselves are exercised by tests/retryd.bats. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/util.h"
#include "redis/redis.h"
#include "redis/retry.h"
#include "unit.h"

static const char infra_line[] =
	"{\"submissionId\":\"s1\",\"userId\":\"u1\",\"language\":\"python\","
	"\"testCases\":[{\"Id\":\"a\",\"input\":\"[1]\",\"output\":\"2\"},{\"Id\":\"b\",\"input\":\"[2]\",\"output\":\"3\"}],"
	"\"meta\":{\"lane\":\"submit\",\"topic\":\"SUBMISSION_JOBS\",\"partition\":0,\"offset\":3,"
	"\"key\":\"s1\",\"headers\":{\"traceparent\":\"00-t-s-01\",\"x-retry-count\":\"1\"},"
	"\"attempt\":2,\"firstSeen\":1795669000},"
	"\"exec\":{\"runs\":[]},"
	"\"error\":{\"kind\":\"infrastructure\",\"code\":\"slot-timeout\",\"message\":\"no slot\"}}";

static cJSON *parse(const char *text)
{
	cJSON *j = cJSON_Parse(text);
	if (j == NULL)
		fprintf(stderr, "bad JSON in a test: %s\n", text);
	return j;
}

/* CHECK_JSON(obj, text): obj prints exactly as text. */
static void check_json(const cJSON *obj, const char *want, int line)
{
	char *got = cJSON_PrintUnformatted(obj);
	unit_check_str(got, want, __FILE__, line, want);
	free(got);
}
#define CHECK_JSON(obj, want) check_json((obj), (want), __LINE__)

static struct retry_conf conf(double base, double max)
{
	struct retry_conf c = {.max_retries = 3, .cap = 10, .base_s = base, .max_s = max,
			       .key = "RETRY_QUEUE"};
	return c;
}

static void test_delay_doubles_and_caps(void)
{
	struct retry_conf c = conf(5, 600);
	static const double want[] = {5, 10, 20, 40, 80, 160, 320, 600, 600, 600};
	for (int a = 1; a <= 10; a++)
		CHECK(retry_delay(&c, a, 0) == want[a - 1]);
	CHECK(retry_delay(&c, 1000000, 0) == 600);
	CHECK(retry_delay(&c, 0, 0) == 5);
}

static void test_delay_jitter(void)
{
	struct retry_conf c = conf(5, 600);
	CHECK(fabs(retry_delay(&c, 1, 0.5) - 5.25) < 1e-9);
	CHECK(fabs(retry_delay(&c, 3, 0.999999) - 22) < 1e-4);
	CHECK(retry_delay(&c, 3, 0.999999) < 22);
	CHECK(fabs(retry_delay(&c, 12, 0.5) - 630) < 1e-9);	/* 10 % of the cap */
	c = conf(0.5, 1);
	CHECK(retry_delay(&c, 1, 0) == 0.5);
	CHECK(retry_delay(&c, 2, 0) == 1);
	CHECK(retry_delay(&c, 3, 0.25) == 1.025);
	for (int i = 0; i < 1000; i++) {
		double u = retry_random(), d = retry_delay(&c, 1, u);
		CHECK(u >= 0 && u < 1 && d >= 0.5 && d < 0.55);
	}
}

static void test_parse_seconds(void)
{
	static const char *const bad[] = {"", "-1", "+1", " 1", "1 ", "1e3", "0x10", "5.", ".5",
					  "1s", "nan", "inf", "0.0001", "2e9", "1,5"};
	double v = -1;
	CHECK(retry_parse_seconds("5", 0.001, 1e9, &v) == 0 && v == 5);
	CHECK(retry_parse_seconds("0.5", 0.001, 1e9, &v) == 0 && v == 0.5);
	CHECK(retry_parse_seconds("600.25", 0.001, 1e9, &v) == 0 && v == 600.25);
	CHECK(retry_parse_seconds("0.001", 0.001, 1e9, &v) == 0);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		unit_check(retry_parse_seconds(bad[i], 0.001, 1e9, &v) == -1, __FILE__, __LINE__, bad[i]);
	CHECK(retry_parse_seconds(NULL, 0, 1, &v) == -1);
}

static void test_conf_env(void)
{
	struct retry_conf c;
	char err[256] = "";
	unsetenv("KAFKA_MAX_RETRIES");
	unsetenv("KAFKA_RETRY_QUEUE_CAP");
	unsetenv("KAFKA_RETRY_BASE_SECONDS");
	unsetenv("KAFKA_RETRY_MAX_SECONDS");
	CHECK(retry_conf_init(&c, err, sizeof err) == 0);
	CHECK(c.max_retries == 3 && c.cap == 100000 && c.base_s == 5 && c.max_s == 600);
	CHECK_STR(c.key, "RETRY_QUEUE");
	setenv("KAFKA_MAX_RETRIES", "5", 1);
	setenv("KAFKA_RETRY_QUEUE_CAP", "", 1);	/* empty: the default */
	setenv("KAFKA_RETRY_BASE_SECONDS", "0.5", 1);
	setenv("KAFKA_RETRY_MAX_SECONDS", "30", 1);
	CHECK(retry_conf_init(&c, err, sizeof err) == 0);
	CHECK(c.max_retries == 5 && c.cap == 100000 && c.base_s == 0.5 && c.max_s == 30);
	setenv("KAFKA_RETRY_QUEUE_CAP", "12x", 1);
	CHECK(retry_conf_init(&c, err, sizeof err) == -1);
	CHECK(strstr(err, "KAFKA_RETRY_QUEUE_CAP=12x") != NULL);
	unsetenv("KAFKA_RETRY_QUEUE_CAP");
	setenv("KAFKA_RETRY_BASE_SECONDS", "-5", 1);
	CHECK(retry_conf_init(&c, err, sizeof err) == -1);
	CHECK(strstr(err, "KAFKA_RETRY_BASE_SECONDS") != NULL);
	unsetenv("KAFKA_RETRY_BASE_SECONDS");
	unsetenv("KAFKA_RETRY_MAX_SECONDS");
	unsetenv("KAFKA_MAX_RETRIES");
}

static void test_ids(void)
{
	char a[RETRY_ID_LEN + 1], b[RETRY_ID_LEN + 1];
	retry_new_id(a);
	retry_new_id(b);
	CHECK_INT(strlen(a), RETRY_ID_LEN);
	CHECK_INT(strspn(a, "0123456789abcdef"), RETRY_ID_LEN);
	CHECK(strcmp(a, b) != 0);
}

static enum retry_kind plan_of(const char *text, struct retry_plan *p, char *why)
{
	static cJSON *keep;	/* p borrows from the line */
	cJSON_Delete(keep);
	keep = parse(text);
	return retry_plan_line(keep, p, why, 128);
}

static void test_plan(void)
{
	struct retry_plan p;
	char why[128] = "";
	CHECK(plan_of("{\"tempId\":\"t\"}", &p, why) == RETRY_KIND_PASS);
	CHECK(plan_of("{\"error\":{\"kind\":\"poison\",\"code\":\"invalid-job\"},\"meta\":{}}", &p, why) ==
	      RETRY_KIND_PASS);
	CHECK(plan_of("{\"error\":{\"kind\":\"infrastructure\"}}", &p, why) == RETRY_KIND_UNUSABLE);
	CHECK_STR(why, "no meta section");
	CHECK(plan_of("{\"error\":{\"kind\":\"infrastructure\"},\"meta\":{}}", &p, why) == RETRY_KIND_UNUSABLE);
	CHECK_STR(why, "no meta.topic and no known meta.lane");
	static const char *const bad_attempts[] = {"0", "1.5", "\"2\"", "-1", "1e7", "true"};
	for (size_t i = 0; i < sizeof bad_attempts / sizeof bad_attempts[0]; i++) {
		char text[256];
		snprintf(text, sizeof text, "{\"error\":{\"kind\":\"infrastructure\"},"
			 "\"meta\":{\"topic\":\"T\",\"attempt\":%s}}", bad_attempts[i]);
		unit_check(plan_of(text, &p, why) == RETRY_KIND_UNUSABLE, __FILE__, __LINE__, bad_attempts[i]);
	}
	CHECK(plan_of(infra_line, &p, why) == RETRY_KIND_RETRY);
	CHECK_INT(p.attempt, 2);
	CHECK_STR(p.first_seen, "1795669000");
	CHECK_STR(p.topic, "SUBMISSION_JOBS");
	CHECK_STR(p.lane, "submit");
	CHECK_STR(p.message, "no slot");
	/* Defaults: attempt 1, firstSeen now, the lane's topic, the code. */
	CHECK(plan_of("{\"error\":{\"kind\":\"infrastructure\",\"code\":\"box-setup\"},"
		      "\"meta\":{\"lane\":\"run\",\"firstSeen\":\"1700000000\"}}", &p, why) == RETRY_KIND_RETRY);
	CHECK_INT(p.attempt, 1);
	CHECK_STR(p.topic, "RUN_JOBS");
	CHECK_STR(p.message, "box-setup");
	CHECK_STR(p.first_seen, "1700000000");
	CHECK(plan_of("{\"error\":{\"kind\":\"infrastructure\"},\"meta\":{\"topic\":\"T\"}}", &p, why) ==
	      RETRY_KIND_RETRY);
	long long now = (long long)(now_wall_ms() / 1000), fs = atoll(p.first_seen);
	CHECK(fs >= now - 1 && fs <= now + 1);
	CHECK_STR(p.message, "infrastructure failure");
	plan_of("{}", &p, why);
}

static void test_entry_new_and_parse(void)
{
	cJSON *line = parse(infra_line);
	struct retry_plan p;
	struct retry_entry e;
	char why[128], err[128];
	CHECK(retry_plan_line(line, &p, why, sizeof why) == RETRY_KIND_RETRY);
	char *text = retry_entry_new(line, &p, "0123abcd");
	CHECK_STR(text,
		  "{\"topic\":\"SUBMISSION_JOBS\",\"key\":\"s1\",\"value\":\"{\\\"submissionId\\\":\\\"s1\\\","
		  "\\\"userId\\\":\\\"u1\\\",\\\"language\\\":\\\"python\\\",\\\"testCases\\\":[{\\\"Id\\\":\\\"a\\\","
		  "\\\"input\\\":\\\"[1]\\\",\\\"output\\\":\\\"2\\\"},{\\\"Id\\\":\\\"b\\\",\\\"input\\\":\\\"[2]\\\","
		  "\\\"output\\\":\\\"3\\\"}]}\",\"headers\":{\"traceparent\":\"00-t-s-01\",\"x-retry-count\":\"2\","
		  "\"x-first-seen\":\"1795669000\"},\"firstSeen\":\"1795669000\",\"id\":\"0123abcd\"}");
	CHECK(retry_entry_parse(text, strlen(text), &e, err, sizeof err) == 0);
	CHECK_STR(e.topic, "SUBMISSION_JOBS");
	CHECK_STR(e.key, "s1");
	CHECK(e.value && strncmp(e.value, "{\"submissionId\":\"s1\"", 20) == 0);
	CHECK_JSON(e.headers, "{\"traceparent\":\"00-t-s-01\",\"x-retry-count\":\"2\",\"x-first-seen\":\"1795669000\"}");
	retry_entry_free(&e);
	free(text);
	/* A null key stays null. */
	cJSON_ReplaceItemInObject(cJSON_GetObjectItem(line, "meta"), "key", cJSON_CreateNull());
	text = retry_entry_new(line, &p, "x");
	CHECK(strstr(text, "\"key\":null") != NULL);
	CHECK(retry_entry_parse(text, strlen(text), &e, err, sizeof err) == 0);
	CHECK(e.key == NULL);
	retry_entry_free(&e);
	free(text);
	cJSON_Delete(line);
}

static void test_entry_platform(void)
{
	/* As the platform's service wrote them: no id, KafkaJS Buffers. */
	static const char old[] =
		"{\"topic\":\"RUN_JOBS\",\"key\":\"no-key\",\"value\":\"{\\\"tempId\\\":\\\"t\\\"}\","
		"\"headers\":{\"traceparent\":{\"type\":\"Buffer\",\"data\":[48,48,45,97]},"
		"\"x-retry-count\":\"1\",\"n\":5,\"half\":{\"type\":\"Buffer\",\"data\":[1.5]},"
		"\"big\":{\"type\":\"Buffer\",\"data\":[256]}},\"firstSeen\":\"1700000000\"}";
	struct retry_entry e;
	char err[128];
	CHECK(retry_entry_parse(old, strlen(old), &e, err, sizeof err) == 0);
	CHECK_STR(e.topic, "RUN_JOBS");
	CHECK_STR(e.key, "no-key");
	CHECK_STR(e.value, "{\"tempId\":\"t\"}");
	CHECK_JSON(e.headers, "{\"traceparent\":\"00-a\",\"x-retry-count\":\"1\"}");
	retry_entry_free(&e);
	static const char minimal[] = "{\"topic\":\"T\",\"value\":\"\"}";
	CHECK(retry_entry_parse(minimal, strlen(minimal), &e, err, sizeof err) == 0);
	CHECK(e.key == NULL);
	CHECK_JSON(e.headers, "{}");
	retry_entry_free(&e);
}

static void check_bad_entry(const char *text, const char *want, int line)
{
	struct retry_entry e;
	char err[128] = "";
	unit_check(retry_entry_parse(text, strlen(text), &e, err, sizeof err) == -1, __FILE__, line, text);
	unit_check_str(err, want, __FILE__, line, text);
	unit_check(e.root == NULL && e.headers == NULL, __FILE__, line, "freed");
}
#define BAD_ENTRY(text, want) check_bad_entry((text), (want), __LINE__)

static void test_entry_invalid(void)
{
	BAD_ENTRY("garbage{", "not a JSON object");
	BAD_ENTRY("[1]", "not a JSON object");
	BAD_ENTRY("{\"value\":\"v\"}", "no topic");
	BAD_ENTRY("{\"topic\":\"\",\"value\":\"v\"}", "no topic");
	BAD_ENTRY("{\"topic\":\"T\",\"value\":{}}", "value is not a string");
	BAD_ENTRY("{\"topic\":\"T\"}", "value is not a string");
	BAD_ENTRY("{\"topic\":\"T\",\"key\":1,\"value\":\"v\"}", "key is neither a string nor null");
	BAD_ENTRY("{\"topic\":\"T\",\"value\":\"v\",\"headers\":[]}", "headers is not an object");
}

static void test_add_sections(void)
{
	cJSON *line = parse(infra_line);
	struct retry_plan p;
	char why[128];
	retry_plan_line(line, &p, why, sizeof why);
	retry_add_retry(line, &p, 1795669005.25);
	CHECK_JSON(cJSON_GetObjectItem(line, "retry"), "{\"attempt\":3,\"due\":1795669005.25}");
	p.attempt = 4;
	retry_add_dlq(line, &p, "max-retries-reached");
	CHECK_JSON(cJSON_GetObjectItem(line, "dlq"),
		   "{\"headers\":{\"x-error\":\"max-retries-reached\",\"x-retry-count\":\"3\","
		   "\"x-first-seen\":\"1795669000\"}}");
	CHECK_JSON(cJSON_GetObjectItem(line, "result"),
		   "{\"submissionId\":\"s1\",\"userId\":\"u1\",\"executionResult\":{\"stats\":{\"totalTestCase\":2,"
		   "\"passedTestCase\":0,\"failedTestCase\":2,\"executionTimeMs\":0,\"memoryMB\":0},\"failedTestCase\":{\"index\":0,\"input\":\"[1]\","
		   "\"output\":\"internal error: no slot\",\"expectedOutput\":\"2\",\"verdict\":\"internal_error\"},"
		   "\"verdict\":\"internal_error\",\"error\":{\"code\":\"max-retries-reached\",\"message\":\"no slot\"}}}");
	retry_add_dlq(line, &p, "retry-queue-capacity");
	CHECK_JSON(cJSON_GetObjectItem(line, "dlq"), "{\"headers\":{\"x-error\":\"retry-queue-capacity\"}}");
	CHECK(cJSON_GetObjectItem(line, "result") != NULL);
	cJSON_Delete(line);
}

static void check_url(const char *text, const char *host, int port, int db, const char *user,
		      const char *password, int line)
{
	struct redis_url u;
	char err[256] = "";
	int ok = redis_url_parse(text, &u, err, sizeof err) == 0;
	unit_check(ok, __FILE__, line, err);
	if (!ok)
		return;
	unit_check_str(u.host, host, __FILE__, line, text);
	unit_check_long(u.port, port, __FILE__, line, text);
	unit_check_long(u.db, db, __FILE__, line, text);
	unit_check_str(u.user, user, __FILE__, line, text);
	unit_check_str(u.password, password, __FILE__, line, text);
}
#define URL_OK(text, host, port, db, user, pw) check_url((text), (host), (port), (db), (user), (pw), __LINE__)

static void test_redis_urls(void)
{
	static const char *const bad[] = {
		"", "127.0.0.1:6379", "http://h", "rediss://h:6380", "redis://", "redis://:6379",
		"redis://h:0", "redis://h:65536", "redis://h:x", "redis://h:", "redis://h/x",
		"redis://h/-1", "redis://h?db=1", "redis://pw@h", "redis://:a%zz@h", "redis://[::1",
		"redis://:a%00@h",
	};
	struct redis_url u;
	char err[256];
	URL_OK("redis://127.0.0.1:26379", "127.0.0.1", 26379, 0, "", "");
	URL_OK("redis://localhost", "localhost", 6379, 0, "", "");
	URL_OK("redis://h:1/3", "h", 1, 3, "", "");
	URL_OK("redis://h/", "h", 6379, 0, "", "");
	URL_OK("redis://:s%40cret@h:7000/2", "h", 7000, 2, "", "s@cret");
	URL_OK("redis://alice:pw@h", "h", 6379, 0, "alice", "pw");
	URL_OK("redis://[::1]:7001", "::1", 7001, 0, "", "");
	URL_OK("redis://[::1]", "::1", 6379, 0, "", "");
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		unit_check(redis_url_parse(bad[i], &u, err, sizeof err) == -1, __FILE__, __LINE__, bad[i]);
	redis_url_parse("redis://h:x", &u, err, sizeof err);
	CHECK(strstr(err, "redis://h:x: the port") == err);
	setenv("REDIS_URL", "redis://env:1", 1);
	CHECK_STR(redis_url_choose("redis://flag:2"), "redis://flag:2");
	CHECK_STR(redis_url_choose(NULL), "redis://env:1");
	setenv("REDIS_URL", "", 1);
	CHECK_STR(redis_url_choose(NULL), "redis://127.0.0.1:6379");
	unsetenv("REDIS_URL");
}

/* No server on the port: the command fails, and the next one waits. */
static void test_redis_unreachable(void)
{
	struct redis_url u;
	struct redis r;
	char err[256];
	const char *argv[] = {"PING"};
	redis_url_parse("redis://127.0.0.1:1", &u, err, sizeof err);
	redis_init(&r, &u, 1000);
	CHECK(redis_command(&r, 1, argv, NULL) == NULL);
	CHECK(strstr(r.err, "unable to connect") != NULL);
	CHECK(redis_retry_in_ms(&r) > 0 && redis_retry_in_ms(&r) <= REDIS_BACKOFF_MIN_MS);
	CHECK(redis_connect(&r) == -1);		/* at once, during the backoff */
	CHECK(r.backoff_ms == 2 * REDIS_BACKOFF_MIN_MS);
	redis_close(&r);
}

int main(void)
{
	setenv("LOG_LEVEL", "silent", 1);
	log_init("test_retry");
	UNIT_RUN(test_delay_doubles_and_caps);
	UNIT_RUN(test_delay_jitter);
	UNIT_RUN(test_parse_seconds);
	UNIT_RUN(test_conf_env);
	UNIT_RUN(test_ids);
	UNIT_RUN(test_plan);
	UNIT_RUN(test_entry_new_and_parse);
	UNIT_RUN(test_entry_platform);
	UNIT_RUN(test_entry_invalid);
	UNIT_RUN(test_add_sections);
	UNIT_RUN(test_redis_urls);
	UNIT_RUN(test_redis_unreachable);
	return unit_finish();
}
