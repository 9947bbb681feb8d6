#include "core/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "core/tracectx.h"
#include "core/util.h"

static const char *log_name = "codex";
static int log_min = LOG_INFO;
static int log_text;
static char log_host[256] = "localhost";

static const struct {
	const char *name;
	int level;
} levels[] = {
	{"trace", LOG_TRACE}, {"debug", LOG_DEBUG}, {"info", LOG_INFO},
	{"warn", LOG_WARN}, {"error", LOG_ERROR}, {"fatal", LOG_FATAL},
	{"silent", 1000},
};

static int level_from(const char *s)
{
	int64_t n;
	for (size_t i = 0; i < sizeof levels / sizeof levels[0]; i++)
		if (strcasecmp(s, levels[i].name) == 0)
			return levels[i].level;
	if (parse_i64(s, 0, 1000, &n) == 0)
		return (int)n;
	return -1;
}

static const char *level_name(int level)
{
	const char *name = "trace";
	for (size_t i = 0; i < sizeof levels / sizeof levels[0]; i++)
		if (level >= levels[i].level)
			name = levels[i].name;
	return name;
}

static void report(int fatal, const char *msg);

void log_init(const char *name)
{
	const char *lv = getenv("LOG_LEVEL");
	const char *fmt = getenv("LOG_FORMAT");
	log_name = name;
	if (lv && *lv) {
		int l = level_from(lv);
		if (l < 0)
			warn("LOG_LEVEL=%s is not a level; using info", lv);
		else
			log_min = l;
	}
	if (fmt && strcmp(fmt, "text") == 0)
		log_text = 1;
	else if (fmt && *fmt && strcmp(fmt, "json") != 0)
		warn("LOG_FORMAT=%s is not json or text; using json", fmt);
	else if (fmt == NULL || *fmt == '\0')
		log_text = isatty(2);
	if (gethostname(log_host, sizeof log_host) != 0)
		strcpy(log_host, "localhost");
	log_host[sizeof log_host - 1] = '\0';
	util_set_reporter(report);
}

static void copy_id(cJSON *line, const cJSON *job, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(job, key);
	if (cJSON_IsString(v))
		cJSON_AddStringToObject(line, key, v->valuestring);
}

/* trace_id, span_id and trace_flags of ctx, else of the job's context. */
static void add_trace(cJSON *line, const cJSON *job, const struct tracectx *ctx)
{
	struct tracectx own;
	char tp[TRACECTX_PARENT_LEN + 1];
	if (ctx == NULL || !tracectx_valid(ctx)) {
		if (tracectx_of_line(job, &own) != 0)
			return;
		ctx = &own;
	}
	/* "00-<trace_id>-<span_id>-<flags>" */
	tracectx_format(ctx, tp);
	tp[35] = tp[52] = '\0';
	cJSON_AddStringToObject(line, "trace_id", tp + 3);
	cJSON_AddStringToObject(line, "span_id", tp + 36);
	cJSON_AddStringToObject(line, "trace_flags", tp + 53);
}

/* The job's id for a person: a UUID's first 8 characters, another id
 * whole (up to 32). "" without one. */
static void short_id(const cJSON *job, char *out, size_t outlen)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(job, "submissionId");
	if (!cJSON_IsString(v))
		v = cJSON_GetObjectItemCaseSensitive(job, "tempId");
	const char *id = cJSON_IsString(v) ? v->valuestring : "";
	size_t n = strlen(id);
	int uuid = n == 36 && id[8] == '-' && id[13] == '-' && id[18] == '-' && id[23] == '-';
	snprintf(out, outlen, "%.*s", uuid ? 8 : 32, id);
}

/* "12:03:04 judge  b281a8aa  judged: accepted": the local time, the
 * program, the job's id when there is a job, the level unless info. */
static void emit_text(enum log_level level, const cJSON *job, const char *msg)
{
	char id[40] = "", at[16] = "??:??:??";
	time_t now = time(NULL);
	struct tm tm;
	if (localtime_r(&now, &tm) != NULL)
		strftime(at, sizeof at, "%H:%M:%S", &tm);
	if (job)
		short_id(job, id, sizeof id);
	fprintf(stderr, "%s %s  %s%s%s%s%s\n", at, log_name, id, *id ? "  " : "",
		level == LOG_INFO ? "" : level_name(level), level == LOG_INFO ? "" : ": ", msg);
}

static void emit(enum log_level level, const cJSON *job, const struct tracectx *ctx,
		 const char *msg)
{
	if (log_text) {
		emit_text(level, job, msg);
		return;
	}
	cJSON *line = cJSON_CreateObject();
	cJSON_AddNumberToObject(line, "level", level);
	cJSON_AddNumberToObject(line, "time", (double)now_wall_ms());
	cJSON_AddNumberToObject(line, "pid", getpid());
	cJSON_AddStringToObject(line, "hostname", log_host);
	cJSON_AddStringToObject(line, "name", log_name);
	if (job) {
		copy_id(line, job, "submissionId");
		copy_id(line, job, "tempId");
	}
	if (job || ctx)
		add_trace(line, job, ctx);
	cJSON_AddStringToObject(line, "msg", msg);
	char *text = cJSON_PrintUnformatted(line);
	if (text) {
		fprintf(stderr, "%s\n", text);
		free(text);
	}
	cJSON_Delete(line);
}

static void vlog(enum log_level level, const cJSON *job, const struct tracectx *ctx,
		 const char *fmt, va_list ap)
{
	char msg[2048];
	vsnprintf(msg, sizeof msg, fmt, ap);
	emit(level, job, ctx, msg);
}

/* die() and warn() (util.h) write their lines here once log_init() ran. */
static void report(int fatal, const char *msg)
{
	enum log_level level = fatal ? LOG_FATAL : LOG_WARN;
	if ((int)level >= log_min)
		emit(level, NULL, NULL, msg);
}

int log_enabled(enum log_level level)
{
	return (int)level >= log_min;
}

void log_job(enum log_level level, const cJSON *job, const char *fmt, ...)
{
	va_list ap;
	if ((int)level < log_min)
		return;
	va_start(ap, fmt);
	vlog(level, job, NULL, fmt, ap);
	va_end(ap);
}

void log_job_ctx(enum log_level level, const cJSON *job, const struct tracectx *ctx,
		 const char *fmt, ...)
{
	va_list ap;
	if ((int)level < log_min)
		return;
	va_start(ap, fmt);
	vlog(level, job, ctx, fmt, ap);
	va_end(ap);
}
