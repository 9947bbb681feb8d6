#include "report.h"

#include <string.h>

#include "jsonx.h"

static const cJSON *member(const cJSON *obj, const char *key)
{
	return cJSON_GetObjectItemCaseSensitive(obj, key);
}

static double number(const cJSON *obj, const char *key)
{
	const cJSON *v = member(obj, key);
	return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

static const char *str_or(const cJSON *obj, const char *key, const char *dflt)
{
	const char *s = jsonx_str(obj, key);
	return s ? s : dflt;
}

static const char *job_id(const cJSON *line)
{
	const char *id = jsonx_str(line, "submissionId");
	if (id == NULL)
		id = jsonx_str(line, "tempId");
	return id ? id : "-";
}

/* A value on one line: strings with \n and \t shown escaped, other
 * values as JSON, cut at REPORT_TEXT_CAP characters. */
static void put_text(FILE *f, const cJSON *v)
{
	char *json = cJSON_IsString(v) ? NULL : cJSON_PrintUnformatted(v);
	const char *s = cJSON_IsString(v) ? v->valuestring : json ? json : "";
	size_t shown = 0;	/* characters: UTF-8 continuation bytes are not counted */
	for (; *s && (shown < REPORT_TEXT_CAP || ((unsigned char)*s & 0xC0) == 0x80); s++) {
		if (((unsigned char)*s & 0xC0) != 0x80)
			shown++;
		if (*s == '\n')
			fputs("\\n", f);
		else if (*s == '\t')
			fputs("\\t", f);
		else if (*s == '\r')
			fputs("\\r", f);
		else
			fputc(*s, f);
	}
	if (*s)
		fputs("...", f);
	cJSON_free(json);
}

/* The Id of a row: its own, or its testcase's (failedTestCase has none). */
static const char *row_id(const cJSON *line, const cJSON *t)
{
	const cJSON *id = member(t, "Id");
	if (!cJSON_IsString(id)) {
		const cJSON *tests = member(line, "testCases");
		id = member(cJSON_GetArrayItem(tests, (int)number(t, "index")), "Id");
	}
	return cJSON_IsString(id) ? id->valuestring : "";
}

static void put_row(FILE *f, const cJSON *line, const cJSON *t)
{
	const char *verdict = str_or(t, "verdict", "?");
	fprintf(f, "  %-4.0f %-24s ", number(t, "index"), row_id(line, t));
	if (cJSON_HasObjectItem(t, "executionTimeMs"))
		fprintf(f, "%-22s %9.2f %11.2f\n", verdict, number(t, "executionTimeMs"),
			number(t, "memoryMB"));
	else
		fprintf(f, "%s\n", verdict);
	if (strcmp(verdict, "accepted") == 0)
		return;
	fputs("       output:   ", f);
	put_text(f, member(t, "output"));
	fputs("\n       expected: ", f);
	put_text(f, member(t, "expectedOutput"));
	fputc('\n', f);
}

static void put_header(FILE *f, const cJSON *line, const cJSON *fig)
{
	const char *lang = jsonx_str(member(line, "exec"), "language");
	if (lang == NULL)
		lang = jsonx_str(line, "language");
	fprintf(f, "job %s  language %s  verdict %s  time %.0f ms  memory %.1f MB",
		job_id(line), lang ? lang : "?", str_or(fig, "verdict", "?"),
		number(fig, "timeMs"), number(fig, "memoryKb") / 1024);
}

static void put_testcases(FILE *f, const cJSON *line, const cJSON *er)
{
	const cJSON *stats = member(er, "stats"), *rows = member(er, "testResults");
	const cJSON *failed = member(er, "failedTestCase");
	fprintf(f, "  passed %.0f/%.0f\n", number(stats, "passedTestCase"),
		number(stats, "totalTestCase"));
	if (!rows && !failed)
		return;
	if (rows)
		fprintf(f, "  %-4s %-24s %-22s %9s %11s\n", "#", "Id", "verdict",
			"time ms", "memory MB");
	else
		fprintf(f, "  %-4s %-24s %s\n", "#", "Id", "verdict");
	for (const cJSON *t = rows ? rows->child : NULL; t; t = t->next)
		put_row(f, line, t);
	if (failed)
		put_row(f, line, failed);
}

static void put_error(FILE *f, const cJSON *line)
{
	const cJSON *e = member(line, "error");
	fprintf(f, "error %s  %s/%s: %s\n", job_id(line), str_or(e, "kind", "?"),
		str_or(e, "code", "?"), str_or(e, "message", ""));
}

void report_pretty(FILE *f, const struct verdict_output *out)
{
	const cJSON *result = member(out->line, "result");
	const cJSON *er = member(result, "executionResult");
	if (out->status == VERDICT_STATUS_ERROR) {
		put_error(f, out->line);
	} else if (er) {
		put_header(f, out->line, er);
		put_testcases(f, out->line, er);
	} else {
		put_header(f, out->line, result);
		fputs("\n  stdOut: ", f);
		put_text(f, member(result, "stdOut"));
		fputc('\n', f);
	}
	fputc('\n', f);
	fflush(f);
}
