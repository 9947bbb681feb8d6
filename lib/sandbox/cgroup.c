#include "sandbox/cgroup.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/util.h"

int cg_write_value(const char *dir, const char *file, const char *val)
{
	char path[PATH_MAX + 64];
	if (path_fmt(path, sizeof path, "%s/%s", dir, file) != 0)
		return -1;
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int rc = write_all(fd, val, strlen(val));
	int saved = errno;
	close(fd);
	errno = saved;
	return rc;
}

/* Reads a small file into buf (NUL-terminated). Returns bytes or -1. */
static ssize_t read_file(const char *dir, const char *file, char *buf, size_t len)
{
	char path[PATH_MAX + 64];
	if (path_fmt(path, sizeof path, "%s/%s", dir, file) != 0)
		return -1;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, len - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	return n;
}

int64_t cg_read_value(const char *dir, const char *file, const char *key)
{
	char buf[4096];
	if (read_file(dir, file, buf, sizeof buf) <= 0)
		return -1;
	if (key == NULL)
		return strtoll(buf, NULL, 10);
	size_t klen = strlen(key);
	for (char *line = buf; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL)
		if (strncmp(line, key, klen) == 0 && line[klen] == ' ')
			return strtoll(line + klen + 1, NULL, 10);
	return -1;
}

/* A figure of a step (cg_read_value): 0 for what the kernel does not have. */
static int64_t read_count(const char *dir, const char *file, const char *key)
{
	int64_t v = cg_read_value(dir, file, key);
	return v > 0 ? v : 0;
}

/* Our own group path in the v1 hierarchy holding `controller`, or in the
 * unified hierarchy when controller is "". "/" comes back as "". */
static int own_group(const char *controller, char *out, size_t len)
{
	char line[1024];
	FILE *f = fopen("/proc/self/cgroup", "re");
	int found = -1;
	if (f == NULL)
		return -1;
	while (found < 0 && fgets(line, sizeof line, f)) {
		/* hierarchy-id:controller-list:path */
		char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (c2 == NULL)
			continue;
		*c1 = *c2 = '\0';
		char *path = c2 + 1, ctrls[256], want[64];
		path[strcspn(path, "\n")] = '\0';
		snprintf(ctrls, sizeof ctrls, ",%s,", c1 + 1);
		snprintf(want, sizeof want, ",%s,", controller);
		int match = *controller ? strstr(ctrls, want) != NULL
					: strcmp(line, "0") == 0 && c1[1] == '\0';
		if (match)
			found = path_fmt(out, len, "%s", strcmp(path, "/") == 0 ? "" : path);
	}
	fclose(f);
	return found;
}

/* Mount point of the v1 hierarchy holding controller, from mountinfo. */
static int v1_mount(const char *controller, char *out, size_t len)
{
	char line[4096];
	FILE *f = fopen("/proc/self/mountinfo", "re");
	int found = -1;
	if (f == NULL)
		return -1;
	while (found < 0 && fgets(line, sizeof line, f)) {
		char mnt[PATH_MAX], fstype[64], opts[1024];
		char *sep = strstr(line, " - ");
		if (sep == NULL || sscanf(line, "%*s %*s %*s %*s %4095s", mnt) != 1 ||
		    sscanf(sep + 3, "%63s %*s %1023s", fstype, opts) != 2 ||
		    strcmp(fstype, "cgroup") != 0)
			continue;
		char tmp[1100], want[64];
		snprintf(tmp, sizeof tmp, ",%s,", opts);
		snprintf(want, sizeof want, ",%s,", controller);
		if (strstr(tmp, want))
			found = path_fmt(out, len, "%s", mnt);
	}
	fclose(f);
	return found;
}

static int mkdir_p(const char *path)
{
	char buf[PATH_MAX];
	if (path_fmt(buf, sizeof buf, "%s", path) != 0)
		return -1;
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) != 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	return mkdir(buf, 0755) != 0 && errno != EEXIST ? -1 : 0;
}

static int v1_base(const char *controller, const char *override, const char *name, char *out,
		   size_t len, char *err, size_t errlen)
{
	char mnt[PATH_MAX], own[PATH_MAX] = "";
	if (v1_mount(controller, mnt, sizeof mnt) != 0) {
		snprintf(err, errlen, "cgroup v1: no hierarchy with the %s controller", controller);
		return -1;
	}
	if (!override && own_group(controller, own, sizeof own) != 0)
		own[0] = '\0';
	if ((override ? path_fmt(out, len, "%s/%s", mnt, override)
		      : path_fmt(out, len, "%s%s/%s", mnt, own, name)) != 0) {
		snprintf(err, errlen, "cgroup v1: the sandbox's group below %s: %s", mnt,
			 strerror(errno));
		return -1;
	}
	if (mkdir_p(out) != 0) {
		snprintf(err, errlen, "cannot create %s: %s", out, strerror(errno));
		return -1;
	}
	return 0;
}

