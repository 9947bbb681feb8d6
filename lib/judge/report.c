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

/* The character of s[0..n) (n from utf8_seq(); 0 for a byte that starts
 * no UTF-8 sequence) as text that cannot act on the terminal, into buf
 * (16 bytes): \n, \t and \r as such, other controls as \u{XXXX}, stray
 * bytes as \xHH. Returns its length in bytes; *cols, the columns it takes
 * (one for a character shown as it is). */
static size_t escape(const unsigned char *s, size_t n, char *buf, int *cols)
{
	int len;
	if (n == 0) {
		len = snprintf(buf, 16, "\\x%02X", s[0]);
	} else {
		uint32_t cp = code_point(s, n);
		if (cp == '\n' || cp == '\t' || cp == '\r')
			len = snprintf(buf, 16, "\\%c", cp == '\n' ? 'n' : cp == '\t' ? 't' : 'r');
		else if (control_point(cp))
			len = snprintf(buf, 16, "\\u{%04X}", (unsigned)cp);
		else {
			memcpy(buf, s, n);
			*cols = 1;
			return n;
		}
	}
	*cols = len;
	return (size_t)len;
}

/* Writes the character of s[0..n) as escape() gives it. Returns the
 * columns written. */
static int put_char(FILE *f, const unsigned char *s, size_t n)
{
	char buf[16];
	int cols;
	fwrite(buf, 1, escape(s, n, buf, &cols), f);
	return cols;
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

/* One line of a block: the characters of s[*at..len) up to a newline (which
 * it consumes) or REPORT_WIDTH columns. Written to f when f is not NULL.
 * Advances *at. */
static void block_line(FILE *f, const unsigned char *s, size_t len, size_t *at)
{
	int used = 0;
	while (*at < len && s[*at] != '\n') {
		char buf[16];
		int cols;
		size_t n = utf8_seq(s + *at, len - *at);
		size_t out = escape(s + *at, n, buf, &cols);
		if (used > 0 && used + cols > REPORT_WIDTH)
			return;
		if (f)
			fwrite(buf, 1, out, f);
		used += cols;
		*at += n ? n : 1;
	}
	if (*at < len)
		(*at)++;	/* the newline */
}

/* A value under its label: on the label's line when it is one short line,
 * else as a block of lines (wrapped at REPORT_WIDTH columns, control
 * characters escaped) indented under it; of a longer block, its first
 * REPORT_HEAD_LINES and last REPORT_TAIL_LINES lines (an error's message is
 * at its end). A final newline is not shown. */
static void put_labelled(FILE *f, const char *label, const cJSON *v)
{
	char *json = cJSON_IsString(v) ? NULL : cJSON_PrintUnformatted(v);
	const char *text = cJSON_IsString(v) ? v->valuestring : json ? json : "";
	const unsigned char *p = (const unsigned char *)text;
	size_t len = strlen(text), lines = 0, at = 0;
	if (len > 0 && text[len - 1] == '\n')
		len--;
	while (at < len) {
		block_line(NULL, p, len, &at);
		lines++;
	}
	if (lines == 0) {
		fprintf(f, "       %s\n", label);
	} else if (lines == 1) {
		fprintf(f, "       %-10s", label);
		at = 0;
		block_line(f, p, len, &at);
		fputc('\n', f);
	} else {
		fprintf(f, "       %s\n", label);
		at = 0;
		for (size_t i = 0; i < lines; i++) {
			int shown = lines <= REPORT_HEAD_LINES + REPORT_TAIL_LINES ||
				    i < REPORT_HEAD_LINES || i >= lines - REPORT_TAIL_LINES;
			if (shown)
				fputs("         ", f);
			block_line(shown ? f : NULL, p, len, &at);
			if (shown)
				fputc('\n', f);
			else if (i == REPORT_HEAD_LINES)
				fprintf(f, "         ... %zu lines not shown ...\n",
					lines - REPORT_HEAD_LINES - REPORT_TAIL_LINES);
		}
	}
	cJSON_free(json);
}

/* s in a column of `width` characters (cut with "..." when longer), then
 * a blank. */
/* Blanks from `used` columns up to `width`, then one. */
static void pad(FILE *f, int used, int width)
{
	fprintf(f, "%*s ", used < width ? width - used : 0, "");
}

static void put_column(FILE *f, const char *s, int width)
{
	pad(f, put_str(f, s, (size_t)width), width);
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

/* The escape sequences that colour a verdict, and the one that ends it;
 * "" without colour. */
static const char *colour_of(const struct report *rep, const char *verdict)
{
	if (!rep->colour)
		return "";
	return strcmp(verdict, "accepted") == 0 ? "\033[32m" : "\033[31m";
}

static const char *colour_end(const struct report *rep)
{
	return rep->colour ? "\033[0m" : "";
}

/* The verdict in its colour, at most cap characters; returns the columns
 * written. */
static int put_verdict(FILE *f, const struct report *rep, const char *verdict, size_t cap)
{
	fputs(colour_of(rep, verdict), f);
	int used = put_str(f, verdict, cap);
	fputs(colour_end(rep), f);
	return used;
}

static void put_row(FILE *f, const struct report *rep, const cJSON *line, const cJSON *t)
{
	const char *verdict = str_or(t, "verdict", "?");
	fprintf(f, "  %-4.0f ", number(t, "index"));
	put_column(f, row_id(line, t), 24);
	if (cJSON_HasObjectItem(t, "executionTimeMs")) {
		pad(f, put_verdict(f, rep, verdict, 22), 22);
		fprintf(f, "%9.2f %11.2f\n", number(t, "executionTimeMs"), number(t, "memoryMB"));
	} else {
		put_verdict(f, rep, verdict, REPORT_TEXT_CAP);
		fputc('\n', f);
	}
	if (strcmp(verdict, "accepted") == 0)
		return;
	put_labelled(f, "output:", member(t, "output"));
	put_labelled(f, "expected:", member(t, "expectedOutput"));
}

static void put_header(FILE *f, const struct report *rep, const cJSON *line, const cJSON *fig)
{
	const char *lang = jsonx_str(member(line, "exec"), "language");
	if (lang == NULL)
		lang = jsonx_str(line, "language");
	fputs("job ", f);
	put_str(f, job_id(line), REPORT_TEXT_CAP);
	fputs("  language ", f);
	put_str(f, lang ? lang : "?", REPORT_TEXT_CAP);
	fputs("  verdict ", f);
	put_verdict(f, rep, str_or(fig, "verdict", "?"), REPORT_TEXT_CAP);
	fprintf(f, "  time %.0f ms  memory %.1f MB", number(fig, "timeMs"),
		number(fig, "memoryKb") / 1024);
}

static void put_testcases(FILE *f, const struct report *rep, const cJSON *line,
			  const cJSON *er)
{
	const cJSON *stats = member(er, "stats"), *rows = member(er, "testResults");
	const cJSON *failed = member(er, "failedTestCase");
	fprintf(f, "  passed %.0f/%.0f\n", number(stats, "passedTestCase"),
		number(stats, "totalTestCase"));
	if (!rows && !failed)
		return;
	/* A compat program reports its own figures; the others are measured. */
	const char *shape = jsonx_str(member(line, "exec"), "shape");
	int own = shape && strcmp(shape, "compat") == 0;
	if (rows)
		fprintf(f, "  %-4s %-24s %-22s %9s %11s%s\n", "#", "Id", "verdict", "time ms",
			"memory MB", own ? "  (as the program reports them)" : "");
	else
		fprintf(f, "  %-4s %-24s %s\n", "#", "Id", "verdict");
	for (const cJSON *t = rows ? rows->child : NULL; t; t = t->next)
		put_row(f, rep, line, t);
	if (failed)
		put_row(f, rep, line, failed);
}

static void put_error(FILE *f, const struct report *rep, const cJSON *line)
{
	const cJSON *e = member(line, "error");
	fprintf(f, "%serror%s ", rep->colour ? "\033[33m" : "", colour_end(rep));
	put_str(f, job_id(line), REPORT_TEXT_CAP);
	fputs("  ", f);
	put_str(f, str_or(e, "kind", "?"), REPORT_TEXT_CAP);
	fputc('/', f);
	put_str(f, str_or(e, "code", "?"), REPORT_TEXT_CAP);
	fputs(": ", f);
	put_str(f, str_or(e, "message", ""), 4 * REPORT_TEXT_CAP);
	fputc('\n', f);
}

void report_init(struct report *rep, int colour)
{
	memset(rep, 0, sizeof *rep);
	rep->colour = colour;
}

static void count(struct report *rep, const struct judging_output *out, const cJSON *fig)
{
	rep->jobs++;
	rep->time_ms += number(fig, "timeMs");
	if (out->status == JUDGING_ERROR)
		rep->errors++;
	else if ((size_t)out->verdict < sizeof rep->verdicts / sizeof *rep->verdicts)
		rep->verdicts[out->verdict]++;
}

void report_pretty(FILE *f, struct report *rep, const struct judging_output *out)
{
	const cJSON *result = member(out->line, "result");
	const cJSON *er = member(result, "executionResult");
	if (out->status == JUDGING_ERROR) {
		put_error(f, rep, out->line);
	} else if (er) {
		put_header(f, rep, out->line, er);
		put_testcases(f, rep, out->line, er);
	} else {
		put_header(f, rep, out->line, result);
		fputc('\n', f);
		put_labelled(f, "stdOut:", member(result, "stdOut"));
	}
	count(rep, out, er ? er : result);
	fputc('\n', f);
	fflush(f);
}

void report_summary(FILE *f, const struct report *rep)
{
	fprintf(f, "%zu job%s:", rep->jobs, rep->jobs == 1 ? "" : "s");
	const char *sep = " ";
	for (size_t v = 0; v < sizeof rep->verdicts / sizeof *rep->verdicts; v++) {
		if (rep->verdicts[v] == 0)
			continue;
		const char *name = verdict_name((enum verdict)v);
		fprintf(f, "%s%zu %s%s%s", sep, rep->verdicts[v], colour_of(rep, name), name,
			colour_end(rep));
		sep = ", ";
	}
	if (rep->errors)
		fprintf(f, "%s%zu error line%s", sep, rep->errors, rep->errors == 1 ? "" : "s");
	fprintf(f, "; %.0f ms of the programs' time in all\n", rep->time_ms);
	fflush(f);
}
