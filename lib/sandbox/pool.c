#include "sandbox/pool.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "core/util.h"

enum { STATE_MAX = 4096 };

/* The work dirs every job may write; the agent wipes them between jobs. */
static const char *const tmpfs_dirs[] = {"/sandbox/code", "/sandbox/bin", "/sandbox/results", "/tmp"};

int pool_dir(const struct lang_table *t, const char *lang, char *out, size_t outlen)
{
	return path_fmt(out, outlen, "%s/docker-%s", t->state_dir, lang);
}

static int state_path(const struct pool_slot *s, const char *suffix, char *out, size_t outlen)
{
	return path_fmt(out, outlen, "%s/slots/%d.json%s", s->dir, s->k, suffix);
}

void pool_slot_load(struct pool_slot *s, const struct lang_table *t, const char *lang, int k)
{
	char path[PATH_MAX + 32];
	memset(s, 0, sizeof *s);
	snprintf(s->lang, sizeof s->lang, "%s", lang);
	s->k = k;
	int fd = pool_dir(t, lang, s->dir, sizeof s->dir) == 0 &&
			 state_path(s, "", path, sizeof path) == 0
		 ? open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC) : -1;
	if (fd < 0)
		return;
	char buf[STATE_MAX + 1];
	ssize_t n = read(fd, buf, STATE_MAX);
	close(fd);
	if (n <= 0)
		return;
	buf[n] = '\0';
	cJSON *o = cJSON_Parse(buf);
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(o, "id");
	if (cJSON_IsString(id))
		snprintf(s->id, sizeof s->id, "%s", id->valuestring);
	s->jobs = (long)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(o, "jobs"));
	s->created_ms = (int64_t)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(o, "created"));
	s->checked_ms = (int64_t)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(o, "checked"));
	s->dirty = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "dirty"));
	s->pid = (long)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(o, "pid"));
	if (!(s->jobs >= 0 && s->created_ms >= 0 && s->checked_ms >= 0 && s->pid >= 0)) {
		s->jobs = s->pid = 0;	/* NaN from a bad file */
		s->created_ms = s->checked_ms = 0;
	}
	cJSON_Delete(o);
}

int pool_slot_save(const struct pool_slot *s)
{
	char path[PATH_MAX + 32], tmp[PATH_MAX + 32];
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "id", s->id);
	cJSON_AddNumberToObject(o, "jobs", (double)s->jobs);
	cJSON_AddNumberToObject(o, "created", (double)s->created_ms);
	cJSON_AddNumberToObject(o, "checked", (double)s->checked_ms);
	cJSON_AddBoolToObject(o, "dirty", s->dirty);
	cJSON_AddNumberToObject(o, "pid", (double)s->pid);
	char *text = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (text == NULL)
		die(EXIT_TEMPORARY, "out of memory");
	int fd = state_path(s, "", path, sizeof path) == 0 &&
			 state_path(s, ".new", tmp, sizeof tmp) == 0
		 ? open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600) : -1;
	int rc = fd >= 0 && write_all(fd, text, strlen(text)) == 0 ? 0 : -1;
	if (fd >= 0 && close(fd) != 0)
		rc = -1;
	if (rc == 0)
		rc = rename(tmp, path);
	free(text);
	return rc;
}

const char *pool_slot_stale(const struct pool_slot *s, const struct lang_table *t)
{
	if (s->id[0] == '\0')
		return "none";
	if (s->dirty)
		return "dirty";
	if (s->jobs >= t->max_jobs)
		return "max-jobs";
	if (now_wall_ms() - s->created_ms >= (int64_t)t->max_age_s * 1000)
		return "max-age";
	return NULL;
}

static int64_t max64(int64_t a, int64_t b)
{
	return a > b ? a : b;
}

static void add_tmpfs(cJSON *tmpfs, const char *dir, int64_t mb, long uid)
{
	char opts[200], owner[64];
	snprintf(owner, sizeof owner, "uid=%ld,gid=%ld,mode=0755", uid, uid);
	/* Docker mounts tmpfs noexec by default; the compiled program runs
	 * from /sandbox/bin. */
	snprintf(opts, sizeof opts, "rw,nosuid,nodev,%s,size=%lldm,nr_inodes=4096,%s",
		 strcmp(dir, "/sandbox/bin") == 0 ? "exec" : "noexec", (long long)mb,
		 strcmp(dir, "/tmp") == 0 ? "mode=1777" : owner);
	cJSON_AddStringToObject(tmpfs, dir, opts);
}

static void add_strings(cJSON *o, const char *name, const char *const *v, size_t n)
{
	cJSON *a = cJSON_AddArrayToObject(o, name);
	for (size_t i = 0; i < n; i++)
		cJSON_AddItemToArray(a, cJSON_CreateString(v[i]));
}

