/* retryd: retries of jobs through Redis (retryd(1), docs/pipeline.md;
 * the usage is below).
 *
 * schedule passes job lines through; a line whose error is of kind
 * infrastructure is stored in the sorted set KEY for a later attempt and
 * gets "retry", or, out of attempts or room, gets "dlq" and an
 * internal_error "result". SIGTERM or SIGINT: exit 0 after the current
 * line (lines not written are not acknowledged: Kafka delivers them
 * again). Redis down longer than --redis-timeout: exit 111 without
 * writing the line.
 *
 * run moves due entries of KEY back to their Kafka topics every
 * --interval, until SIGTERM or SIGINT (then flushes for up to 10 s).
 *
 * Telemetry (docs/telemetry.md): schedule, a `retry schedule` span per
 * stored or dead-lettered line; run, a `retry publish` span per entry.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/caps.h"
#include "core/jsonx.h"
#include "core/line.h"
#include "core/log.h"
#include "core/sigfd.h"
#include "core/util.h"
#include "kafka/kafka.h"
#include "kafka/mover.h"
#include "otel/otel.h"
#include "redis/redis.h"

static const char usage[] =
	"usage: retryd schedule [--redis URL] [--key KEY] [--max-retries N] [--cap N]\n"
	"                       [--base S] [--max S] [--redis-timeout S] < lines\n"
	"       retryd run [--redis URL] [--key KEY] [-b BROKERS] [-F FILE] [-X PROP=VAL]...\n"
	"                  [--batch N] [--visibility S] [--interval MS]\n"
	"       retryd --help | --version\n"
	"\n"
	"schedule: job lines in, job lines out; infrastructure failures are stored\n"
	"          in Redis for a retry (\"retry\"), or dead-lettered (\"dlq\", \"result\").\n"
	"run:      moves due retries from Redis back to their Kafka topics.\n"
	"\n"
	"  --redis URL          redis://[[user]:password@]host[:port][/db] (REDIS_URL)\n"
	"  --key KEY            the sorted set (RETRY_QUEUE)\n"
	"  --max-retries N      attempts retried (KAFKA_MAX_RETRIES, 3)\n"
	"  --cap N              most entries in the set (KAFKA_RETRY_QUEUE_CAP, 100000)\n"
	"  --base S, --max S    backoff base and cap in seconds (KAFKA_RETRY_BASE_SECONDS 5,\n"
	"                       KAFKA_RETRY_MAX_SECONDS 600)\n"
	"  --redis-timeout S    how long Redis may stay down for a line (60)\n"
	"  -b BROKERS           Kafka bootstrap servers (KAFKA_BROKERS)\n"
	"  -F FILE, -X PROP=VAL librdkafka properties\n"
	"  --batch N            most entries claimed at a time (50)\n"
	"  --visibility S       in-flight time-out before an entry is sent again (30)\n"
	"  --interval MS        time between two claims (500)\n"
	"\n"
	"Environment: the defaults above, LOG_LEVEL, LOG_FORMAT, OTEL_EXPORTER_OTLP_ENDPOINT.\n"
	"\n"
	"Exit status: 0, 100 usage or configuration error, 111 Redis, Kafka or I/O failure.\n";

enum command { CMD_SCHEDULE, CMD_RUN };

struct options {
	enum command cmd;
	const char *redis_url;
	struct retry_conf conf;
	double redis_timeout_s, visibility_s;
	int64_t batch, interval_ms;
	struct kafka_opts kafka;
};

/* Long options, in groups: both commands, schedule only, run only. */
enum opt {
	OPT_REDIS = 256,
	OPT_KEY,
	OPT_MAX_RETRIES,	/* schedule only, from here */
	OPT_CAP,
	OPT_BASE,
	OPT_MAX,
	OPT_REDIS_TIMEOUT,
	OPT_BATCH,		/* run only, from here */
	OPT_VISIBILITY,
	OPT_INTERVAL,
};

static int64_t int_arg(const char *name, const char *s, int64_t min, int64_t max)
{
	int64_t v;
	if (parse_i64(s, min, max, &v) != 0)
		die(EXIT_PERMANENT, "%s %s: not a whole number in %lld-%lld", name, s,
		    (long long)min, (long long)max);
	return v;
}

static double seconds_arg(const char *name, const char *s, double min)
{
	double v;
	if (retry_parse_seconds(s, min, 1e9, &v) != 0)
		die(EXIT_PERMANENT, "%s %s: not a number of seconds (%g or more)", name, s, min);
	return v;
}

