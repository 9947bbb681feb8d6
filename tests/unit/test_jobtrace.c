/* Unit tests of lib/otel/jobtrace.c (a job line's trace context, the headers
 * it passes on, its metric attributes) and the trace ids lib/core/log.c adds
 * to a job's log lines. Spans on the wire: tests/telemetry.bats. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/jsonx.h"
#include "core/log.h"
#include "core/util.h"
#include "otel/jobtrace.h"
#include "unit.h"

static const char tp_example[] = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
static const char tp_other[] = "00-4bf92f3577b34da6a3ce929d0e0e4736-b7ad6b7169203331-00";

/* A job line with meta {lane, traceparent, tracestate} (NULL: left out). */
static cJSON *job_line(const char *traceparent, const char *tracestate)
{
	cJSON *line = cJSON_Parse("{\"tempId\":\"t1\",\"language\":\"python\",\"userCode\":\"\\\"\\\"\"}");
	cJSON *meta = cJSON_AddObjectToObject(line, "meta");
	cJSON_AddStringToObject(meta, "lane", "custom");
	if (traceparent)
		cJSON_AddStringToObject(meta, "traceparent", traceparent);
	else
		cJSON_AddNullToObject(meta, "traceparent");
	if (tracestate)
		cJSON_AddStringToObject(meta, "tracestate", tracestate);
	return line;
}

static void test_context(void)
{
	struct tracectx c;
	char out[TRACECTX_PARENT_LEN + 1];
	cJSON *line = job_line(tp_example, "rojo=1");
	CHECK_INT(tracectx_of_line(line, &c), 0);
	tracectx_format(&c, out);
	CHECK_STR(out, tp_example);
	CHECK_STR(c.trace_state, "rojo=1");
	cJSON_Delete(line);

	line = job_line(NULL, NULL);
	CHECK_INT(tracectx_of_line(line, &c), -1);
	CHECK(!tracectx_valid(&c));
	cJSON_Delete(line);
	line = job_line("00-t-s-01", NULL);
	CHECK_INT(tracectx_of_line(line, &c), -1);
	cJSON_Delete(line);
	CHECK_INT(tracectx_of_line(NULL, &c), -1);
}

/* Tracing off: no span, and the line's context goes on as it came, even
 * one that is not valid (it is not ours to judge). */
static void test_headers_without_span(void)
{
	struct jobtrace_headers h;
	cJSON *line = job_line("00-t-s-01", "rojo=1");
	CHECK(jobtrace_start("x", OTEL_INTERNAL, line) == NULL);
	jobtrace_headers(&h, NULL, line);
	CHECK_STR(h.traceparent, "00-t-s-01");
	CHECK_STR(h.tracestate, "rojo=1");
	cJSON_Delete(line);
	line = job_line(NULL, NULL);
	jobtrace_headers(&h, NULL, line);
	CHECK(h.traceparent == NULL && h.tracestate == NULL);
	cJSON_Delete(line);
}

static void test_attrs(void)
{
	struct otel_attr a[JOBTRACE_ATTRS];
	cJSON *line = job_line(NULL, NULL);
	CHECK_INT(jobtrace_attrs(line, a), 2);
	CHECK_STR(a[0].key, "codex.lane");
	CHECK_STR(a[0].value, "custom");
	CHECK_STR(a[1].key, "codex.language");
	CHECK_STR(a[1].value, "python");
	cJSON_DeleteItemFromObject(line, "language");
	cJSON_AddItemToObject(line, "exec", cJSON_Parse("{\"language\":\"go\"}"));
	CHECK_INT(jobtrace_attrs(line, a), 2);
	CHECK_STR(a[1].value, "go");
	cJSON_DeleteItemFromObject(line, "meta");
	CHECK_INT(jobtrace_attrs(line, a), 1);
	CHECK_STR(a[0].key, "codex.language");
	cJSON_Delete(line);
}

/* Runs fn with stderr going to a file; returns what it wrote (static). */
static const char *stderr_of(void (*fn)(void))
{
	static char buf[8192];
	FILE *f = tmpfile();
	int saved = dup(2);
	fflush(stderr);
	dup2(fileno(f), 2);
	fn();
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	size_t n = (size_t)ftell(f);
	rewind(f);
	n = fread(buf, 1, n < sizeof buf - 1 ? n : sizeof buf - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static void log_with_meta(void)
{
	cJSON *line = job_line(tp_example, NULL);
	log_job(LOG_INFO, line, "consumed");
	cJSON_Delete(line);
}

static void log_with_span(void)
{
	struct tracectx own;
	cJSON *line = job_line(tp_example, NULL);
	tracectx_parse(&own, tp_other, NULL);
	log_job_ctx(LOG_INFO, line, &own, "judged: accepted");
	cJSON_Delete(line);
}

static void log_without_context(void)
{
	cJSON *line = job_line(NULL, NULL);
	log_job(LOG_INFO, line, "consumed");
	log_job_ctx(LOG_WARN, NULL, NULL, "no job");
	cJSON_Delete(line);
}

static void test_log_lines(void)
{
	unsetenv("LOG_FORMAT");
	unsetenv("LOG_LEVEL");
	log_init("unit");
	cJSON *j = cJSON_Parse(stderr_of(log_with_meta));
	CHECK_STR(jsonx_str(j, "trace_id"), "4bf92f3577b34da6a3ce929d0e0e4736");
	CHECK_STR(jsonx_str(j, "span_id"), "00f067aa0ba902b7");
	CHECK_STR(jsonx_str(j, "trace_flags"), "01");
	CHECK_STR(jsonx_str(j, "tempId"), "t1");
	CHECK_STR(jsonx_str(j, "msg"), "consumed");
	cJSON_Delete(j);

	/* The program's own span wins over the line's. */
	j = cJSON_Parse(stderr_of(log_with_span));
	CHECK_STR(jsonx_str(j, "trace_id"), "4bf92f3577b34da6a3ce929d0e0e4736");
	CHECK_STR(jsonx_str(j, "span_id"), "b7ad6b7169203331");
	CHECK_STR(jsonx_str(j, "trace_flags"), "00");
	cJSON_Delete(j);

	const char *text = stderr_of(log_without_context);
	CHECK(strstr(text, "trace_id") == NULL && strstr(text, "span_id") == NULL);
	CHECK(strstr(text, "\"msg\":\"no job\"") != NULL);

	setenv("LOG_FORMAT", "text", 1);
	log_init("unit");
	/* "HH:MM:SS unit  t1  judged: accepted": the job's id, no level at info */
	text = stderr_of(log_with_span);
	CHECK(strlen(text) > 9 && text[2] == ':' && text[5] == ':' && text[8] == ' ');
	CHECK_STR(strlen(text) > 9 ? text + 9 : text, "unit  t1  judged: accepted\n");
	unsetenv("LOG_FORMAT");
	log_init("unit");
}

int main(void)
{
	UNIT_RUN(test_context);
	UNIT_RUN(test_headers_without_span);
	UNIT_RUN(test_attrs);
	UNIT_RUN(test_log_lines);
	return unit_finish();
}