static cJSON *host_config(const struct lang_table *t, const struct lang *l, long uid)
{
	const struct sbx_limits *run = &l->limits, *cc = &l->compile_limits;
	int compiles = l->compile != NULL;
	/* The container must hold the larger step; the agent and the init
	 * need a little of each. */
	int64_t mem = (max64(run->memory_mb, compiles ? cc->memory_mb : 0) + 16) << 20;
	int64_t pids = max64(run->processes, compiles ? cc->processes : 0) + 4;
	int64_t work = max64(run->workdir_mb, compiles ? cc->workdir_mb : 0);
	static const char *const caps[] = {"ALL"}, *const sec[] = {"no-new-privileges"};
	cJSON *h = cJSON_CreateObject();
	cJSON_AddStringToObject(h, "NetworkMode", "none");
	cJSON_AddBoolToObject(h, "ReadonlyRootfs", 1);
	add_strings(h, "CapDrop", caps, 1);
	add_strings(h, "SecurityOpt", sec, 1);
	cJSON_AddNumberToObject(h, "Memory", (double)mem);
	cJSON_AddNumberToObject(h, "MemorySwap", (double)mem);
	cJSON_AddNumberToObject(h, "PidsLimit", (double)pids);
	cJSON_AddNumberToObject(h, "NanoCpus", (double)t->cpus * 1e9);
	/* codex-agent is the init: pid 1 reaps, and the kernel keeps signals
	 * from inside the container away from it. A separate init would be a
	 * process of the job's uid that outlives the job. */
	cJSON_AddBoolToObject(h, "Init", 0);
	cJSON_AddStringToObject(h, "IpcMode", "none");	/* private, and no /dev/shm */
	cJSON *log = cJSON_AddObjectToObject(h, "LogConfig");
	cJSON_AddStringToObject(log, "Type", "none");	/* job data never lands in a log file */
	cJSON *tmpfs = cJSON_AddObjectToObject(h, "Tmpfs");
	for (size_t i = 0; i < sizeof tmpfs_dirs / sizeof tmpfs_dirs[0]; i++)
		add_tmpfs(tmpfs, tmpfs_dirs[i], work, uid);
	cJSON *ul = cJSON_AddArrayToObject(h, "Ulimits");
	cJSON *nofile = cJSON_CreateObject();
	cJSON_AddStringToObject(nofile, "Name", "nofile");
	cJSON_AddNumberToObject(nofile, "Soft", 1024);
	cJSON_AddNumberToObject(nofile, "Hard", 1024);
	cJSON_AddItemToArray(ul, nofile);
	return h;
}

char *pool_spec(const struct lang_table *t, const struct lang *l, int k)
{
	static const char *const cmd[] = {"/usr/local/bin/codex-agent"};
	char slot[16], user[48];
	long uid = lang_slot_uid(t, l, k);
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "Image", t->image);
	add_strings(o, "Entrypoint", cmd, 1);
	cJSON_AddArrayToObject(o, "Cmd");
	snprintf(user, sizeof user, "%ld:%ld", uid, uid);
	cJSON_AddStringToObject(o, "User", user);
	cJSON_AddStringToObject(o, "WorkingDir", "/sandbox/code");
	cJSON_AddBoolToObject(o, "OpenStdin", 1);
	cJSON_AddBoolToObject(o, "StdinOnce", 0);
	cJSON_AddBoolToObject(o, "AttachStdin", 1);
	cJSON_AddBoolToObject(o, "AttachStdout", 1);
	cJSON_AddBoolToObject(o, "AttachStderr", 1);
	cJSON_AddBoolToObject(o, "Tty", 0);
	cJSON_AddBoolToObject(o, "NetworkDisabled", 1);
	cJSON *labels = cJSON_AddObjectToObject(o, "Labels");
	snprintf(slot, sizeof slot, "%d", k);
	cJSON_AddStringToObject(labels, "codex.pool", t->pool);
	cJSON_AddStringToObject(labels, "codex.language", l->name);
	cJSON_AddStringToObject(labels, "codex.slot", slot);
	cJSON_AddItemToObject(o, "HostConfig", host_config(t, l, uid));
	char *text = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (text == NULL)
		die(EXIT_TEMPORARY, "out of memory");
	return text;
}

/* A Docker API path that would not fit (path_fmt): -1 with err. */
static int path_too_long(const char *ref, char *err, size_t errlen)
{
	snprintf(err, errlen, "docker: the API path for '%.80s' is too long", ref);
	return -1;
}

int pool_remove(struct dk *d, const char *ref, char *err, size_t errlen)
{
	char path[256], *body = NULL;
	if (path_fmt(path, sizeof path, "/containers/%s?force=1&v=1", ref) != 0)
		return path_too_long(ref, err, errlen);
	int st = dk_call(d, "DELETE", path, NULL, &body, err, errlen);
	if (st < 0 || st == 204 || st == 404 || st == 409) {	/* 409: removal already under way */
		free(body);
		return st < 0 ? -1 : 0;
	}
	char msg[256];
	dk_error_text(body, msg, sizeof msg);
	snprintf(err, errlen, "remove %s: %d %s", ref, st, msg);
	free(body);
	return -1;
}

