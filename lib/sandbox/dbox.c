#include "sandbox/dbox.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/log.h"
#include "core/util.h"
#include "sandbox/agent.h"
#include "sandbox/cgroup.h"
#include "sandbox/slot.h"

/* How long the agent may take beyond a step's wall limit (its kill grace
 * and the reply), and to answer anything else. */
enum { RUN_GRACE_MS = 10000, REPLY_MS = 30000 };

/* Logs what the agent wrote on its stderr (its diagnostics), then forgets it. */
static void log_agent(struct sbuf *e)
{
	if (e->len == 0)
		return;
	log_warn("codex-agent: %.*s", (int)(e->len > 512 ? 512 : e->len), e->p);
	e->len = 0;
}

/* Takes one whole reply off b->in, waiting until deadline. Returns 0 with
 * *m filled, or -1 with err (the stream is then broken). */
static int next_reply(struct dbox *b, struct agent_msg *m, int64_t deadline,
		      char *err, size_t errlen)
{
	struct sbuf e = {0};
	for (;;) {
		size_t body;
		long n = agent_frame_len(b->in.p, b->in.len, AGENT_FRAME_MAX, &body);
		if (n < 0) {
			snprintf(err, errlen, "codex-agent: malformed reply");
			break;
		}
		if (n > 0) {
			char *frame = xmalloc(body + 1);
			memcpy(frame, b->in.p + 4, body);
			memmove(b->in.p, b->in.p + n, b->in.len - (size_t)n);
			b->in.len -= (size_t)n;
			free(e.p);
			if (agent_decode(frame, body, m) == 0)
				return 0;
			agent_msg_free(m);
			snprintf(err, errlen, "codex-agent: malformed reply");
			b->broken = 1;
			return -1;
		}
		int64_t left = deadline - now_mono_ms();
		int rc = left > 0 ? dk_stream_read(&b->st, &b->in, &e, (int)(left > 1000 ? 1000 : left)) : 0;
		log_agent(&e);
		if (rc < 0) {
			snprintf(err, errlen, "codex-agent: the container's stream ended");
			break;
		}
		if (rc == 0 && now_mono_ms() >= deadline) {
			snprintf(err, errlen, "codex-agent: no reply in time");
			break;
		}
	}
	free(e.p);
	b->broken = 1;
	return -1;
}

/* Sends the request in req (consumed) and reads its reply. Returns 0 with
 * *m (agent_msg_free() it), or -1 with err. */
static int request(struct dbox *b, struct sbuf *req, struct agent_msg *m, int64_t timeout_ms,
		   char *err, size_t errlen)
{
	int rc = b->broken ? -1 : dk_stream_write(&b->st, req->p, req->len);
	free(req->p);
	*req = (struct sbuf){0};
	if (rc != 0) {
		snprintf(err, errlen, "codex-agent: cannot write to the container's stream");
		b->broken = 1;
		return -1;
	}
	return next_reply(b, m, now_mono_ms() + timeout_ms, err, errlen);
}

/* A reply that should be AGENT_OK. Returns 0, or -1 with err. */
static int expect_ok(struct dbox *b, struct sbuf *req, char *err, size_t errlen)
{
	struct agent_msg *m = xcalloc(1, sizeof *m);
	int rc = request(b, req, m, REPLY_MS, err, errlen);
	if (rc == 0 && m->op != AGENT_OK) {
		char *msg = agent_str(m, AT_MSG);
		snprintf(err, errlen, "codex-agent: %s", msg ? msg : "refused");
		free(msg);
		rc = -1;
	}
	agent_msg_free(m);
	free(m);
	return rc;
}

static int ping(struct dbox *b, char *err, size_t errlen)
{
	struct sbuf req = {0};
	agent_begin(&req, AGENT_PING);
	agent_end(&req, 0);
	return expect_ok(b, &req, err, errlen);
}

/* Replaces the container when it may not serve, then attaches and pings.
 * Returns 0, or -1 with err. */