static int v2_enable(const char *dir)
{
	return cg_write_value(dir, "cgroup.subtree_control", "+memory +pids");
}

/* Moves every process of the group dir into its child leaf. A process that
 * ends meanwhile is passed over; one that forks meanwhile is caught by the
 * caller's next round. Returns 0, or -1 with errno. */
static int v2_move_all(const char *dir, const char *leaf)
{
	char procs[65536];
	ssize_t n = read_file(dir, "cgroup.procs", procs, sizeof procs);
	if (n < 0)
		return -1;
	for (char *pid = strtok(procs, "\n"); pid; pid = strtok(NULL, "\n"))
		if (cg_write_value(leaf, "cgroup.procs", pid) != 0 && errno != ESRCH)
			return -1;
	return 0;
}

/* Enables memory and pids for the children of parent. A group with
 * processes of its own cannot (the no-internal-process rule): a delegated
 * group, such as a systemd unit's with Delegate=yes or a container's with
 * its own cgroup namespace, holds the service. With `adopt`, its processes
 * are then moved into the leaf "<parent>/supervisor" first (those of every
 * stage of the service: they are one unit), a few rounds in case one
 * forks meanwhile. Returns 0, or -1 with err. */
static int v2_enable_below(const char *parent, int adopt, char *err, size_t errlen)
{
	char leaf[PATH_MAX + 16], avail[256] = "";
	for (int round = 0; round < 10; round++) {
		if (v2_enable(parent) == 0)
			return 0;
		if (errno != EBUSY || !adopt)
			break;
		if (path_fmt(leaf, sizeof leaf, "%s/supervisor", parent) != 0 ||
		    mkdir_p(leaf) != 0 || v2_move_all(parent, leaf) != 0) {
			snprintf(err, errlen, "cgroup v2: cannot move the processes of %s into "
				 "its supervisor leaf: %s", parent, strerror(errno));
			return -1;
		}
	}
	int saved = errno;
	if (saved == ENOENT) {
		read_file(parent, "cgroup.controllers", avail, sizeof avail);
		avail[strcspn(avail, "\n")] = '\0';
		snprintf(err, errlen, "cgroup v2: memory and pids are not delegated to %s (it has: %s); "
			 "run the service where they are (a systemd unit with Delegate=yes, "
			 "a container with a cgroup namespace of its own)", parent, avail);
	} else
		snprintf(err, errlen, "cgroup v2: cannot enable memory and pids in %s: %s%s", parent,
			 strerror(saved), saved == EROFS || saved == EACCES
			 ? " (the cgroup file system must be writable by the service)" : "");
	return -1;
}

/* Whether dir/file exists. */
static int has_file(const char *dir, const char *file)
{
	char path[PATH_MAX + 64];
	return path_fmt(path, sizeof path, "%s/%s", dir, file) == 0 && access(path, F_OK) == 0;
}

/* v2: the parent of the instance's group is our own group (a leaf then
 * holds us; when we are in that leaf already, its parent), or the parent
 * of $SANDBOX_CGROUP_ROOT, whose processes are not ours to move. */
