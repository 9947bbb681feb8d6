/* retryd: retry scheduling through Redis and the dead-letter queue.
 *
 * usage: retryd schedule|run [options]
 *
 * Not built yet: retries come with the Kafka pipeline. Until then
 * every command says so and exits 100, so no pipeline mistakes it for one
 * that ran.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

static const char usage_text[] =
	"usage: retryd schedule|run [options]\n"
	"Schedules retries in Redis and re-publishes due jobs (not built yet).\n";

int main(int argc, char **argv)
{
	util_init(argv[0]);
	if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		fputs(usage_text, stdout);
		return EXIT_OK;
	}
	if (argc == 2 && (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0)) {
		printf("retryd %s\n", CODEX_VERSION);
		return EXIT_OK;
	}
	fputs(usage_text, stderr);
	die(EXIT_PERMANENT, "%s: not implemented yet", argc > 1 ? argv[1] : "no command");
}
