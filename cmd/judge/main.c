/* judge: turns executions into verdicts (judge(1)).
 *
 * usage: judge [--pretty] [--exit-status] < executions.jsonl
 *        judge --help | --version
 *
 * Reads job lines that carry sandbox-exec's `exec` section on stdin and
 * writes each back with a `result` section added, one line per job,
 * flushed (docs/formats.md, sections 2 and 4). A line that is not a JSON
 * object, or longer than 16 MiB, becomes an error line; a line that
 * carries an `error` already is passed through unchanged; blank lines
 * are skipped.
 *
 *   --pretty       a readable verdict table per job instead of JSON lines
 *   --exit-status  exit 0 if every job was accepted, 1 if one was not,
 *                  2 if a line was an error line
 *
 * Telemetry (docs/telemetry.md): a `judge` span per judged line, a child
 * of its meta.traceparent, and the histogram codex.judge.duration.
 *
 * Exit status: 0 (without --exit-status, whatever the verdicts), 100 usage,
 * 111 stdin or stdout failed.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/jsonx.h"
#include "core/line.h"
#include "core/log.h"
#include "core/util.h"
#include "judge/judging.h"
#include "judge/report.h"
#include "otel/jobtrace.h"
#include "otel/otel.h"

static const char usage[] =
	"usage: judge [--pretty] [--exit-status] < executions.jsonl\n"
	"       judge --help | --version\n"
	"\n"
	"Adds a `result` section to each job line carrying an `exec` section.\n"
	"\n"
	"  --pretty       print a readable verdict table per job instead of JSON lines\n"
	"  --exit-status  exit 0 if every job was accepted, 1 if one was not,\n"
	"                 2 if a line was an error line\n"
	"  --help         print this help and exit\n"
	"  --version      print the version and exit\n"
	"\n"
	"Environment: LOG_LEVEL, LOG_FORMAT, OTEL_EXPORTER_OTLP_ENDPOINT.\n"
	"\n"
	"Exit status: 0, 100 usage error, 111 read or write error.\n";

struct options {
	int pretty;
	int exit_status;
};

/* Statuses of --exit-status; the worst line wins. */
enum outcome {
	OUTCOME_ACCEPTED = 0,
	OUTCOME_REJECTED = 1,
	OUTCOME_ERROR = 2,
};