static int ready(struct dbox *b, char *err, size_t errlen)
{
	for (int attempt = 0; attempt < 2; attempt++) {
		const char *why = pool_slot_stale(&b->slot, b->table);
		/* dockerd takes an attach to a stopped container and waits for
		 * it to start: ask first (half a millisecond). */
		if (why == NULL) {
			int running = pool_running(&b->dk, &b->slot, &b->slot.pid, err, errlen);
			if (running < 0)
				return -1;
			why = running ? NULL : "dead";
		}
		if (why) {
			log_info("docker: %s slot %d: new container (%s)", b->lang->name, b->slot.k, why);
			if (pool_create(&b->dk, b->table, b->lang, &b->slot, err, errlen) != 0)
				return -1;
		}
		b->slot.dirty = 1;	/* until the job is cleaned up */
		if (pool_slot_save(&b->slot) != 0) {
			snprintf(err, errlen, "slot state: %s", strerror(errno));
			return -1;
		}
		b->broken = 0;
		/* Attached before it starts, as `docker start -ai` does: a stream
		 * attached right after the start can miss the agent's replies. */
		int rc = dk_attach(&b->dk, b->slot.id, &b->st, err, errlen);
		if (rc == -1)
			return -1;
		if (rc == 0 && why && pool_start(&b->dk, &b->slot, err, errlen) != 0)
			rc = -2;
		if (rc == 0 && ping(b, err, errlen) == 0)
			return 0;
		log_warn("docker: %s slot %d: %s; replacing the container", b->lang->name, b->slot.k, err);
		dk_stream_close(&b->st);
	}
	return -1;
}

/* The container's memory cgroup on the host, found from its first process
 * (and checked to be the container's, should that pid be reused): in the
 * v1 memory hierarchy, or the unified one on a cgroup v2 host. Each step's
 * memory limit is written there and its peak read back: the container was
 * created for the largest step, and the agent's own figures are per
 * process. Without it (not root, a read-only cgroup file system) the
 * container's limit and the agent's figures stand. */
static void find_memcg(struct dbox *b)
{
	char path[64], line[1024], probe[PATH_MAX + 64];
	struct stat st;
	int v2 = stat("/sys/fs/cgroup/cgroup.controllers", &st) == 0;
	b->memcg[0] = '\0';
	b->memcg_v2 = v2;
	snprintf(path, sizeof path, "/proc/%ld/cgroup", b->slot.pid);
	FILE *f = b->slot.pid > 0 ? fopen(path, "re") : NULL;
	while (f && fgets(line, sizeof line, f)) {
		line[strcspn(line, "\n")] = '\0';
		char *ctl = strchr(line, ':'), *rel = ctl ? strchr(ctl + 1, ':') : NULL;
		if (rel == NULL)
			continue;
		*rel++ = '\0';
		if (!strstr(rel, b->slot.id))
			continue;
		if (v2 && strcmp(line, "0") == 0 && ctl[1] == ':') {
			path_fmt(b->memcg, sizeof b->memcg, "/sys/fs/cgroup%s", rel);
			break;
		}
		if (!v2 && strcmp(ctl + 1, "memory") == 0) {
			path_fmt(b->memcg, sizeof b->memcg, "/sys/fs/cgroup/memory%s", rel);
			break;
		}
	}
	if (f)
		fclose(f);
	/* "" (no group) when its path did not fit: path_fmt. */
	if (b->memcg[0] && (path_fmt(probe, sizeof probe, "%s/%s", b->memcg,
				     v2 ? "memory.max" : "memory.max_usage_in_bytes") != 0 ||
			    access(probe, W_OK) != 0))
		b->memcg[0] = '\0';
}

static int memcg_write(const struct dbox *b, const char *file, int64_t v)
{
	char text[32];
	snprintf(text, sizeof text, "%lld", (long long)v);
	return cg_write_value(b->memcg, file, text);
}

/* v2: memory.peak opened and reset for this step (Linux 6.12: a write
 * resets the peak that this open file reads), or -1 where the kernel
 * cannot (the agent's figure stands). */
static int peak_open(const struct dbox *b)
{
	char path[PATH_MAX + 16];
	if (path_fmt(path, sizeof path, "%s/memory.peak", b->memcg) != 0)
		return -1;
	int fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	if (fd >= 0 && write(fd, "reset\n", 6) != 6) {
		close(fd);
		fd = -1;
	}
	return fd;
}