static int v2_setup(struct cg_sys *cs, const char *override, const char *name, char *err,
		    size_t errlen)
{
	char own[PATH_MAX] = "", parent[PATH_MAX];
	int rc;
	if (override) {
		rc = path_fmt(cs->v2, sizeof cs->v2, "/sys/fs/cgroup/%s", override) ||
		     path_fmt(parent, sizeof parent, "%s", cs->v2);
		if (rc == 0)
			*strrchr(parent, '/') = '\0';
	} else if (own_group("", own, sizeof own) != 0) {
		snprintf(err, errlen, "cgroup v2: cannot find our own group in /proc/self/cgroup");
		return -1;
	} else {
		/* Started again from the leaf an earlier start moved us into. */
		size_t n = strlen(own), k = strlen("/supervisor");
		if (n >= k && strcmp(own + n - k, "/supervisor") == 0)
			own[n - k] = '\0';
		rc = path_fmt(parent, sizeof parent, "/sys/fs/cgroup%s", own) ||
		     path_fmt(cs->v2, sizeof cs->v2, "%s/%s", parent, name);
	}
	if (rc != 0) {
		snprintf(err, errlen, "cgroup v2: the path of the sandbox's group is too long");
		return -1;
	}
	if (v2_enable_below(parent, override == NULL, err, errlen) != 0)
		return -1;
	if (mkdir_p(cs->v2) != 0 || v2_enable(cs->v2) != 0) {
		snprintf(err, errlen, "cgroup v2: cannot prepare %s: %s", cs->v2, strerror(errno));
		return -1;
	}
	memcpy(cs->mem, cs->v2, sizeof cs->mem);
	memcpy(cs->pids, cs->v2, sizeof cs->pids);
	cs->sampled_peak = !has_file(cs->v2, "memory.peak");
	return 0;
}

int cg_setup(struct cg_sys *cs, const char *instance, char *err, size_t errlen)
{
	char name[128];
	snprintf(name, sizeof name, "%s-sandbox", instance);
	struct stat st;
	const char *override = getenv("SANDBOX_CGROUP_ROOT");
	memset(cs, 0, sizeof *cs);
	if (override && *override == '\0')
		override = NULL;
	if (stat("/sys/fs/cgroup/cgroup.controllers", &st) == 0) {
		cs->version = CG_V2;
		return v2_setup(cs, override, name, err, errlen);
	}
	cs->version = CG_V1;
	if (v1_base("memory", override, name, cs->mem, sizeof cs->mem, err, errlen) != 0 ||
	    v1_base("pids", override, name, cs->pids, sizeof cs->pids, err, errlen) != 0 ||
	    v1_base("cpuacct", override, name, cs->cpu, sizeof cs->cpu, err, errlen) != 0)
		return -1;
	return 0;
}

/* Whether a cgroup2 file system is mounted beside the v1 hierarchies. */
static int hybrid(void)
{
	char line[1024];
	int found = 0;
	FILE *f = fopen("/proc/self/mounts", "re");
	while (f && !found && fgets(line, sizeof line, f))
		found = strstr(line, " cgroup2 ") != NULL;
	if (f)
		fclose(f);
	return found;
}

void cg_describe(const struct cg_sys *cs, char *out, size_t len)
{
	if (cs->version == CG_V2) {
		char parent[PATH_MAX];
		memcpy(parent, cs->v2, sizeof parent);
		*strrchr(parent, '/') = '\0';
		int root = strcmp(parent, "/sys/fs/cgroup") == 0;
		snprintf(out, len, "cgroup v2, boxes in %s (%s%s); each step: memory.max%s, pids.max, "
			 "CPU from cpu.stat, peak memory from %s, %s, %s",
			 cs->v2, root ? "the root group" : "a group delegated to the service",
			 has_file(parent, "supervisor") ? ", the service's processes in its supervisor leaf" : "",
			 has_file(cs->v2, "memory.swap.max") ? " with memory.swap.max 0"
							     : " (no swap support in this kernel)",
			 cs->sampled_peak ? "the largest memory.current sampled while it runs "
					    "(Linux < 5.19: no memory.peak)" : "memory.peak",
			 has_file(cs->v2, "cgroup.kill") ? "cgroup.kill ends it"
							 : "its processes killed one by one (Linux < 5.14)",
			 cg_has_clone3() ? "its init born in it (clone3 CLONE_INTO_CGROUP)"
					 : "its init moved into it (clone3 refused: Linux < 5.3, "
					   "or a seccomp profile)");
		return;
	}
	snprintf(out, len, "cgroup v1%s, boxes in %s; each step: memory.limit_in_bytes%s, pids.max, "
		 "CPU from cpuacct.usage, peak memory from memory.max_usage_in_bytes",
		 hybrid() ? " (hybrid: the unified hierarchy is mounted, with no controller for us)" : "",
		 cs->mem, has_file(cs->mem, "memory.memsw.limit_in_bytes")
		 ? " and memory.memsw.limit_in_bytes (no swap)"
		 : " (swap not capped: this kernel does no swap accounting)");
}

static int make_dir(const char *path, char *err, size_t errlen)
{
	if (mkdir(path, 0755) == 0)
		return 0;
	snprintf(err, errlen, "cannot create cgroup %s: %s", path, strerror(errno));
	return -1;
}

