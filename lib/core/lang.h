/* lang: the language table (etc/languages.conf), editable without
 * recompiling. An INI file: a [box] section with the sandbox's settings and
 * defaults, then one section per language. Values are single words or,
 * for argv and lists, words split on blanks (no quoting, no shell). */
#ifndef LANG_H
#define LANG_H

#include <stddef.h>

#include "core/limit.h"

struct lang {
	char *name;		/* the job's "language" value */
	char *source;		/* program file name for compat/stdio/custom */
	char *solution;		/* the user's file name for function jobs */
	char *harness;		/* harness file (in the share dir) */
	char *harness_as;	/* the harness's name in the box */
	char *entry_file;	/* optional file naming the entry, e.g. entry.go */
	char *entry_template;	/* its text; "{entry}" is replaced */
	char **compile;		/* argv or NULL; NULL-terminated */
	char **run;		/* argv; "{main}" becomes the file to run */
	char **launch;		/* ns: argv of a run started ahead of its step
				 * (spawn.h, "launched"), or NULL; "{main}" as in
				 * run */
	char *launcher;		/* the launcher's file in the share dir, which
				 * runs find as /sandbox/<launcher> */
	char *zygote;		/* ns: the zygote's file in the share dir
				 * (sandbox/zygote.h), or NULL */
	char **env;		/* K=V entries added to the base environment */
	char **mounts;		/* host paths bound into its boxes, beside the table's */
	char *oom_marker;	/* stderr text meaning the runtime ran out of memory */
	char **docker_env;	/* K=V entries that override env in pool containers */
	char *cache_host;	/* optional warm cache, mounted as an overlay */
	char *cache_box;
	char *binary;		/* compiled program in the box, below /sandbox */
	char *binary_cache;	/* host dir of compiled programs by source hash */
	struct bincache_limits binary_cache_limits;	/* entries and bytes kept there */
	long min_processes;	/* jobs asking for fewer can never start */
	long min_workdir_mb;	/* ... or for a smaller work dir */
	struct sbx_limits limits;
	struct sbx_limits compile_limits;
};

struct lang_table {
	char *path;		/* the file it was loaded from */
	struct lang *langs;
	size_t n;
	char **mounts;		/* host paths bound read-only into every box */
	char **env;		/* base environment of every box */
	char *state_dir;	/* locks and the box mount point */
	char *instance;		/* this instance's name (cgroups, pool): CODEX_INSTANCE, the table, or from state_dir */
	char *share_dir;	/* harness files */
	long uid_base;		/* slot k runs as uid_base + k (CODEX_UID_BASE overrides) */
	long slots;		/* default number of slots */
	long acquire_ms;	/* slot acquisition time-out */
	long job_wall_ms;	/* a job's whole time in its slot; 0: 3 x its wall limit */
	char *image;		/* runner image of the docker backend's pool */
	char *pool;		/* the pool's name: container names and label (default, and with CODEX_INSTANCE: the instance) */
	long cpus;		/* CPUs per pool container */
	long max_jobs;		/* a pool container is replaced after this many jobs */
	long max_age_s;		/* ... or this many seconds */
};

/* Loads the table from path. The share dir defaults to share_dir (may be
 * overridden in the file). Returns 0, or -1 with "path:line: message" in err.
 * The table owns everything; lang_table_free() releases it. */
int lang_table_load(struct lang_table *t, const char *path,
		    const char *share_dir, char *err, size_t errlen);
void lang_table_free(struct lang_table *t);

/* The language called name, or NULL. Borrowed from the table. */
const struct lang *lang_find(const struct lang_table *t, const char *name);

/* The uid of slot k: of an ns box (l NULL), or of language l's pool
 * container in the docker backend. Slot uids are the instance's own: no
 * two instances on a host may share any (instance.h). */
long lang_slot_uid(const struct lang_table *t, const struct lang *l, int k);

/* The uids of every slot the table can give: [*lo, *hi) for ns boxes and
 * [*dlo, *dhi) for pool containers. */
void lang_uid_ranges(const struct lang_table *t, long *lo, long *hi, long *dlo, long *dhi);

/* Number of words in a NULL-terminated argv. */
size_t lang_argc(char *const *argv);

/* Loads the table at path, or, when path is NULL, the one lang_locate()
 * finds (with its share dir). Returns 0, or -1 with err. */
int lang_table_open(struct lang_table *t, const char *path, char *err, size_t errlen);

/* Finds the configuration and share dir: $CODEX_LANGUAGES, then
 * <exe dir>/../etc/languages.conf, then <exe dir>/../etc/codex/languages.conf,
 * then /etc/codex/languages.conf; the share dir likewise from $CODEX_SHARE,
 * <exe dir>/../share, <exe dir>/../share/codex. Returns malloc'd paths in
 * *conf and *share (the caller frees), or -1 if no configuration exists. */
int lang_locate(char **conf, char **share);

#endif