/* Sets the step's memory limit (no swap) and starts a new peak. */
static void memcg_limit(struct dbox *b, int64_t mb)
{
	int64_t bytes = mb << 20;
	if (b->memcg[0] == '\0')
		return;
	if (b->memcg_v2) {
		if (memcg_write(b, "memory.max", bytes) != 0)
			log_warn("docker: cannot set the memory limit in %s", b->memcg);
		if (memcg_write(b, "memory.swap.max", 0) != 0 && errno != ENOENT)
			log_warn("docker: cannot set memory.swap.max in %s", b->memcg);
		if (b->peak_fd >= 0)
			close(b->peak_fd);
		b->peak_fd = peak_open(b);
		return;
	}
	/* memory.limit_in_bytes may not exceed memsw, nor memsw go below it:
	 * one order raises both, the other lowers both. */
	if (memcg_write(b, "memory.limit_in_bytes", bytes) != 0 &&
	    memcg_write(b, "memory.memsw.limit_in_bytes", bytes) != 0)
		log_warn("docker: cannot set the memory limit in %s", b->memcg);
	memcg_write(b, "memory.limit_in_bytes", bytes);
	memcg_write(b, "memory.memsw.limit_in_bytes", bytes);
	memcg_write(b, "memory.max_usage_in_bytes", 0);
}

/* The step's peak memory in KiB, or -1. */
static int64_t memcg_peak_kb(const struct dbox *b)
{
	char buf[32];
	if (b->memcg[0] == '\0')
		return -1;
	if (!b->memcg_v2) {
		int64_t v = cg_read_value(b->memcg, "memory.max_usage_in_bytes", NULL);
		return v < 0 ? -1 : v / 1024;
	}
	ssize_t n = b->peak_fd >= 0 ? pread(b->peak_fd, buf, sizeof buf - 1, 0) : -1;
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	return strtoll(buf, NULL, 10) / 1024;
}

int dbox_open(struct dbox *b, const struct lang_table *t, const struct lang *l,
	      int nslots, int prefer, char *err, size_t errlen)
{
	char dir[PATH_MAX];
	memset(b, 0, sizeof *b);
	b->table = t;
	b->lang = l;
	b->lock = -1;
	b->peak_fd = -1;
	if (pool_dir(t, l->name, dir, sizeof dir) != 0 ||
	    (mkdir(t->state_dir, 0700) != 0 && errno != EEXIST)) {
		snprintf(err, errlen, "%s: %s", t->state_dir, strerror(errno));
		return SLOT_ERROR;
	}
	int k = slot_acquire(dir, nslots, prefer, t->acquire_ms, &b->lock);
	if (k == SLOT_BUSY)
		return SLOT_BUSY;
	if (k < 0) {
		snprintf(err, errlen, "cannot lock a slot in %s: %s", dir, strerror(errno));
		return SLOT_ERROR;
	}
	pool_slot_load(&b->slot, t, l->name, k);
	if (dk_open(&b->dk, err, errlen) != 0 || ready(b, err, errlen) != 0) {
		dk_close(&b->dk);
		close(b->lock);
		b->lock = -1;
		return SLOT_ERROR;
	}
	find_memcg(b);
	return k;
}

void dbox_close(struct dbox *b)
{
	char err[512];
	struct sbuf req = {0};
	if (!b->broken) {
		agent_begin(&req, AGENT_CLEAN);
		agent_end(&req, 0);
		if (expect_ok(b, &req, err, sizeof err) != 0) {
			log_warn("docker: %s slot %d: %s", b->lang->name, b->slot.k, err);
			b->broken = 1;
		}
	}
	b->slot.jobs++;
	b->slot.dirty = b->broken || b->replace;
	b->slot.checked_ms = now_wall_ms();
	if (pool_slot_save(&b->slot) != 0)
		log_warn("docker: slot state: %s", strerror(errno));
	dk_stream_close(&b->st);
	dk_close(&b->dk);
	free(b->in.p);
	b->in = (struct sbuf){0};
	close(b->lock);
	b->lock = -1;
	if (b->peak_fd >= 0)
		close(b->peak_fd);
	b->peak_fd = -1;
}

static int d_write(void *box, const char *path, const char *data, size_t len, mode_t mode,
		   char *err, size_t errlen)
{
	struct sbuf req = {0};
	agent_begin(&req, AGENT_WRITE);
	agent_put_str(&req, AT_PATH, path);
	agent_put_num(&req, AT_MODE, mode & 0777);
	agent_put(&req, AT_DATA, data, len);
	agent_end(&req, 0);
	return expect_ok(box, &req, err, errlen);
}