static int set_limit(const char *dir, const char *file, const char *val,
		     char *err, size_t errlen)
{
	if (cg_write_value(dir, file, val) == 0)
		return 0;
	snprintf(err, errlen, "cannot write %s to %s/%s: %s", val, dir, file, strerror(errno));
	return -1;
}

static int create_v1(struct cg *g, const char *mem, const char *pids,
		     char *err, size_t errlen)
{
	if (make_dir(g->mem, err, errlen) || make_dir(g->pids, err, errlen) ||
	    make_dir(g->cpu, err, errlen))
		return -1;
	if (set_limit(g->mem, "memory.limit_in_bytes", mem, err, errlen) ||
	    set_limit(g->pids, "pids.max", pids, err, errlen))
		return -1;
	/* Only present with swap accounting; without it there is no swap to cap. */
	if (has_file(g->mem, "memory.memsw.limit_in_bytes") &&
	    set_limit(g->mem, "memory.memsw.limit_in_bytes", mem, err, errlen))
		return -1;
	return 0;
}

static int create_v2(struct cg *g, const char *mem, const char *pids,
		     char *err, size_t errlen)
{
	if (make_dir(g->v2, err, errlen))
		return -1;
	if (set_limit(g->v2, "memory.max", mem, err, errlen) ||
	    set_limit(g->v2, "pids.max", pids, err, errlen))
		return -1;
	/* memory.swap.max is absent when the kernel has no swap support. */
	if (cg_write_value(g->v2, "memory.swap.max", "0") != 0 && errno != ENOENT) {
		snprintf(err, errlen, "cannot write memory.swap.max in %s: %s", g->v2, strerror(errno));
		return -1;
	}
	return 0;
}

int cg_create(const struct cg_sys *cs, const char *name, int64_t memory_mb,
	      int64_t pids, struct cg *g, char *err, size_t errlen)
{
	char mem[32], npids[32];
	memset(g, 0, sizeof *g);
	g->sys = cs;
	snprintf(mem, sizeof mem, "%lld", (long long)memory_mb << 20);
	snprintf(npids, sizeof npids, "%lld", (long long)pids);
	if (cs->version == CG_V1 ? path_fmt(g->mem, sizeof g->mem, "%s/%s", cs->mem, name) ||
				   path_fmt(g->pids, sizeof g->pids, "%s/%s", cs->pids, name) ||
				   path_fmt(g->cpu, sizeof g->cpu, "%s/%s", cs->cpu, name)
				 : path_fmt(g->v2, sizeof g->v2, "%s/%s", cs->v2, name)) {
		snprintf(err, errlen, "cgroup: the path of group %s is too long", name);
		return -1;
	}
	cg_destroy(g);
	if (cs->version == CG_V1)
		return create_v1(g, mem, npids, err, errlen);
	return create_v2(g, mem, npids, err, errlen);
}

