/* Unit tests of lib/sandbox/spawn.c and the box file rules of
 * lib/sandbox/backend.c: a sandboxed child's failed step reported by name,
 * the one path rule and the why-codes of both backends. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sandbox/backend.h"
#include "sandbox/spawn.h"
#include "unit.h"

/* Forks a child that runs spawn_exec(s) with a report pipe; returns what
 * spawn_failed() read from it (1 with *f, or 0) and the child's status. */
static int run_child(struct spawn *s, struct spawn_failure *f, int *status)
{
	int rep[2];
	if (pipe2(rep, O_CLOEXEC) != 0)
		return -1;
	s->report = rep[1];
	pid_t pid = fork();
	if (pid == 0)
		spawn_exec(s);
	close(rep[1]);
	int rc = spawn_failed(rep[0], f);
	close(rep[0]);
	waitpid(pid, status, 0);
	return rc;
}

static void test_failed_step_named(void)
{
	char *const argv[] = {"/nonexistent/program", NULL}, *const envp[] = {NULL};
	struct spawn_failure f;
	char msg[256];
	int status, fds[2];
	/* An fd that is not open: the very first step. */
	struct spawn s = {.in = -1, .out = 1, .err = 2, .time_ms = 1000, .file_bytes = 1 << 20,
			  .argv = argv, .envp = envp};
	CHECK_INT(run_child(&s, &f, &status), 1);
	CHECK_STR(f.step, "dup2");
	CHECK_INT(f.err, EBADF);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 127);
	spawn_describe(&f, argv[0], msg, sizeof msg);
	CHECK_STR(msg, "sandbox setup: dup2: Bad file descriptor");
	/* Outside a box there is no /sandbox/code (or, if there is, no program). */
	if (pipe(fds) != 0)
		return;
	s.in = fds[0];
	CHECK_INT(run_child(&s, &f, &status), 1);
	close(fds[0]);
	close(fds[1]);
	struct stat st;
	if (stat("/sandbox/code", &st) != 0) {
		CHECK_STR(f.step, "chdir");
		CHECK_INT(f.err, ENOENT);
	} else {
		CHECK_STR(f.step, "execve");
		spawn_describe(&f, argv[0], msg, sizeof msg);
		CHECK_STR(msg, "cannot execute /nonexistent/program: No such file or directory");
	}
}

static void test_report_pipe(void)
{
	struct spawn_failure f;
	int p[2];
	/* Closed with nothing written: the program was executed. */
	if (pipe(p) != 0)
		return;
	close(p[1]);
	CHECK_INT(spawn_failed(p[0], &f), 0);
	close(p[0]);
	/* A short report is a failure too, never taken for a run. */
	if (pipe(p) != 0)
		return;
	CHECK_INT((int)write(p[1], "ab", 2), 2);
	close(p[1]);
	CHECK_INT(spawn_failed(p[0], &f), 1);
	CHECK_STR(f.step, "report");
	close(p[0]);
}

static void test_path_rule(void)
{
	CHECK_INT(box_path_ok("code/main.py"), 1);
	CHECK_INT(box_path_ok("bin/executable"), 1);
	CHECK_INT(box_path_ok("results.json"), 1);
	CHECK_INT(box_path_ok("code/.hidden"), 1);
	CHECK_INT(box_path_ok(""), 0);
	CHECK_INT(box_path_ok("/etc/passwd"), 0);
	CHECK_INT(box_path_ok("code/../../etc"), 0);
	CHECK_INT(box_path_ok("code/.."), 0);
	CHECK_INT(box_path_ok("./code"), 0);
	CHECK_INT(box_path_ok("code//x"), 0);
	CHECK_INT(box_path_ok("code/"), 0);
	CHECK_INT(box_path_ok("a/b/c"), 0);
	CHECK_INT(box_path_ok("code/ma in.py"), 0);
	CHECK_INT(box_path_ok("code/\xc3\xa9.py"), 0);
}

static void test_why_codes(void)
{
	char dir[] = "/tmp/test_spawn.XXXXXX", path[64], other[64];
	size_t size = 0;
	CHECK_STR(box_open_why(ENOENT), "missing");
	CHECK_STR(box_open_why(ELOOP), "symlink");
	CHECK_STR(box_open_why(EXDEV), "symlink");
	CHECK_STR(box_open_why(ENOTDIR), "not-regular");
	CHECK_STR(box_open_why(EACCES), "unreadable");
	if (mkdtemp(dir) == NULL)
		return;
	snprintf(path, sizeof path, "%s/f", dir);
	snprintf(other, sizeof other, "%s/g", dir);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	CHECK_INT((int)write(fd, "12345", 5), 5);
	close(fd);
	fd = open(path, O_RDONLY);
	CHECK(box_file_why(fd, 5, &size) == NULL);
	CHECK_INT((int)size, 5);
	CHECK_STR(box_file_why(fd, 4, &size), "too-large");
	CHECK(link(path, other) == 0);
	CHECK_STR(box_file_why(fd, 5, &size), "hard-link");
	close(fd);
	fd = open(dir, O_RDONLY | O_DIRECTORY);
	CHECK_STR(box_file_why(fd, 5, &size), "not-regular");
	close(fd);
	unlink(other);
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	UNIT_RUN(test_failed_step_named);
	UNIT_RUN(test_report_pipe);
	UNIT_RUN(test_path_rule);
	UNIT_RUN(test_why_codes);
	return unit_finish();
}
