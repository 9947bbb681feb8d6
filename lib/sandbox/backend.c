#include "sandbox/backend.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

const char *box_backend(const char *arg)
{
	const char *name = arg && *arg ? arg : getenv("SANDBOX_BACKEND");
	if (name == NULL || *name == '\0')
		return "ns";
	return strcmp(name, "ns") == 0 || strcmp(name, "docker") == 0 ? name : NULL;
}

void box_classify(struct box_result *r, const struct box_step *s, int64_t oom_kills,
		  int64_t pids_max_hits)
{
	const struct sbx_limits *l = s->limits;
	int failed = r->exit_code != 0;
	/* Stopped by a clock with its memory at the ceiling: the kernel kept
	 * reclaiming instead of OOM-killing (file pages the box was the first
	 * to read, evicted and read again), and memory is what ran out. */
	if (r->limit && (strcmp(r->limit, "time") == 0 || strcmp(r->limit, "wall") == 0) &&
	    r->memory_kb >= l->memory_mb * 1024)
		r->limit = "memory";
	if (r->limit == NULL && r->time_ms > l->time_ms)
		r->limit = "time";
	if (r->limit == NULL && r->signal == SIGXCPU)
		r->limit = "time";
	if (r->limit == NULL && r->signal == SIGXFSZ)
		r->limit = "file";
	if (r->limit == NULL && (oom_kills > 0 || r->memory_kb > l->memory_mb * 1024))
		r->limit = "memory";
	if (r->limit == NULL && failed && s->oom_marker && r->err && strstr(r->err, s->oom_marker))
		r->limit = "memory";
	if (r->limit == NULL && failed && pids_max_hits > 0)
		r->limit = "processes";
}

void box_result_free(struct box_result *r)
{
	free(r->out);
	free(r->err);
	r->out = r->err = NULL;
}

int box_path_ok(const char *p)
{
	int parts = 0;
	if (*p == '\0' || *p == '/')
		return 0;
	for (const char *c = p; *c; c++) {
		if (*c == '/') {
			if (c[1] == '/' || c[1] == '\0')
				return 0;
			continue;
		}
		if (!(*c == '.' || *c == '_' || *c == '-' || (*c >= '0' && *c <= '9') ||
		      (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z')))
			return 0;
	}
	for (const char *c = p; c; c = strchr(c, '/'), c = c ? c + 1 : NULL) {
		if (c[0] == '.' && (c[1] == '/' || c[1] == '\0' || (c[1] == '.' && (c[2] == '/' || c[2] == '\0'))))
			return 0;
		parts++;
	}
	return parts <= 2;
}

const char *box_open_why(int err)
{
	switch (err) {
	case ENOENT: return "missing";
	case ELOOP: return "symlink";
	case EXDEV: return "symlink";
	case ENOTDIR: return "not-regular";
	default: return "unreadable";
	}
}

const char *box_file_why(int fd, size_t cap, size_t *size)
{
	struct stat st;
	if (fstat(fd, &st) != 0)
		return "unreadable";
	if (!S_ISREG(st.st_mode))
		return "not-regular";
	if (st.st_nlink != 1)
		return "hard-link";
	if ((uint64_t)st.st_size > cap)
		return "too-large";
	*size = (size_t)st.st_size;
	return NULL;
}
