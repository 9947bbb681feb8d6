#include "judge/report.h"

#include <stdint.h>
#include <string.h>

#include "core/jsonx.h"
#include "core/utf8.h"

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

/* Does the code point cp change what a terminal shows or does: C0 and C1
 * controls, DEL, the bidirectional marks (which reorder what follows them
 * on screen), the line and paragraph separators, and the invisible BOM. */
static int control_point(uint32_t cp)
{
	return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F) || cp == 0x061C ||
	       (cp >= 0x200E && cp <= 0x200F) || (cp >= 0x2028 && cp <= 0x202E) ||
	       (cp >= 0x2066 && cp <= 0x2069) || cp == 0xFEFF;
}

static uint32_t code_point(const unsigned char *p, size_t n)
{
	static const unsigned char lead_mask[] = {0, 0x7F, 0x1F, 0x0F, 0x07};
	uint32_t cp = p[0] & lead_mask[n];
	for (size_t i = 1; i < n; i++)
		cp = (cp << 6) | (p[i] & 0x3F);
	return cp;
}

/* Writes the character of s[0..n) (n from utf8_seq(); 0 for a byte that
 * starts no UTF-8 sequence) so that it cannot act on the terminal: \n, \t
 * and \r as such, other controls as \u{XXXX}, stray bytes as \xHH.
 * Returns the columns written: one for a character shown as it is, the
 * length of its escape otherwise. */
static int put_char(FILE *f, const unsigned char *s, size_t n)
{
	if (n == 0)
		return fprintf(f, "\\x%02X", s[0]);
	uint32_t cp = code_point(s, n);
	switch (cp) {
	case '\n':
		return fprintf(f, "\\n");
	case '\t':
		return fprintf(f, "\\t");
	case '\r':
		return fprintf(f, "\\r");
	}
	if (control_point(cp))
		return fprintf(f, "\\u{%04X}", (unsigned)cp);
	fwrite(s, 1, n, f);
	return 1;
}

/* Writes the string s, each character through put_char(), at most `cap`
 * characters of it, then "..." when there was more. Returns the columns
 * written. */
static int put_str(FILE *f, const char *s, size_t cap)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t len = strlen(s), shown = 0, i = 0;
	int cols = 0;
	while (i < len && shown < cap) {
		size_t n = utf8_seq(p + i, len - i);
		cols += put_char(f, p + i, n);
		i += n ? n : 1;
		shown++;
	}
	if (i < len)
		cols += fprintf(f, "...");
	return cols;
}

/* A value on one line: strings as put_str() writes them, other values as
 * JSON, cut at REPORT_TEXT_CAP characters. */
static void put_text(FILE *f, const cJSON *v)
{
	char *json = cJSON_IsString(v) ? NULL : cJSON_PrintUnformatted(v);
	const char *s = cJSON_IsString(v) ? v->valuestring : json ? json : "";
	put_str(f, s, REPORT_TEXT_CAP);
	cJSON_free(json);
}

/* s in a column of `width` characters (cut with "..." when longer), then
 * a blank. */
static void put_column(FILE *f, const char *s, int width)
{
	int used = put_str(f, s, (size_t)width);
	fprintf(f, "%*s ", used < width ? width - used : 0, "");
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
	fprintf(f, "  %-4.0f ", number(t, "index"));
	put_column(f, row_id(line, t), 24);
	if (cJSON_HasObjectItem(t, "executionTimeMs")) {
		put_column(f, verdict, 22);
		fprintf(f, "%9.2f %11.2f\n", number(t, "executionTimeMs"), number(t, "memoryMB"));
	} else {
		put_str(f, verdict, REPORT_TEXT_CAP);
		fputc('\n', f);
	}
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
	fputs("job ", f);
	put_str(f, job_id(line), REPORT_TEXT_CAP);
	fputs("  language ", f);
	put_str(f, lang ? lang : "?", REPORT_TEXT_CAP);
	fputs("  verdict ", f);
	put_str(f, str_or(fig, "verdict", "?"), REPORT_TEXT_CAP);
	fprintf(f, "  time %.0f ms  memory %.1f MB", number(fig, "timeMs"),
		number(fig, "memoryKb") / 1024);
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
	fputs("error ", f);
	put_str(f, job_id(line), REPORT_TEXT_CAP);
	fputs("  ", f);
	put_str(f, str_or(e, "kind", "?"), REPORT_TEXT_CAP);
	fputc('/', f);
	put_str(f, str_or(e, "code", "?"), REPORT_TEXT_CAP);
	fputs(": ", f);
	put_str(f, str_or(e, "message", ""), 4 * REPORT_TEXT_CAP);
	fputc('\n', f);
}

void report_pretty(FILE *f, const struct judging_output *out)
{
	const cJSON *result = member(out->line, "result");
	const cJSON *er = member(result, "executionResult");
	if (out->status == JUDGING_ERROR) {
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
