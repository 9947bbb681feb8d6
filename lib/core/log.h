/* log: pino-compatible JSON lines on stderr (one per lifecycle step), or
 * short text lines for a person (LOG_FORMAT).
 * A job's lines carry its submissionId/tempId and, when the job has a
 * trace context, trace_id, span_id and trace_flags (the names of
 * OpenTelemetry's pino instrumentation), so logs and traces join. */
#ifndef LOG_H
#define LOG_H

#include <cjson/cJSON.h>

/* pino's numeric levels. */
enum log_level {
	LOG_TRACE = 10,
	LOG_DEBUG = 20,
	LOG_INFO = 30,
	LOG_WARN = 40,
	LOG_ERROR = 50,
	LOG_FATAL = 60,
};

/* Reads LOG_LEVEL (a pino level name or number; default info) and
 * LOG_FORMAT (json, or text: a short line for a person, with the time and
 * the job's id; default: text when stderr is a terminal, else json).
 * `name` is the program. From
 * then on die() and warn() (util.h) write their lines here too, at the
 * levels fatal and warn. */
void log_init(const char *name);

/* 1 when lines at `level` are written: for a caller that must build a
 * line's text before logging it. */
int log_enabled(enum log_level level);

/* Emits one line at `level` if enabled. `job` (borrowed, may be NULL) is a
 * job line: its submissionId/tempId are copied into the log line, and the
 * ids of its meta.traceparent. */
void log_job(enum log_level level, const cJSON *job, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

struct tracectx;

/* The same, with the ids of ctx (the program's own span for this job;
 * borrowed) instead of the job's meta.traceparent; NULL or an invalid
 * context: the job's. */
void log_job_ctx(enum log_level level, const cJSON *job, const struct tracectx *ctx,
		 const char *fmt, ...) __attribute__((format(printf, 4, 5)));

#define log_info(...) log_job(LOG_INFO, NULL, __VA_ARGS__)
#define log_warn(...) log_job(LOG_WARN, NULL, __VA_ARGS__)
#define log_error(...) log_job(LOG_ERROR, NULL, __VA_ARGS__)
#define log_debug(...) log_job(LOG_DEBUG, NULL, __VA_ARGS__)

#endif