/* The defaults, the environment over them (a bad number exits 100). */
static void defaults(struct options *o, const char *cmd)
{
	char err[256];
	memset(o, 0, sizeof *o);
	if (retry_conf_init(&o->conf, err, sizeof err) != 0)
		die(EXIT_PERMANENT, "%s", err);
	o->cmd = strcmp(cmd, "run") == 0 ? CMD_RUN : CMD_SCHEDULE;
	o->redis_timeout_s = 60;
	o->visibility_s = 30;
	o->batch = 50;
	o->interval_ms = 500;
	o->kafka.brokers = getenv("KAFKA_BROKERS");
}

static void parse_option(struct options *o, int c, const char *arg)
{
	int for_schedule = c >= OPT_MAX_RETRIES && c <= OPT_REDIS_TIMEOUT;
	int for_run = c >= OPT_BATCH || c == 'b' || c == 'F' || c == 'X';
	if ((o->cmd == CMD_SCHEDULE && for_run) || (o->cmd == CMD_RUN && for_schedule))
		usage_error(usage, "an option is not for %s", o->cmd == CMD_RUN ? "run" : "schedule");
	switch (c) {
	case OPT_REDIS: o->redis_url = arg; break;
	case OPT_KEY: o->conf.key = arg; break;
	case OPT_MAX_RETRIES: o->conf.max_retries = int_arg("--max-retries", arg, 0, RETRY_MAX_ATTEMPT); break;
	case OPT_CAP: o->conf.cap = int_arg("--cap", arg, 0, INT64_MAX); break;
	case OPT_BASE: o->conf.base_s = seconds_arg("--base", arg, 0.001); break;
	case OPT_MAX: o->conf.max_s = seconds_arg("--max", arg, 0.001); break;
	case OPT_REDIS_TIMEOUT: o->redis_timeout_s = seconds_arg("--redis-timeout", arg, 0.001); break;
	case OPT_BATCH: o->batch = int_arg("--batch", arg, 1, 10000); break;
	case OPT_VISIBILITY: o->visibility_s = seconds_arg("--visibility", arg, 1); break;
	case OPT_INTERVAL: o->interval_ms = int_arg("--interval", arg, 10, 3600000); break;
	case 'b': o->kafka.brokers = arg; break;
	case 'F': o->kafka.props_file = arg; break;
	case 'X':
		if (kafka_opts_add(&o->kafka, arg) != 0)
			die(EXIT_PERMANENT, "too many -X options");
		break;
	}
}

static void parse_args(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{"redis", required_argument, NULL, OPT_REDIS},
		{"key", required_argument, NULL, OPT_KEY},
		{"max-retries", required_argument, NULL, OPT_MAX_RETRIES},
		{"cap", required_argument, NULL, OPT_CAP},
		{"base", required_argument, NULL, OPT_BASE},
		{"max", required_argument, NULL, OPT_MAX},
		{"redis-timeout", required_argument, NULL, OPT_REDIS_TIMEOUT},
		{"batch", required_argument, NULL, OPT_BATCH},
		{"visibility", required_argument, NULL, OPT_VISIBILITY},
		{"interval", required_argument, NULL, OPT_INTERVAL},
		{NULL, 0, NULL, 0},
	};
	int c;
	if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0))
		usage_help(usage);
	if (argc == 2 && (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0))
		usage_version();
	if (argc < 2 || (strcmp(argv[1], "schedule") != 0 && strcmp(argv[1], "run") != 0))
		usage_error(usage, "unknown command %s", argc < 2 ? "(none)" : argv[1]);
	defaults(o, argv[1]);
	opterr = 0;
	/* argv + 1: the command is the program name to getopt. */
	while ((c = getopt_long(argc - 1, argv + 1, "b:F:X:", longopts, NULL)) != -1) {
		if (c == '?')
			usage_error(usage, "unknown option, or one without its value: %s", argv[optind]);
		parse_option(o, c, optarg);
	}
	if (optind < argc - 1)
		usage_error(usage, "unexpected argument %s", argv[optind + 1]);
}

static void redis_setup(struct redis *r, const struct options *o)
{
	char err[512];
	if (redis_open(r, redis_url_choose(o->redis_url), 5000, err, sizeof err) != 0)
		die(EXIT_PERMANENT, "%s", err);
}

/* ---- schedule ---- */

static void write_or_die(int failed)
{
	if (failed || ferror(stdout))
		die_sys(EXIT_TEMPORARY, "unable to write to stdout");
}

