/* pool-ctl: the warm pool of sandbox slots.
 *
 * usage: pool-ctl status [--slots N] [--languages FILE] [--json]
 *
 *   status   one row per slot of the ns backend: slot, uid, state (busy when
 *            a sandbox-exec holds its lock, free otherwise)
 *
 * up, watch and down (pre-created boxes and containers, health checks)
 * come with the Docker backend; they exit 100 for now.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "jsonx.h"
#include "lang.h"
#include "util.h"

static const char usage_text[] =
	"usage: pool-ctl status [--slots N] [--languages FILE] [--json]\n"
	"Shows the sandbox slots of this host.\n";

struct options {
	const char *command;
	const char *languages;
	long slots;
	int json;
};

static void usage_exit(int status)
{
	fputs(usage_text, status ? stderr : stdout);
	exit(status);
}

static void parse_args(struct options *o, int argc, char **argv)
{
	static const struct option longs[] = {
		{"slots", required_argument, NULL, 's'}, {"languages", required_argument, NULL, 'l'},
		{"json", no_argument, NULL, 'J'}, {"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'}, {NULL, 0, NULL, 0},
	};
	int c;
	while ((c = getopt_long(argc, argv, "hV", longs, NULL)) != -1) {
		switch (c) {
		case 's': o->slots = arg_number("--slots", optarg, 1, 1024); break;
		case 'l': o->languages = optarg; break;
		case 'J': o->json = 1; break;
		case 'h': usage_exit(0); break;
		case 'V': printf("pool-ctl %s\n", CODEX_VERSION); exit(0);
		default: usage_exit(EXIT_PERMANENT);
		}
	}
	if (optind != argc - 1)
		usage_exit(EXIT_PERMANENT);
	o->command = argv[optind];
}

/* "busy" if another process holds the slot's lock, "free" otherwise. */
static const char *slot_state(const char *state_dir, long k)
{
	char path[4200];
	snprintf(path, sizeof path, "%s/slots/%ld.lock", state_dir, k);
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return "free";
	int busy = flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
	close(fd);
	return busy ? "busy" : "free";
}

static int status(const struct options *o, const struct lang_table *t)
{
	long slots = o->slots ? o->slots : t->slots;
	if (!o->json)
		printf("%-6s %-8s %s\n", "SLOT", "UID", "STATE");
	for (long k = 0; k < slots; k++) {
		const char *st = slot_state(t->state_dir, k);
		if (o->json) {
			cJSON *row = cJSON_CreateObject();
			cJSON_AddNumberToObject(row, "slot", (double)k);
			cJSON_AddNumberToObject(row, "uid", (double)(t->uid_base + k));
			cJSON_AddStringToObject(row, "state", st);
			if (jsonx_write_line(stdout, row) != 0)
				die_sys(EXIT_TEMPORARY, "stdout");
			cJSON_Delete(row);
		} else {
			printf("%-6ld %-8ld %s\n", k, t->uid_base + k, st);
		}
	}
	return EXIT_OK;
}

int main(int argc, char **argv)
{
	struct options o = {0};
	struct lang_table t;
	char err[512];
	util_init(argv[0]);
	parse_args(&o, argc, argv);
	if (strcmp(o.command, "status") != 0)
		die(EXIT_PERMANENT, "%s: not implemented yet (status is)", o.command);
	if (lang_table_open(&t, o.languages, err, sizeof err) != 0)
		die(EXIT_PERMANENT, "%s", err);
	int rc = status(&o, &t);
	lang_table_free(&t);
	if (fflush(stdout) != 0 || ferror(stdout))
		die(EXIT_TEMPORARY, "stdout: write error");
	return rc;
}