int cg_dir_fd(const struct cg *g)
{
	if (g->sys->version != CG_V2)
		return -1;
	return open(g->v2, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
}

int cg_has_clone3(void)
{
	/* A size below the first version's is EINVAL where clone3 exists;
	 * ENOSYS where the kernel lacks it or a seccomp profile (Docker's
	 * default) hides it. */
	return syscall(SYS_clone3, NULL, (size_t)0) == -1 && errno != ENOSYS;
}

int cg_attach(const struct cg *g, pid_t pid, char *err, size_t errlen)
{
	char val[32];
	snprintf(val, sizeof val, "%d", (int)pid);
	if (g->sys->version == CG_V2)
		return set_limit(g->v2, "cgroup.procs", val, err, errlen);
	if (set_limit(g->mem, "cgroup.procs", val, err, errlen) ||
	    set_limit(g->pids, "cgroup.procs", val, err, errlen) ||
	    set_limit(g->cpu, "cgroup.procs", val, err, errlen))
		return -1;
	return 0;
}

int cg_procs_fds(const struct cg *g, int fds[CG_PROCS_MAX])
{
	const char *dirs[CG_PROCS_MAX] = {g->mem, g->pids, g->cpu};
	char path[PATH_MAX];
	int n = g->sys->version == CG_V2 ? 1 : CG_PROCS_MAX;
	if (n == 1)
		dirs[0] = g->v2;
	for (int i = 0; i < n; i++) {
		fds[i] = -1;
		if (path_fmt(path, sizeof path, "%s/cgroup.procs", dirs[i]) == 0)
			fds[i] = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
		if (fds[i] < 0) {
			int e = errno;
			while (i-- > 0)
				close(fds[i]);
			errno = e;
			return -1;
		}
	}
	return n;
}

int64_t cg_cpu_us(const struct cg *g)
{
	if (g->sys->version == CG_V2)
		return read_count(g->v2, "cpu.stat", "usage_usec");
	return read_count(g->cpu, "cpuacct.usage", NULL) / 1000;
}

int64_t cg_memory_kb(const struct cg *g)
{
	int64_t v = g->sys->version == CG_V2 ? cg_read_value(g->v2, "memory.current", NULL)
					     : cg_read_value(g->mem, "memory.usage_in_bytes", NULL);
	return v < 0 ? -1 : v / 1024;
}

void cg_read_stats(const struct cg *g, struct cg_stats *st)
{
	st->cpu_us = cg_cpu_us(g);
	if (g->sys->version == CG_V2) {
		/* memory.peak arrived in Linux 5.19; before it, what is in use
		 * at the end is the least the peak was (the caller's samples
		 * may know more: cg_memory_kb). */
		st->peak_kb = read_count(g->v2, g->sys->sampled_peak ? "memory.current" : "memory.peak",
					 NULL) / 1024;
		st->oom_kills = read_count(g->v2, "memory.events", "oom_kill");
		st->pids_max_hits = read_count(g->v2, "pids.events", "max");
		return;
	}
	st->peak_kb = read_count(g->mem, "memory.max_usage_in_bytes", NULL) / 1024;
	/* oom_kill in memory.oom_control exists since Linux 4.13. */
	st->oom_kills = read_count(g->mem, "memory.oom_control", "oom_kill");
	st->pids_max_hits = read_count(g->pids, "pids.events", "max");
}

static void kill_procs(const char *dir)
{
	char buf[65536];
	if (read_file(dir, "cgroup.procs", buf, sizeof buf) <= 0)
		return;
	for (char *p = buf; *p;) {
		long pid = strtol(p, &p, 10);
		if (pid > 1)
			kill((pid_t)pid, SIGKILL);
		while (*p == '\n')
			p++;
	}
}

/* Removes a group once its tasks are gone. The box's tasks are dead by
 * now, but a group stays busy until the kernel has released them (after an
 * RCU grace period, on v1): tried again at once, then 50 us later,
 * doubling up to 5 ms, for about a second in all; or, when !patient, only
 * once. */
static int remove_dir(const char *dir, int patient)
{
	useconds_t wait = 50, waited = 0;
	for (;;) {
		if (rmdir(dir) == 0 || errno == ENOENT)
			return 0;
		if (errno != EBUSY)
			return -1;
		kill_procs(dir);
		if (!patient || waited >= 1000000)
			return -1;
		usleep(wait);
		waited += wait;
		wait = wait < 2500 ? wait * 2 : 5000;
	}
}

static int destroy(const struct cg *g, int patient)
{
	if (g->sys->version == CG_V2 ? g->v2[0] == '\0' : g->mem[0] == '\0')
		return 0;	/* its path did not fit (cg_create): nothing was made */
	if (g->sys->version == CG_V2) {
		/* cgroup.kill (Linux 5.14) ends every process at once, forks included. */
		if (cg_write_value(g->v2, "cgroup.kill", "1") != 0)
			kill_procs(g->v2);
		return remove_dir(g->v2, patient);
	}
	kill_procs(g->pids);
	int rc = remove_dir(g->mem, patient);
	rc |= remove_dir(g->pids, patient);
	rc |= remove_dir(g->cpu, patient);
	return rc;
}

int cg_destroy(const struct cg *g)
{
	return destroy(g, 1);
}

int cg_try_destroy(const struct cg *g)
{
	return destroy(g, 0);
}

int cg_favordynmods(const char *mounts)
{
	char line[1024], dev[256], dir[512], type[64], opts[512];
	int on = 0;
	FILE *f = fopen(mounts, "re");
	if (f == NULL)
		return -1;
	while (!on && fgets(line, sizeof line, f)) {
		if (sscanf(line, "%255s %511s %63s %511s", dev, dir, type, opts) != 4)
			continue;
		if (strcmp(type, "cgroup") != 0 && strcmp(type, "cgroup2") != 0)
			continue;
		for (char *o = strtok(opts, ","); o && !on; o = strtok(NULL, ","))
			on = strcmp(o, "favordynmods") == 0;
	}
	fclose(f);
	return on;
}