static void schedule_line(struct retry_scheduler *s, const struct line *l)
{
	cJSON *out;
	switch (retry_schedule_text(s, l->text, l->len, l->oversized, &out)) {
	case RETRY_SKIPPED:
		break;
	case RETRY_PASSED:
		write_or_die(fwrite(l->text, 1, l->len, stdout) != l->len || putchar('\n') == EOF ||
			     fflush(stdout) != 0);
		break;
	case RETRY_UNREACHABLE:
		die(EXIT_TEMPORARY, "redis %s unreachable for %g s: the line is not written "
		    "(its job comes again from Kafka)", redis_where(s->redis),
		    (double)s->redis_timeout_ms / 1000);
	case RETRY_INVALID:
	case RETRY_SCHEDULED:
	case RETRY_DEAD:
		write_or_die(jsonx_write_line(stdout, out) != 0);
		cJSON_Delete(out);
		break;
	}
}

/* Lines are handled one by one; a signal is looked at between two lines,
 * so none is cut short. */
static int schedule(const struct options *o)
{
	struct redis r;
	struct retry_scheduler s = {.conf = o->conf, .redis = &r,
				    .redis_timeout_ms = (int64_t)(o->redis_timeout_s * 1000)};
	s.scheduled = otel_counter("codex.retries.scheduled", "{retry}",
				   "Infrastructure failures stored in Redis for a retry");
	struct line_reader in;
	struct line l;
	int sigfd = sigfd_open(), stop = 0;
	redis_setup(&r, o);
	line_init_values(&in, 0, CAP_RESULT_LINE);
	while (!stop) {
		while (!stop && line_next(&in, &l)) {
			schedule_line(&s, &l);
			stop = sigfd_read(sigfd) > 0;
		}
		if (in.eof || stop)
			break;
		struct pollfd pf[3] = {{.fd = sigfd, .events = POLLIN}, {.fd = 0, .events = POLLIN},
				       {.fd = 1, .events = 0}};
		if (poll(pf, 3, -1) < 0 && errno != EINTR)
			die_sys(EXIT_TEMPORARY, "poll");
		if (pf[2].revents & (POLLERR | POLLHUP))
			die(EXIT_TEMPORARY, "stdout: its reader is gone");
		stop = pf[0].revents && sigfd_read(sigfd) > 0;
		if (!stop && pf[1].revents && line_fill(&in) < 0 && errno != EINTR && errno != EAGAIN)
			die_sys(EXIT_TEMPORARY, "unable to read stdin");
	}
	line_free(&in);
	redis_close(&r);
	return EXIT_OK;
}

/* ---- run ---- */

/* A tick every interval; between ticks, delivery reports and signals. */
static int run(const struct options *o)
{
	struct redis r;
	struct retry_mover m;
	char err[512];
	int sigfd = sigfd_open(), stop = 0;
	if (o->kafka.brokers == NULL || *o->kafka.brokers == '\0')
		die(EXIT_PERMANENT, "no Kafka brokers: give -b or set KAFKA_BROKERS");
	retry_mover_init(&m, o->conf.key, &r, (int)o->batch, o->visibility_s);
	if (retry_mover_start(&m, &o->kafka, err, sizeof err) != 0)
		die(EXIT_PERMANENT, "kafka: %s", err);
	redis_setup(&r, o);
	log_info("moving due entries of %s every %lld ms", o->conf.key, (long long)o->interval_ms);
	for (int64_t next = 0; !stop && !m.fatal;) {
		if (now_mono_ms() >= next) {
			retry_mover_tick(&m);
			next = now_mono_ms() + o->interval_ms;
		}
		int64_t wait = next - now_mono_ms();
		struct pollfd pf[2] = {{.fd = sigfd, .events = POLLIN},
				       {.fd = retry_mover_fd(&m), .events = POLLIN}};
		if (poll(pf, 2, (int)(wait > 0 ? wait : 0)) < 0 && errno != EINTR)
			die_sys(EXIT_TEMPORARY, "poll");
		stop = pf[0].revents && sigfd_read(sigfd) > 0;
		retry_mover_poll(&m);
	}
	retry_mover_stop(&m, 10000);
	int rc = m.fatal ? EXIT_TEMPORARY : EXIT_OK;
	retry_mover_free(&m);
	redis_close(&r);
	return rc;
}

int main(int argc, char **argv)
{
	struct options o;
	util_init(argv[0]);
	log_init("retryd");
	parse_args(argc, argv, &o);
	otel_init("retryd");
	int rc = o.cmd == CMD_RUN ? run(&o) : schedule(&o);
	otel_shutdown();	/* after run's last delivery report */
	if (fflush(stdout) != 0 || ferror(stdout))
		die_sys(EXIT_TEMPORARY, "unable to write to stdout");
	return rc;
}