static void run_request(struct sbuf *req, const struct box_step *s)
{
	const struct sbx_limits *l = s->limits;
	agent_begin(req, AGENT_RUN);
	for (size_t i = 0; s->argv[i]; i++)
		agent_put_str(req, AT_ARGV, s->argv[i]);
	for (size_t i = 0; s->envp[i]; i++)
		agent_put_str(req, AT_ENV, s->envp[i]);
	agent_put(req, AT_STDIN, s->stdin_data, s->stdin_data ? s->stdin_len : 0);
	agent_put_num(req, AT_TIME_MS, l->time_ms);
	agent_put_num(req, AT_WALL_MS, l->wall_ms);
	agent_put_num(req, AT_OUTPUT_BYTES, l->output_bytes);
	agent_put_num(req, AT_FILE_BYTES, l->file_bytes);
	agent_end(req, 0);
}

/* The agent's limit names, as the static strings box_result uses. */
static const char *limit_name(const char *s)
{
	static const char *const names[] = {"time", "wall", "output"};
	for (size_t i = 0; s && i < sizeof names / sizeof names[0]; i++)
		if (strcmp(s, names[i]) == 0)
			return names[i];
	return NULL;
}

static char *copy_field(const struct agent_msg *m, int tag, size_t *len)
{
	const struct agent_field *f = agent_get(m, tag);
	*len = f ? f->len : 0;
	char *p = xmalloc(*len + 1);
	if (f)
		memcpy(p, f->data, f->len);
	p[*len] = '\0';
	return p;
}

/* Fills r from the agent's result; *oom and *pids are its cgroup counts. */
static int result_from(const struct agent_msg *m, struct box_result *r, int64_t *oom, int64_t *pids)
{
	int64_t code, sig, ot, et;
	char *limit = agent_str(m, AT_LIMIT);
	if (agent_num(m, AT_EXIT, -1, 255, &code) || agent_num(m, AT_SIGNAL, 0, 64, &sig) ||
	    agent_num(m, AT_TIME_MS, 0, INT64_MAX, &r->time_ms) ||
	    agent_num(m, AT_WALL_MS, 0, INT64_MAX, &r->wall_ms) ||
	    agent_num(m, AT_MEMORY_KB, 0, INT64_MAX, &r->memory_kb) ||
	    agent_num(m, AT_OOM_KILLS, 0, INT64_MAX, oom) || agent_num(m, AT_PIDS_MAX, 0, INT64_MAX, pids) ||
	    agent_num(m, AT_OUT_TRUNC, 0, 1, &ot) || agent_num(m, AT_ERR_TRUNC, 0, 1, &et)) {
		free(limit);
		return -1;
	}
	r->exit_code = (int)code;
	r->signal = (int)sig;
	r->limit = limit_name(limit);
	free(limit);
	r->out = copy_field(m, AT_STDOUT, &r->out_len);
	r->err = copy_field(m, AT_STDERR, &r->err_len);
	r->out_truncated = (int)ot;
	r->err_truncated = (int)et;
	return 0;
}

/* The step's result when its agent died with an OOM kill in the container:
 * a program killed at the limit holds its memory while it exits, and a
 * charge in that window leaves the agent the only one to kill (seen on
 * 6.18, a run in a few hundred). dockerd saw the OOM kill; the figures the
 * agent had are lost. */
static void lost_to_oom(struct dbox *b, struct box_result *r, int64_t start)
{
	log_warn("docker: %s slot %d: the agent was killed with the program at the memory limit",
		 b->lang->name, b->slot.k);
	r->exit_code = -1;
	r->signal = SIGKILL;
	r->limit = "memory";
	r->wall_ms = now_mono_ms() - start;
	r->out = xstrdup("");
	r->err = xstrdup("");
}

