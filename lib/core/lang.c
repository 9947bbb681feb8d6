#include "core/lang.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/sha256.h"
#include "core/util.h"

enum { LANG_LINE_MAX = 4096 };

static char **split_words(const char *s)
{
	size_t n = 0, cap = 4;
	char **v = xmalloc(cap * sizeof *v);
	while (*s) {
		while (*s == ' ' || *s == '\t')
			s++;
		if (*s == '\0')
			break;
		const char *b = s;
		while (*s && *s != ' ' && *s != '\t')
			s++;
		if (n + 2 > cap)
			v = xrealloc(v, (cap *= 2) * sizeof *v);
		v[n++] = xstrndup(b, (size_t)(s - b));
	}
	v[n] = NULL;
	return v;
}

static void free_words(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

size_t lang_argc(char *const *argv)
{
	size_t n = 0;
	while (argv && argv[n])
		n++;
	return n;
}

/* "\n" and "\t" escapes, for one-line file templates. */
static char *unescape(const char *s)
{
	char *out = xmalloc(strlen(s) + 1), *o = out;
	for (; *s; s++) {
		if (s[0] == '\\' && s[1] == 'n') { *o++ = '\n'; s++; }
		else if (s[0] == '\\' && s[1] == 't') { *o++ = '\t'; s++; }
		else *o++ = *s;
	}
	*o = '\0';
	return out;
}

static void set_str(char **dst, const char *v)
{
	free(*dst);
	*dst = xstrdup(v);
}

static void set_words(char ***dst, const char *v)
{
	free_words(*dst);
	*dst = split_words(v);
}

static int set_long(long *dst, const char *v, long min, long max)
{
	int64_t n;
	if (parse_i64(v, min, max, &n) != 0)
		return -1;
	*dst = (long)n;
	return 0;
}

/* A name that goes into container names, API paths and cgroup names:
 * lower-case letters, digits, '_' and '-', at most 40. */
static int plain_word(const char *v)
{
	return *v != '\0' && strlen(v) <= 40 &&
	       strspn(v, "abcdefghijklmnopqrstuvwxyz0123456789_-") == strlen(v);
}

/* A byte count, up to 1 TiB. */
static int set_size(size_t *dst, const char *v)
{
	int64_t n;
	if (parse_i64(v, 0, (int64_t)1 << 40, &n) != 0)
		return -1;
	*dst = (size_t)n;
	return 0;
}

static int box_key(struct lang_table *t, const char *k, const char *v,
		   struct sbx_limits *defaults, char *err, size_t errlen)
{
	if (strcmp(k, "mounts") == 0) set_words(&t->mounts, v);
	else if (strcmp(k, "env") == 0) set_words(&t->env, v);
	else if (strcmp(k, "state_dir") == 0) set_str(&t->state_dir, v);
	else if (strcmp(k, "instance") == 0) {
		if (!plain_word(v))
			goto bad;
		set_str(&t->instance, v);
	}
	else if (strcmp(k, "share_dir") == 0) set_str(&t->share_dir, v);
	else if (strcmp(k, "uid_base") == 0) {
		if (set_long(&t->uid_base, v, 1000, 4000000000L - 4096) != 0)
			goto bad;
	} else if (strcmp(k, "slots") == 0) {
		if (set_long(&t->slots, v, 1, 1024) != 0)
			goto bad;
	} else if (strcmp(k, "acquire_ms") == 0) {
		if (set_long(&t->acquire_ms, v, 0, 3600000) != 0)
			goto bad;
	} else if (strcmp(k, "job_wall_ms") == 0) {
		if (set_long(&t->job_wall_ms, v, 0, 86400000) != 0)
			goto bad;
	} else if (strcmp(k, "image") == 0) set_str(&t->image, v);
	else if (strcmp(k, "pool") == 0) {
		if (!plain_word(v))
			goto bad;
		set_str(&t->pool, v);
	}
	else if (strcmp(k, "cpus") == 0) {
		if (set_long(&t->cpus, v, 1, 256) != 0)
			goto bad;
	} else if (strcmp(k, "max_jobs") == 0) {
		if (set_long(&t->max_jobs, v, 1, 100000000) != 0)
			goto bad;
	} else if (strcmp(k, "max_age_s") == 0) {
		if (set_long(&t->max_age_s, v, 1, 100000000) != 0)
			goto bad;
	} else
		return limit_set(defaults, k, v, err, errlen);
	return 0;
bad:
	snprintf(err, errlen, "%s: '%s' is not a valid value", k, v);
	return -1;
}

static int lang_key(struct lang *l, const char *k, const char *v,
		    char *err, size_t errlen)
{
	if (strcmp(k, "source") == 0) set_str(&l->source, v);
	else if (strcmp(k, "solution") == 0) set_str(&l->solution, v);
	else if (strcmp(k, "harness") == 0) set_str(&l->harness, v);
	else if (strcmp(k, "harness_as") == 0) set_str(&l->harness_as, v);
	else if (strcmp(k, "entry_file") == 0) set_str(&l->entry_file, v);
	else if (strcmp(k, "entry_template") == 0) {
		free(l->entry_template);
		l->entry_template = unescape(v);
	} else if (strcmp(k, "compile") == 0) set_words(&l->compile, v);
	else if (strcmp(k, "run") == 0) set_words(&l->run, v);
	else if (strcmp(k, "launch") == 0) set_words(&l->launch, v);
	else if (strcmp(k, "launcher") == 0) set_str(&l->launcher, v);
	else if (strcmp(k, "zygote") == 0) set_str(&l->zygote, v);
	else if (strcmp(k, "env") == 0) set_words(&l->env, v);
	else if (strcmp(k, "mounts") == 0) set_words(&l->mounts, v);
	else if (strcmp(k, "docker_env") == 0) set_words(&l->docker_env, v);
	else if (strcmp(k, "oom_marker") == 0) set_str(&l->oom_marker, v);
	else if (strcmp(k, "binary") == 0) set_str(&l->binary, v);
	else if (strcmp(k, "binary_cache") == 0) set_str(&l->binary_cache, v);
	else if (strcmp(k, "binary_cache_max") == 0) {
		if (set_long(&l->binary_cache_limits.entries, v, 1, 10000000) != 0)
			goto bad;
	} else if (strcmp(k, "binary_cache_entry_bytes") == 0) {
		if (set_size(&l->binary_cache_limits.entry_bytes, v) != 0)
			goto bad;
	} else if (strcmp(k, "binary_cache_bytes") == 0) {
		if (set_size(&l->binary_cache_limits.total_bytes, v) != 0)
			goto bad;
	}
	else if (strcmp(k, "cache") == 0) {
		char **w = split_words(v);
		int ok = lang_argc(w) == 2;
		if (ok) {
			set_str(&l->cache_host, w[0]);
			set_str(&l->cache_box, w[1]);
		}
		free_words(w);
		if (!ok) {
			snprintf(err, errlen, "cache takes two paths: host and box");
			return -1;
		}
	} else if (strcmp(k, "min.processes") == 0) {
		if (set_long(&l->min_processes, v, 1, 4096) != 0)
			goto bad;
	} else if (strcmp(k, "min.workdir_mb") == 0) {
		if (set_long(&l->min_workdir_mb, v, 1, 8192) != 0)
			goto bad;
	} else if (strncmp(k, "compile.", 8) == 0)
		return limit_set(&l->compile_limits, k + 8, v, err, errlen);
	else
		return limit_set(&l->limits, k, v, err, errlen);
	return 0;
bad:
	snprintf(err, errlen, "%s: '%s' is not a valid value", k, v);
	return -1;
}

static char *trim(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	char *e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

static struct lang *add_lang(struct lang_table *t, const char *name,
			     const struct sbx_limits *defaults)
{
	t->langs = xrealloc(t->langs, (t->n + 1) * sizeof *t->langs);
	struct lang *l = &t->langs[t->n++];
	memset(l, 0, sizeof *l);
	l->name = xstrdup(name);
	l->limits = *defaults;
	l->compile_limits = *defaults;
	l->binary_cache_limits = (struct bincache_limits){
		.entries = 1024, .entry_bytes = 32 << 20, .total_bytes = (size_t)1 << 30};
	l->min_processes = 2;	/* the box's init is one */
	l->min_workdir_mb = 1;
	return l;
}

/* Whether s names a file of the share dir: one component. */
static int share_file(const char *s)
{
	return s && *s && !strchr(s, '/') && strcmp(s, "..") != 0 && strcmp(s, ".") != 0;
}

static int check_lang(const struct lang *l, char *err, size_t errlen)
{
	if (l->run == NULL || l->run[0] == NULL || l->source == NULL) {
		snprintf(err, errlen, "language %s needs 'run' and 'source'", l->name);
		return -1;
	}
	if (l->binary_cache && l->binary == NULL) {
		snprintf(err, errlen, "language %s: binary_cache needs 'binary'", l->name);
		return -1;
	}
	if (l->launch && (l->launch[0] == NULL || !share_file(l->launcher))) {
		snprintf(err, errlen, "language %s: launch needs 'launcher', a file name of the share dir",
			 l->name);
		return -1;
	}
	if (l->zygote && (l->launch == NULL || !share_file(l->zygote))) {
		snprintf(err, errlen, "language %s: zygote needs 'launch', and is a file name of the share dir",
			 l->name);
		return -1;
	}
	return 0;
}

static int parse_line(struct lang_table *t, char *line, struct lang **cur,
		      struct sbx_limits *defaults, char *err, size_t errlen)
{
	char *s = trim(line);
	if (*s == '\0' || *s == '#')
		return 0;
	if (*s == '[') {
		char *e = strchr(s, ']');
		if (e == NULL || e[1] != '\0') {
			snprintf(err, errlen, "bad section header");
			return -1;
		}
		*e = '\0';
		if (strcmp(s + 1, "box") == 0) {
			*cur = NULL;
		} else {
			if (*cur && check_lang(*cur, err, errlen) != 0)
				return -1;
			*cur = add_lang(t, s + 1, defaults);
		}
		return 0;
	}
	char *eq = strchr(s, '=');
	if (eq == NULL) {
		snprintf(err, errlen, "expected key = value");
		return -1;
	}
	*eq = '\0';
	char *k = trim(s), *v = trim(eq + 1);
	if (*cur == NULL)
		return box_key(t, k, v, defaults, err, errlen);
	return lang_key(*cur, k, v, err, errlen);
}

enum { DOCKER_UID_OFFSET = 100000, SLOTS_PER_LANGUAGE = 1024, SLOTS_MAX = 1024 };

/* The instance of a state dir: "codex" for the default one, else
 * "codex-" and 8 hex digits of its SHA-256, so two instances with their
 * own state dirs never share a cgroup or a container name. */
static char *default_instance(const char *state_dir)
{
	struct sha256 c;
	char hex[65];
	if (strcmp(state_dir, "/run/codex-sandbox") == 0)
		return xstrdup("codex");
	sha256_init(&c);
	sha256_update(&c, state_dir, strlen(state_dir));
	sha256_hex(&c, hex);
	return xasprintf("codex-%.8s", hex);
}

/* A deployment names its instance (and with it its pool) and places its
 * slot uids without editing the table: two replicas on one host must
 * share neither (instance.h). */
static int env_overrides(struct lang_table *t, char *err, size_t errlen)
{
	const char *v = getenv("CODEX_INSTANCE");
	if (v && *v) {
		if (!plain_word(v)) {
			snprintf(err, errlen, "CODEX_INSTANCE: '%.60s' is not a name "
				 "(a-z, 0-9, '_' and '-', at most 40)", v);
			return -1;
		}
		set_str(&t->instance, v);
		set_str(&t->pool, v);
	}
	v = getenv("CODEX_UID_BASE");
	if (v && *v && set_long(&t->uid_base, v, 1000, 4000000000L - 4096) != 0) {
		snprintf(err, errlen, "CODEX_UID_BASE: '%.60s' is not a uid from 1000 up", v);
		return -1;
	}
	return 0;
}

/* Docker slots sit above the ns ones (uid_base + 100000 + the language's
 * index * 1024 + k), one per slot, so that limits the kernel keeps per uid
 * are not shared between containers, nor with a host user. */
long lang_slot_uid(const struct lang_table *t, const struct lang *l, int k)
{
	if (l == NULL)
		return t->uid_base + k;
	return t->uid_base + DOCKER_UID_OFFSET + (long)(l - t->langs) * SLOTS_PER_LANGUAGE + k;
}

void lang_uid_ranges(const struct lang_table *t, long *lo, long *hi, long *dlo, long *dhi)
{
	*lo = t->uid_base;
	*hi = t->uid_base + SLOTS_MAX;
	*dlo = t->uid_base + DOCKER_UID_OFFSET;
	*dhi = *dlo + (long)t->n * SLOTS_PER_LANGUAGE;
}

/* path absolute and without symbolic links, or as it is when it cannot be
 * (it does not exist). */
static char *canonical(const char *path)
{
	char *c = realpath(path, NULL);
	return c ? c : xstrdup(path);
}

int lang_table_load(struct lang_table *t, const char *path,
		    const char *share_dir, char *err, size_t errlen)
{
	char line[LANG_LINE_MAX], sub[512];
	struct sbx_limits defaults;
	struct lang *cur = NULL;
	int lineno = 0, rc = 0;
	FILE *f = fopen(path, "re");

	int open_errno = errno;

	memset(t, 0, sizeof *t);
	t->path = canonical(path);
	t->state_dir = xstrdup("/run/codex-sandbox");
	t->share_dir = canonical(share_dir ? share_dir : "/usr/local/share/codex");
	t->uid_base = 61000;
	t->slots = 4;
	t->acquire_ms = 60000;
	t->image = xstrdup("codex-runner:latest");
	t->cpus = 1;
	t->max_jobs = 1000;
	t->max_age_s = 3600;
	limit_default(&defaults);
	if (f == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(open_errno));
		return -1;
	}
	while (fgets(line, sizeof line, f)) {
		lineno++;
		if (strchr(line, '\n') == NULL && !feof(f)) {
			snprintf(err, errlen, "%s:%d: line too long", path, lineno);
			rc = -1;
			break;
		}
		if (parse_line(t, line, &cur, &defaults, sub, sizeof sub) != 0) {
			snprintf(err, errlen, "%s:%d: %s", path, lineno, sub);
			rc = -1;
			break;
		}
	}
	fclose(f);
	if (rc == 0 && cur && check_lang(cur, sub, sizeof sub) != 0) {
		snprintf(err, errlen, "%s: %s", path, sub);
		rc = -1;
	}
	if (rc == 0 && t->n == 0) {
		snprintf(err, errlen, "%s: no language defined", path);
		rc = -1;
	}
	if (rc == 0)
		rc = env_overrides(t, err, errlen);
	if (t->instance == NULL)
		t->instance = default_instance(t->state_dir);
	if (t->pool == NULL)
		t->pool = xstrdup(t->instance);
	return rc;
}

void lang_table_free(struct lang_table *t)
{
	for (size_t i = 0; i < t->n; i++) {
		struct lang *l = &t->langs[i];
		free(l->name); free(l->source); free(l->solution);
		free(l->harness); free(l->harness_as); free(l->entry_file);
		free(l->entry_template); free(l->oom_marker);
		free(l->cache_host); free(l->cache_box);
		free(l->binary); free(l->binary_cache);
		free_words(l->compile); free_words(l->run); free_words(l->env); free_words(l->mounts);
		free_words(l->launch); free(l->launcher); free(l->zygote);
		free_words(l->docker_env);
	}
	free(t->langs);
	free_words(t->mounts);
	free_words(t->env);
	free(t->state_dir);
	free(t->instance);
	free(t->share_dir);
	free(t->path);
	free(t->image);
	free(t->pool);
	memset(t, 0, sizeof *t);
}

const struct lang *lang_find(const struct lang_table *t, const char *name)
{
	for (size_t i = 0; name && i < t->n; i++)
		if (strcmp(t->langs[i].name, name) == 0)
			return &t->langs[i];
	return NULL;
}

static char *first_existing(const char *env, const char *dir,
			    const char *const *rel, const char *fallback)
{
	const char *v = getenv(env);
	if (v && *v)
		return xstrdup(v);
	for (size_t i = 0; rel[i]; i++) {
		char *p = xasprintf("%s/%s", dir, rel[i]);
		if (access(p, R_OK) == 0)
			return p;
		free(p);
	}
	return access(fallback, R_OK) == 0 ? xstrdup(fallback) : NULL;
}

int lang_locate(char **conf, char **share)
{
	static const char *const confs[] = {
		"../etc/languages.conf", "../etc/codex/languages.conf", NULL};
	static const char *const shares[] = {
		"../share/harness", "../share/codex/harness", NULL};
	char *dir = exe_dir();
	*conf = first_existing("CODEX_LANGUAGES", dir, confs, "/etc/codex/languages.conf");
	*share = first_existing("CODEX_SHARE", dir, shares, "/usr/local/share/codex/harness");
	free(dir);
	return *conf ? 0 : -1;
}

int lang_table_open(struct lang_table *t, const char *path, char *err, size_t errlen)
{
	char *conf = NULL, *share = NULL;
	int rc = -1;
	if (lang_locate(&conf, &share) != 0 && path == NULL)
		snprintf(err, errlen, "no language table found (set CODEX_LANGUAGES or --languages)");
	else
		rc = lang_table_load(t, path ? path : conf, share, err, errlen);
	free(conf);
	free(share);
	return rc;
}
