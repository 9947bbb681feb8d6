/* cgroup: per-slot control groups on cgroup v1 (memory, pids, cpuacct
 * hierarchies) and v2 (unified), detected at start. sandbox-exec creates a
 * fresh group for every step, so peak memory and CPU start at zero. */
#ifndef CGROUP_H
#define CGROUP_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum cg_version { CG_V1 = 1, CG_V2 = 2 };

/* Where the sandbox's groups live: one base per v1 controller, or one v2
 * directory with memory and pids enabled for its children. */
struct cg_sys {
	enum cg_version version;
	char mem[PATH_MAX];
	char pids[PATH_MAX];
	char cpu[PATH_MAX];	/* v1 cpuacct; unused on v2 */
	char v2[PATH_MAX];
	int sampled_peak;	/* v2 without memory.peak (Linux < 5.19): a step's
				 * peak is the largest cg_memory_kb sampled while it runs */
};

/* One group (a step of one slot). */
struct cg {
	const struct cg_sys *sys;
	char mem[PATH_MAX], pids[PATH_MAX], cpu[PATH_MAX], v2[PATH_MAX];
};

struct cg_stats {
	int64_t cpu_us;		/* CPU time of every process that ran in it */
	int64_t peak_kb;	/* peak memory */
	int64_t oom_kills;	/* processes the OOM killer ended */
	int64_t pids_max_hits;	/* fork/clone refused by pids.max */
};

/* Detects the cgroup version and prepares "<own group>/<instance>-sandbox"
 * (or $SANDBOX_CGROUP_ROOT, a path below the cgroup mount) as the parent of
 * every box group of the instance (instance.h: "codex-sandbox" for the
 * default one). On v2 the controllers are enabled down to it; if our own
 * group holds processes, they all move into its "supervisor" leaf first
 * (the no-internal-process rule), and a start from that leaf takes its
 * parent. Returns 0, or -1 with err. */
int cg_setup(struct cg_sys *cs, const char *instance, char *err, size_t errlen);

/* What cg_setup found and what each step will get, in one line for the
 * operator: the version (v1, hybrid or v2), where the groups live and
 * whether that group was delegated to us, and which limits and figures
 * the kernel gives (swap capped or not, peak memory, kill). */
void cg_describe(const struct cg_sys *cs, char *out, size_t len);

/* Creates (after removing any stale one) the group `name` with the memory
 * limit (no swap) and pids limit. Returns 0, or -1 with err. */
int cg_create(const struct cg_sys *cs, const char *name, int64_t memory_mb,
	      int64_t pids, struct cg *g, char *err, size_t errlen);

/* A directory fd of a v2 group, for clone3(CLONE_INTO_CGROUP): the new
 * process is born in it, no running task is moved. -1 on v1 (or when it
 * cannot be opened: cg_attach then). Close-on-exec. */
int cg_dir_fd(const struct cg *g);

/* Whether clone3 can be called (Linux 5.3, CLONE_INTO_CGROUP 5.7; not
 * under a seccomp profile that hides it). */
int cg_has_clone3(void);

/* Moves pid (0: the calling process) into the group. Returns 0, or -1
 * with err. */
int cg_attach(const struct cg *g, pid_t pid, char *err, size_t errlen);

/* Opens the group's cgroup.procs files for writing (v1: memory, pids,
 * cpuacct; v2: the one), close-on-exec, into fds: a process given them
 * moves a pid into the group by writing it to each (zygote.h). Returns
 * how many, or -1 with errno. */
enum { CG_PROCS_MAX = 3 };
int cg_procs_fds(const struct cg *g, int fds[CG_PROCS_MAX]);

/* CPU time so far, in microseconds, or -1. Cheap: one small read. */
int64_t cg_cpu_us(const struct cg *g);

/* Memory in use by the group now, in KiB, or -1. Cheap: one small read. */
int64_t cg_memory_kb(const struct cg *g);

/* Reads the figures of a finished group. Missing files read as zero. */
void cg_read_stats(const struct cg *g, struct cg_stats *st);

/* SIGKILLs every process left in the group, then removes it (retrying
 * while the kernel still holds it busy). Returns 0, or -1. */
int cg_destroy(const struct cg *g);

/* As cg_destroy, but tries the removal once: -1 while the group is busy. */
int cg_try_destroy(const struct cg *g);

/* A number in the cgroup file dir/file: its first, or the one after "key "
 * on a line (flat-keyed files such as memory.events, NULL key for a plain
 * number). Returns -1 when the file or the key is missing. */
int64_t cg_read_value(const char *dir, const char *file, const char *key);

/* Writes val to dir/file. Returns 0, or -1 with errno. */
int cg_write_value(const char *dir, const char *file, const char *val);

/* Whether a cgroup hierarchy of the mount table `mounts` (/proc/mounts)
 * has the favordynmods option (Linux 6.0+). Without it, moving a process
 * into a cgroup (each step's init) takes the kernel's global threadgroup
 * lock for writing, which waits for an RCU grace period once the last
 * move is more than about one grace period ago: 10 to 20 ms per step on
 * Linux 6.18 here. Returns 1, 0, or -1 when mounts cannot be read. */
int cg_favordynmods(const char *mounts);

#endif