static void parse_args(int argc, char **argv, struct options *o)
{
	enum { OPT_PRETTY = 1, OPT_EXIT_STATUS, OPT_HELP, OPT_VERSION };
	static const struct option longopts[] = {
		{"pretty", no_argument, NULL, OPT_PRETTY},
		{"exit-status", no_argument, NULL, OPT_EXIT_STATUS},
		{"help", no_argument, NULL, OPT_HELP},
		{"version", no_argument, NULL, OPT_VERSION},
		{NULL, 0, NULL, 0},
	};
	int c;
	memset(o, 0, sizeof *o);
	opterr = 0;
	while ((c = getopt_long(argc, argv, "hV", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_PRETTY:
			o->pretty = 1;
			break;
		case OPT_EXIT_STATUS:
			o->exit_status = 1;
			break;
		case 'h':
		case OPT_HELP:
			usage_help(usage);
		case 'V':
		case OPT_VERSION:
			usage_version();
		default:
			usage_error(usage, "unknown option %s", argv[optind - 1]);
		}
	}
	if (optind < argc)
		usage_error(usage, "unexpected argument %s", argv[optind]);
}

static void log_outcome(const struct judging_output *out, const struct otel_span *span)
{
	const cJSON *error = cJSON_GetObjectItemCaseSensitive(out->line, "error");
	const char *code = jsonx_str(error, "code");
	struct tracectx ctx;
	const struct tracectx *own = otel_span_context(span, &ctx) == 0 ? &ctx : NULL;
	if (out->status != JUDGING_ERROR)
		log_job_ctx(LOG_INFO, out->line, own, "judged: %s", verdict_name(out->verdict));
	else if (out->passthrough)
		log_job(LOG_DEBUG, out->line, "passed an error line through: %s", code ? code : "?");
	else
		log_job_ctx(LOG_WARN, out->line, own, "error line: %s", code ? code : "?");
}

/* ---- telemetry ---- */

/* The `judge` span of a line judged from start_ns on (it is known to be a
 * job only once judged): a child of its meta.traceparent, with what the
 * exec section says and the verdict; an error for an internal_error or an
 * error line made here. NULL for a passed-through line or tracing off. */
static struct otel_span *judge_span(const struct judging_output *out, uint64_t start_ns)
{
	const cJSON *exec = cJSON_GetObjectItemCaseSensitive(out->line, "exec");
	const cJSON *error = cJSON_GetObjectItemCaseSensitive(out->line, "error");
	if (out->passthrough)
		return NULL;
	struct otel_span *s = jobtrace_start_at("judge", OTEL_INTERNAL, out->line, start_ns);
	if (s == NULL)
		return NULL;
	otel_span_set_str(s, "codex.mode", jsonx_str(exec, "mode"));
	otel_span_set_str(s, "codex.shape", jsonx_str(exec, "shape"));
	if (out->status == JUDGING_ERROR) {
		otel_span_set_error(s, jsonx_str(error, "code"), jsonx_str(error, "message"));
		return s;
	}
	otel_span_set_str(s, "codex.verdict", verdict_name(out->verdict));
	if (out->verdict == VERDICT_INTERNAL_ERROR)
		otel_span_set_error(s, "internal_error", "the judge gave internal_error");
	return s;
}

/* codex.judge.duration (made in main; NULL with metrics off). */
static struct otel_metric *judge_duration;

/* Records the time a line took, in ms, by codex.language and codex.mode. */
static void record_duration(const struct judging_output *out, uint64_t start_ns)
{
	const cJSON *exec = cJSON_GetObjectItemCaseSensitive(out->line, "exec");
	const char *language = jsonx_str(exec, "language"), *mode = jsonx_str(exec, "mode");
	struct otel_attr a[2];
	size_t n = 0;
	if (language)
		a[n++] = (struct otel_attr){"codex.language", language};
	if (mode)
		a[n++] = (struct otel_attr){"codex.mode", mode};
	otel_metric_record(judge_duration, (double)(now_unix_ns() - start_ns) / 1e6, a, n);
}

/* The input line again, byte for byte. */
static int write_raw(const struct line *l)
{
	if (fwrite(l->text, 1, l->len, stdout) != l->len || putchar('\n') == EOF)
		return -1;
	return fflush(stdout) == 0 ? 0 : -1;
}

static struct report pretty;

static void write_output(const struct options *o, const struct line *l,
			 const struct judging_output *out)
{
	int rc = 0;
	if (o->pretty)
		report_pretty(stdout, &pretty, out);
	else if (out->passthrough)
		rc = write_raw(l);
	else
		rc = jsonx_write_line(stdout, out->line);
	if (rc != 0 || ferror(stdout))
		die_sys(EXIT_TEMPORARY, "unable to write to stdout");
}

static enum outcome judge_line(const struct options *o, const struct line *l)
{
	struct judging_output out;
	uint64_t start_ns = now_unix_ns();
	judging_line(l->text, l->len, l->oversized, &out);
	if (out.status == JUDGING_SKIPPED)
		return OUTCOME_ACCEPTED;
	struct otel_span *span = judge_span(&out, start_ns);
	if (!out.passthrough)
		record_duration(&out, start_ns);
	log_outcome(&out, span);
	otel_span_end(span);
	write_output(o, l, &out);
	cJSON_Delete(out.line);
	switch (out.status) {
	case JUDGING_ERROR:
		return OUTCOME_ERROR;
	case JUDGING_REJECTED:
		return OUTCOME_REJECTED;
	default:
		return OUTCOME_ACCEPTED;
	}
}

/* Judges every line of stdin; returns the worst outcome. */
static enum outcome judge_all(const struct options *o)
{
	struct line_reader r;
	struct line l;
	enum outcome worst = OUTCOME_ACCEPTED;
	int rc;
	line_init_values(&r, 0, VERDICT_LINE_CAP);
	while ((rc = line_read_watch(&r, &l, 1)) == 1) {
		enum outcome this = judge_line(o, &l);
		if (this > worst)
			worst = this;
	}
	if (rc == -2)
		die(EXIT_TEMPORARY, "stdout: its reader is gone");
	if (rc < 0)
		die_sys(EXIT_TEMPORARY, "unable to read stdin");
	line_free(&r);
	if (o->pretty)
		report_summary(stdout, &pretty);
	return worst;
}

int main(int argc, char **argv)
{
	struct options o;
	util_init(argv[0]);
	log_init("judge");
	parse_args(argc, argv, &o);
	const char *no_colour = getenv("NO_COLOR");
	report_init(&pretty, isatty(1) && !(no_colour && *no_colour));
	otel_init("judge");
	judge_duration = otel_histogram("codex.judge.duration", "ms",
					"Time judge took for a line: parse, compare, result", NULL, 0);
	enum outcome worst = judge_all(&o);
	otel_shutdown();
	if (fflush(stdout) != 0 || ferror(stdout))
		die_sys(EXIT_TEMPORARY, "unable to write to stdout");
	return o.exit_status ? (int)worst : EXIT_OK;
}
