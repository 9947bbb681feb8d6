/* log: pino-compatible JSON lines on stderr (one per lifecycle step). */
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
 * LOG_FORMAT (json or text; default json). `name` is the program. */
void log_init(const char *name);

/* Emits one line at `level` if enabled. `job` (borrowed, may be NULL) is a
 * job line: its submissionId/tempId are copied into the log line. */
void log_job(enum log_level level, const cJSON *job, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define log_info(...) log_job(LOG_INFO, NULL, __VA_ARGS__)
#define log_warn(...) log_job(LOG_WARN, NULL, __VA_ARGS__)
#define log_error(...) log_job(LOG_ERROR, NULL, __VA_ARGS__)
#define log_debug(...) log_job(LOG_DEBUG, NULL, __VA_ARGS__)

#endif