static int call_ok(struct dk *d, const char *method, const char *path, const char *json,
		   int want, char **body, char *err, size_t errlen)
{
	char *reply = NULL, msg[256];
	int st = dk_call(d, method, path, json, &reply, err, errlen);
	if (st == want || (want == 204 && st == 304)) {
		if (body)
			*body = reply;
		else
			free(reply);
		return 0;
	}
	if (st >= 0) {
		dk_error_text(reply, msg, sizeof msg);
		snprintf(err, errlen, "%s %s: %d %s", method, path, st, msg);
	}
	free(reply);
	return -1;
}

int pool_create(struct dk *d, const struct lang_table *t, const struct lang *l,
		struct pool_slot *s, char *err, size_t errlen)
{
	char name[128], path[256], *body = NULL;
	snprintf(name, sizeof name, "%s-%s-%d", t->pool, l->name, s->k);
	if ((s->id[0] && pool_remove(d, s->id, err, errlen) != 0) ||
	    pool_remove(d, name, err, errlen) != 0)
		return -1;
	s->id[0] = '\0';
	s->dirty = 0;
	s->jobs = 0;
	s->pid = 0;
	if (path_fmt(path, sizeof path, "/containers/create?name=%s", name) != 0)
		return path_too_long(name, err, errlen);
	char *spec = pool_spec(t, l, s->k);
	int rc = call_ok(d, "POST", path, spec, 201, &body, err, errlen);
	free(spec);
	if (rc != 0)
		return -1;
	cJSON *o = cJSON_Parse(body);
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(o, "Id");
	if (cJSON_IsString(id))
		snprintf(s->id, sizeof s->id, "%s", id->valuestring);
	cJSON_Delete(o);
	free(body);
	if (s->id[0] == '\0') {
		snprintf(err, errlen, "create %s: no id in the reply", name);
		return -1;
	}
	s->created_ms = s->checked_ms = now_wall_ms();
	if (pool_slot_save(s) != 0) {
		snprintf(err, errlen, "%s/slots/%d.json: %s", s->dir, s->k, strerror(errno));
		return -1;
	}
	return 0;
}

int pool_start(struct dk *d, struct pool_slot *s, char *err, size_t errlen)
{
	char path[256];
	if (path_fmt(path, sizeof path, "/containers/%s/start", s->id) != 0)
		return path_too_long(s->id, err, errlen);
	if (call_ok(d, "POST", path, NULL, 204, NULL, err, errlen) != 0)
		return -1;
	if (pool_running(d, s, &s->pid, err, errlen) != 1) {
		snprintf(err, errlen, "container %.12s stopped as it started", s->id);
		return -1;
	}
	if (pool_slot_save(s) != 0) {
		snprintf(err, errlen, "%s/slots/%d.json: %s", s->dir, s->k, strerror(errno));
		return -1;
	}
	return 0;
}

/* The container's State object (the caller deletes it), or NULL. */
static cJSON *container_state(struct dk *d, const struct pool_slot *s, int *status,
			      char *err, size_t errlen)
{
	char path[256], *body = NULL;
	if (path_fmt(path, sizeof path, "/containers/%s/json", s->id) != 0) {
		*status = path_too_long(s->id, err, errlen);
		return NULL;
	}
	*status = dk_call(d, "GET", path, NULL, &body, err, errlen);
	cJSON *o = *status == 200 ? cJSON_Parse(body) : NULL;
	free(body);
	cJSON *state = cJSON_DetachItemFromObjectCaseSensitive(o, "State");
	cJSON_Delete(o);
	return state;
}

int pool_oom_killed(struct dk *d, const struct pool_slot *s)
{
	char err[256];
	int64_t deadline = now_mono_ms() + 2000;
	for (;;) {
		int st;
		cJSON *state = container_state(d, s, &st, err, sizeof err);
		int running = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(state, "Running"));
		int oom = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(state, "OOMKilled"));
		cJSON_Delete(state);
		if (st != 200 || !running || now_mono_ms() >= deadline)
			return oom;
		usleep(20000);
	}
}

int pool_running(struct dk *d, const struct pool_slot *s, long *pid, char *err, size_t errlen)
{
	int st;
	if (s->id[0] == '\0')
		return 0;
	cJSON *state = container_state(d, s, &st, err, errlen);
	if (st < 0)
		return -1;
	int running = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(state, "Running")) &&
		      !cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(state, "Restarting"));
	if (pid)
		*pid = (long)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(state, "Pid"));
	cJSON_Delete(state);
	return running;
}