/* Reads the agent's reply to a run into r. Returns 0, or -1 with err. */
static int run_reply(struct dbox *b, const struct agent_msg *m, struct box_result *r,
		     int64_t *oom, int64_t *pids, char *err, size_t errlen)
{
	if (m->op == AGENT_FAIL) {
		char *msg = agent_str(m, AT_MSG);
		snprintf(err, errlen, "%s", msg ? msg : "codex-agent: the step did not run");
		free(msg);
		b->replace = 1;	/* whatever stopped the step may stop the next job's */
		return -1;
	}
	if (m->op != AGENT_RESULT || result_from(m, r, oom, pids) != 0) {
		snprintf(err, errlen, "codex-agent: malformed result");
		b->broken = 1;
		return -1;
	}
	return 0;
}

/* Whether the agent kept to the step's output cap, as it must; when not,
 * the streams are dropped. Returns 1 or 0. */
static int within_caps(struct box_result *r, const struct box_step *s)
{
	size_t cap = (size_t)s->limits->output_bytes;
	if (r->out_len <= cap && r->err_len <= cap)
		return 1;
	free(r->out);
	free(r->err);
	r->out = r->err = NULL;
	return 0;
}

static int d_run(void *box, const struct box_step *s, struct box_result *r, char *err, size_t errlen)
{
	struct dbox *b = box;
	struct sbuf req = {0};
	struct agent_msg *m = xcalloc(1, sizeof *m);
	int64_t oom = 0, pids = 0, peak, start = now_mono_ms();
	int rc;
	memset(r, 0, sizeof *r);
	memcg_limit(b, s->limits->memory_mb);
	run_request(&req, s);
	rc = request(b, &req, m, s->limits->wall_ms + RUN_GRACE_MS, err, errlen);
	if (rc == 0)
		rc = run_reply(b, m, r, &oom, &pids, err, errlen);
	else if (!b->oom_seen && pool_oom_killed(&b->dk, &b->slot)) {
		lost_to_oom(b, r, start);
		oom = 1;
		rc = 0;
	}
	if (rc == 0 && !within_caps(r, s)) {
		snprintf(err, errlen, "codex-agent: output past the cap");
		b->broken = 1;
		rc = -1;
	}
	agent_msg_free(m);
	free(m);
	if (rc != 0)
		return -1;
	if ((peak = memcg_peak_kb(b)) >= 0)
		r->memory_kb = peak;
	box_classify(r, s, oom, pids);
	/* A step killed for time may have left the container in any state.
	 * dockerd's State.OOMKilled says whether the container ever had an OOM
	 * kill (it is set when the container stops): after one, the container
	 * goes, so that lost_to_oom() only ever sees the current step's. */
	if (r->limit && (strcmp(r->limit, "time") == 0 || strcmp(r->limit, "wall") == 0))
		b->replace = 1;
	if (oom > 0)
		b->oom_seen = b->replace = 1;
	return 0;
}

static int d_read_file(void *box, const char *path, size_t cap, char **data, size_t *len,
		       const char **why)
{
	struct dbox *b = box;
	struct sbuf req = {0};
	struct agent_msg *m = xcalloc(1, sizeof *m);
	char err[256];
	*data = NULL;
	*len = 0;
	*why = "unreadable";
	if (cap > AGENT_READ_MAX)
		cap = AGENT_READ_MAX;	/* larger files are too-large */
	agent_begin(&req, AGENT_READ);
	agent_put_str(&req, AT_PATH, path);
	agent_put_num(&req, AT_CAP, (int64_t)cap);
	agent_end(&req, 0);
	if (request(b, &req, m, REPLY_MS, err, sizeof err) != 0) {
		log_warn("docker: read %s: %s", path, err);
		free(m);
		return -1;
	}
	static const char *const whys[] = {"missing", "symlink", "not-regular", "hard-link", "too-large", "unreadable"};
	const struct agent_field *w = agent_get(m, AT_WHY);
	int rc = -1;
	if (m->op == AGENT_FILE && w == NULL && agent_get(m, AT_DATA) &&
	    agent_get(m, AT_DATA)->len <= cap) {
		*data = copy_field(m, AT_DATA, len);
		*why = NULL;
		rc = 0;
	} else if (w) {
		for (size_t i = 0; i < sizeof whys / sizeof whys[0]; i++)
			if (strlen(whys[i]) == w->len && memcmp(whys[i], w->data, w->len) == 0)
				*why = whys[i];
	}
	agent_msg_free(m);
	free(m);
	return rc;
}

const struct box_ops dbox_ops = {
	.name = "docker", .write = d_write, .run = d_run, .read_file = d_read_file,
};
