/* Unit tests of lib/core/lang.c: the language table parser. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/lang.h"
#include "unit.h"

static char path[] = "/tmp/test_lang.XXXXXX";

static int load(struct lang_table *t, const char *text, char *err, size_t len)
{
	int fd = mkstemp(path);
	FILE *f = fdopen(fd, "w");
	fputs(text, f);
	fclose(f);
	int rc = lang_table_load(t, path, "/share", err, len);
	unlink(path);
	strcpy(path, "/tmp/test_lang.XXXXXX");
	return rc;
}

static void test_full_table(void)
{
	struct lang_table t;
	char err[512];
	int rc = load(&t,
		      "# comment\n[box]\nmounts = /usr  /etc/ld.so.cache\nslots = 3\n"
		      "time_ms = 1000\n\n[python]\nsource = code.py\n"
		      "run = /usr/bin/python3 -I {main}\nwall_ms = 500\n"
		      "[go]\nsource = main.go\nrun = /sandbox/bin/x\ncompile = go build .\n"
		      "compile.memory_mb = 1024\nentry_template = package main\\nvar e = {entry}\\n\n"
		      "cache = /host/cache /sandbox/.cache\n",
		      err, sizeof err);
	CHECK_INT(rc, 0);
	CHECK_INT(t.n, 2);
	CHECK_INT(t.slots, 3);
	CHECK_INT(lang_argc(t.mounts), 2);
	CHECK_STR(t.mounts[1], "/etc/ld.so.cache");
	CHECK_STR(t.share_dir, "/share");
	const struct lang *py = lang_find(&t, "python");
	CHECK(py != NULL);
	CHECK_INT(lang_argc(py->run), 3);
	CHECK_STR(py->run[2], "{main}");
	CHECK_INT(py->limits.time_ms, 1000);	/* [box] default */
	CHECK_INT(py->limits.wall_ms, 500);	/* its own */
	const struct lang *go = lang_find(&t, "go");
	CHECK_INT(go->compile_limits.memory_mb, 1024);
	CHECK_INT(go->limits.memory_mb, 256);
	CHECK_STR(go->entry_template, "package main\nvar e = {entry}\n");
	CHECK_STR(go->cache_host, "/host/cache");
	CHECK_STR(go->cache_box, "/sandbox/.cache");
	CHECK(lang_find(&t, "cobol") == NULL);
	CHECK(lang_find(&t, NULL) == NULL);
	lang_table_free(&t);
}

static void test_errors(void)
{
	struct lang_table t;
	char err[512];
	CHECK_INT(load(&t, "[python]\nsource = a.py\n", err, sizeof err), -1);
	CHECK(strstr(err, "language python needs 'run' and 'source'") != NULL);
	lang_table_free(&t);
	CHECK_INT(load(&t, "[python]\nrun = x\nsource = a\nbogus = 1\n", err, sizeof err), -1);
	CHECK(strstr(err, ":4: unknown limit 'bogus'") != NULL);
	lang_table_free(&t);
	CHECK_INT(load(&t, "[python]\nrun = x\nsource = a\nlaunch = x {main}\n", err, sizeof err), -1);
	CHECK(strstr(err, "language python: launch needs 'launcher'") != NULL);
	lang_table_free(&t);
	CHECK_INT(load(&t, "[python]\nrun = x\nsource = a\nlaunch = x\nlauncher = ../a\n", err,
		       sizeof err), -1);
	CHECK(strstr(err, "launch needs 'launcher'") != NULL);
	lang_table_free(&t);
	CHECK_INT(load(&t, "[python]\nrun = x\nsource = a\nzygote = z.py\n", err, sizeof err), -1);
	CHECK(strstr(err, "language python: zygote needs 'launch'") != NULL);
	lang_table_free(&t);
	CHECK_INT(load(&t, "[python]\nrun = x\nsource = a\nlaunch = x\nlauncher = l.py\n"
		       "zygote = ..\n", err, sizeof err), -1);
	CHECK(strstr(err, "zygote needs 'launch', and is a file name of the share dir") != NULL);
	lang_table_free(&t);
	CHECK_INT(load(&t, "[python\n", err, sizeof err), -1);
	CHECK(strstr(err, ":1: bad section header") != NULL);
	lang_table_free(&t);
	CHECK_INT(load(&t, "[box]\nslots = many\n", err, sizeof err), -1);
	CHECK(strstr(err, "slots: 'many' is not a valid value") != NULL);
	lang_table_free(&t);
	CHECK_INT(load(&t, "[box]\n", err, sizeof err), -1);
	CHECK(strstr(err, "no language defined") != NULL);
	lang_table_free(&t);
	CHECK_INT(load(&t, "[go]\nrun = x\nsource = a\ncache = /only-one\n", err, sizeof err), -1);
	CHECK(strstr(err, "cache takes two paths") != NULL);
	lang_table_free(&t);
	CHECK_INT(lang_table_load(&t, "/nonexistent/table", NULL, err, sizeof err), -1);
	CHECK_STR(err, "/nonexistent/table: No such file or directory");
	lang_table_free(&t);
}

static void test_shipped_table(void)
{
	struct lang_table t;
	char err[512];
	CHECK_INT(lang_table_load(&t, "etc/languages.conf", NULL, err, sizeof err), 0);
	CHECK(lang_find(&t, "python") && lang_find(&t, "javascript") && lang_find(&t, "go"));
	lang_table_free(&t);
}

/* CODEX_INSTANCE names the instance, and with it the pool; CODEX_UID_BASE
 * moves the slot uids; a bad value is a configuration error. */
static void test_instance_env(void)
{
	struct lang_table t;
	char err[512];
	const char *table = "[box]\ninstance = tabled\npool = pooled\n[python]\nrun = x\nsource = a\n";
	CHECK_INT(load(&t, table, err, sizeof err), 0);
	CHECK_STR(t.instance, "tabled");
	CHECK_STR(t.pool, "pooled");
	lang_table_free(&t);
	setenv("CODEX_INSTANCE", "codex-web-7f9c", 1);
	CHECK_INT(load(&t, table, err, sizeof err), 0);
	CHECK_STR(t.instance, "codex-web-7f9c");
	CHECK_STR(t.pool, "codex-web-7f9c");
	lang_table_free(&t);
	setenv("CODEX_INSTANCE", "../Web", 1);
	CHECK_INT(load(&t, table, err, sizeof err), -1);
	CHECK(strstr(err, "CODEX_INSTANCE: '../Web' is not a name") != NULL);
	lang_table_free(&t);
	unsetenv("CODEX_INSTANCE");
	setenv("CODEX_UID_BASE", "200000", 1);
	CHECK_INT(load(&t, table, err, sizeof err), 0);
	CHECK_INT(t.uid_base, 200000);
	lang_table_free(&t);
	setenv("CODEX_UID_BASE", "0", 1);
	CHECK_INT(load(&t, table, err, sizeof err), -1);
	CHECK(strstr(err, "CODEX_UID_BASE: '0' is not a uid from 1000 up") != NULL);
	lang_table_free(&t);
	unsetenv("CODEX_UID_BASE");
}

int main(void)
{
	UNIT_RUN(test_full_table);
	UNIT_RUN(test_errors);
	UNIT_RUN(test_shipped_table);
	UNIT_RUN(test_instance_env);
	return unit_finish();
}
