/* kcat-jobs: the Kafka side of the toolkit (docs/pipeline.md).
 *
 * usage and options: usage_text below (and kcat-jobs(1)).
 *
 * consume without --acks counts a job done once its line is handed to the
 * output (at most once: for recording); with --acks, or in pipeline mode, only once its result,
 * retry or dead-letter message is acknowledged by Kafka or Redis. pipeline
 * runs CMD with job lines on its stdin and produces the lines of its
 * stdout, acknowledgements in memory.
 * Telemetry (docs/telemetry.md): a `process <topic>` span per message,
 * ended at its acknowledgement (consume without --acks: once its line is
 * written), whose context goes into meta.traceparent; a `send <topic>`
 * span per produced message, ended at its delivery report, whose context
 * is the message's traceparent header.
 * mock-cluster starts librdkafka's built-in mock cluster (one broker, in
 * this process, for machines without Java: not for tests), creates the
 * lanes' topics, prints its bootstrap address and serves until SIGTERM.
 * Exit: 0 done (end of input, -c reached, or drained after SIGTERM),
 * 100 usage or configuration, 111 Kafka or the child failed.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "core/caps.h"
#include "core/lang.h"
#include "core/line.h"
#include "core/log.h"
#include "core/outbuf.h"
#include "core/sigfd.h"
#include "core/util.h"
#include "judge/lane.h"
#include "kafka/kafka.h"
#include "kafka/kconsume.h"
#include "kafka/kproduce.h"
#include "otel/otel.h"

static const char usage_text[] =
	"usage: kcat-jobs consume  --lane L [options]       job lines to stdout\n"
	"       kcat-jobs produce  [--lane L] [options]     result lines from stdin\n"
	"       kcat-jobs pipeline --lane L [options] -- CMD [ARG...]\n"
	"       kcat-jobs mock-cluster                    a broker for demos\n"
	"       kcat-jobs --help | --version\n"
	"\n"
	"The Kafka side of the toolkit: a lane's jobs out of Kafka, its results and\n"
	"dead letters into it, each job acknowledged once answered (docs/pipeline.md).\n"
	"\n"
	"  -l, --lane L           submit, run or custom\n"
	"  -b, --brokers LIST     bootstrap servers (default: KAFKA_BROKERS)\n"
	"  -t, --topic T          consume T instead of the lane's job topic\n"
	"  -G, --group G          consumer group instead of the lane's\n"
	"  -X, --property K=V     a librdkafka property (repeatable)\n"
	"  -F, --config FILE      librdkafka properties, one K=V per line\n"
	"  -a, --acks FILE        consume: read acknowledgements (\"topic partition\n"
	"                         offset\" lines) from FILE; produce: write them\n"
	"  -c, --count N          consume: exit after N jobs\n"
	"  -m, --max-inflight N   jobs out and not acknowledged at most (64)\n"
	"  --max-bytes N          larger messages are poison (1048576)\n"
	"  --drain-timeout S      after SIGTERM, how long to wait for in-flight jobs (120)\n"
	"  --answer-timeout S     pipeline: a job whose line has not come back S seconds\n"
	"                         after it went out is answered here (900; 0: never)\n"
	"  -r, --redis URL        idempotency keys processed:<lane>:result:<id> in this\n"
	"                         Redis (default: REDIS_URL; none when neither is set)\n"
	"  -u, --user NAME        pipeline: run as NAME once CMD is started\n"
	"\n"
	"Environment: KAFKA_BROKERS, KAFKA_<LANE>_JOBS_TOPIC, KAFKA_<LANE>_RESULTS_TOPIC,\n"
	"KAFKA_<LANE>_GROUP_ID (LANE: SUBMISSION, RUN, CUSTOM), KAFKA_DLQ_TOPIC, REDIS_URL,\n"
	"KAFKA_IDEMPOTENCY_KEY_EXPIRY, LOG_LEVEL, LOG_FORMAT, OTEL_EXPORTER_OTLP_ENDPOINT.\n"
	"\n"
	"Exit status: 0 done (end of input, -c reached, or drained after SIGTERM),\n"
	"100 usage or configuration error, 111 Kafka or the child failed.\n";

enum {
	POLL_MS = 200,			/* the longest sleep; events wake us sooner */
	OUT_HOLD_BYTES = 4 << 20,	/* pause consuming while this much waits */
	ACK_LINE_CAP = 1024,
};

struct options {
	const char *command;
	const char *lane_name;
	const char *acks;
	struct kafka_opts kafka;
	struct kconsume_opts consume;
	long drain_ms;
	const char *user;
	const char *redis;
	struct dedupe dedupe;
	char **child;			/* pipeline: CMD [ARG...] */
};

static volatile int stop_requested;

static void parse_args(struct options *o, int argc, char **argv)
{
	static const struct option longs[] = {
		{"lane", required_argument, NULL, 'l'}, {"brokers", required_argument, NULL, 'b'},
		{"topic", required_argument, NULL, 't'}, {"group", required_argument, NULL, 'G'},
		{"property", required_argument, NULL, 'X'}, {"config", required_argument, NULL, 'F'},
		{"acks", required_argument, NULL, 'a'}, {"count", required_argument, NULL, 'c'},
		{"max-inflight", required_argument, NULL, 'm'},
		{"max-bytes", required_argument, NULL, 'M'},
		{"drain-timeout", required_argument, NULL, 'D'},
		{"answer-timeout", required_argument, NULL, 'A'},
		{"user", required_argument, NULL, 'u'},
		{"redis", required_argument, NULL, 'r'},
		{"help", no_argument, NULL, 'h'}, {"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	int c;
	opterr = 0;
	if (argc > 1 && argv[1][0] != '-') {	/* the command comes first */
		o->command = argv[1];
		argv++;
		argc--;
	}
	o->kafka.brokers = getenv("KAFKA_BROKERS");
	o->redis = getenv("REDIS_URL");
	o->consume.max_inflight = 64;
	o->consume.max_bytes = 1 << 20;
	o->drain_ms = 120000;
	o->consume.answer_ms = 900000;
	while ((c = getopt_long(argc, argv, "+l:b:t:G:X:F:a:c:m:u:r:hV", longs, NULL)) != -1) {
		switch (c) {
		case 'l': o->lane_name = optarg; break;
		case 'b': o->kafka.brokers = optarg; break;
		case 't': o->consume.topic = optarg; break;
		case 'G': o->consume.group = optarg; break;
		case 'X':
			if (kafka_opts_add(&o->kafka, optarg) != 0)
				die(EXIT_PERMANENT, "too many -X properties");
			break;
		case 'F': o->kafka.props_file = optarg; break;
		case 'a': o->acks = optarg; break;
		case 'c': o->consume.count = arg_number("--count", optarg, 1, 1L << 40); break;
		case 'm': o->consume.max_inflight = (size_t)arg_number("--max-inflight", optarg, 1, 1 << 20); break;
		case 'M': o->consume.max_bytes = (size_t)arg_number("--max-bytes", optarg, 1, CAP_JOB_LINE); break;
		case 'D': o->drain_ms = arg_number("--drain-timeout", optarg, 0, 86400) * 1000; break;
		case 'A': o->consume.answer_ms = arg_number("--answer-timeout", optarg, 0, 86400) * 1000; break;
		case 'u': o->user = optarg; break;
		case 'r': o->redis = optarg; break;
		case 'h': usage_help(usage_text);
		case 'V': usage_version();
		default: usage_error(usage_text, "unknown option, or one without its value: %s", argv[optind - 1]);
		}
	}
	if (o->command == NULL)
		usage_error(usage_text, "no command (consume, produce, pipeline or mock-cluster)");
	o->child = argv + optind;
	if (strcmp(o->command, "pipeline") != 0 && optind != argc)
		usage_error(usage_text, "unexpected argument %s", argv[optind]);
}

static const struct lane *need_lane(const struct options *o, int required)
{
	const struct lane *l = lane_find(o->lane_name);
	if (l == NULL && (required || o->lane_name))
		die(EXIT_PERMANENT, "--lane must be submit, run or custom");
	return l;
}

static void drain_signals(int fd)
{
	if (sigfd_read(fd) > 0) {
		log_info("stopping: draining in-flight jobs");
		stop_requested = 1;
	}
}

/* An acks file is a FIFO in a shell pipeline: opened read-write so that
 * neither end blocks waiting for the other, nor sees EOF when it restarts. */
static int open_acks(const char *path)
{
	int fd = open(path, O_RDWR | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		die_sys(EXIT_PERMANENT, "%s", path);
	return fd;
}

/* ---- consume ---- */

static void take_acks(struct kconsume *c, struct line_reader *r)
{
	struct line ln;
	char topic[512];
	int part;
	long long off;
	if (line_fill(r) == 0)
		r->eof = 0;	/* a FIFO: writers come and go */
	while (line_next(r, &ln))
		if (sscanf(ln.text, "%511s %d %lld", topic, &part, &off) == 3)
			kconsume_ack(c, topic, part, off);
		else
			log_warn("bad acknowledgement line: %.80s", ln.text);
}

static struct lang_table *load_table(void)
{
	static struct lang_table t;
	char err[512];
	if (lang_table_open(&t, NULL, err, sizeof err) != 0)
		die(EXIT_PERMANENT, "%s", err);
	return &t;
}

/* The idempotency keys' Redis, or NULL when none is configured. */
static struct dedupe *open_dedupe(struct options *o)
{
	char err[512];
	static int opened;
	if (o->redis == NULL || *o->redis == '\0')
		return NULL;
	if (!opened && dedupe_open(&o->dedupe, o->redis, err, sizeof err) != 0)
		die(EXIT_PERMANENT, "%s", err);
	opened = 1;
	return &o->dedupe;
}

static void open_consumer(struct kconsume *c, struct options *o, struct outbuf *out)
{
	char err[512];
	o->consume.lane = need_lane(o, 1);
	if (kconsume_open(c, &o->kafka, &o->consume, load_table(), out, err, sizeof err) != 0)
		die(EXIT_PERMANENT, "%s", err);
	c->dedupe = open_dedupe(o);
}

/* Done when stopped, every job out is acknowledged and every line written
 * (or the drain time is over: the rest is redelivered to whoever consumes
 * next). */
static int drained(const struct kconsume *c, const struct outbuf *out, int64_t stop_at,
		   long drain_ms)
{
	if (!c->stopping)
		return 0;
	if (kconsume_pending(c) == 0 && (outbuf_pending(out) == 0 || out->broken))
		return 1;
	if (now_mono_ms() - stop_at > drain_ms) {
		log_warn("drain time-out: %zu jobs not acknowledged will run again", kconsume_pending(c));
		return 1;
	}
	return 0;
}

static int consume(struct options *o)
{
	struct kconsume c;
	struct outbuf out;
	struct line_reader acks;
	int sig = sigfd_open(), ackfd = -1;
	int64_t stop_at = 0;
	outbuf_init(&out, 1);
	o->consume.acked = o->acks != NULL;
	/* A line that comes back late goes through a produce of its own,
	 * which could not drop it: no answers on time-out here. */
	o->consume.answer_ms = 0;
	if (o->acks) {
		ackfd = open_acks(o->acks);
		line_init(&acks, ackfd, ACK_LINE_CAP);
	}
	open_consumer(&c, o, &out);
	while (!drained(&c, &out, stop_at, o->drain_ms) && !c.fatal) {
		struct pollfd pf[4] = {
			{sig, POLLIN, 0}, {kconsume_fd(&c), POLLIN, 0}, {ackfd, POLLIN, 0},
			{outbuf_pending(&out) ? 1 : -1, POLLOUT, 0},
		};
		c.hold = outbuf_pending(&out) > OUT_HOLD_BYTES;
		if (poll(pf, 4, POLL_MS) < 0 && errno != EINTR)
			die_sys(EXIT_TEMPORARY, "poll");
		if (pf[0].revents)
			drain_signals(sig);
		kconsume_poll(&c);
		if (ackfd >= 0 && pf[2].revents)
			take_acks(&c, &acks);
		if (outbuf_flush(&out) != 0)
			stop_requested = 1;	/* the reader is gone */
		if (stop_requested && !c.stopping)
			kconsume_stop(&c);
		if (c.stopping && stop_at == 0)
			stop_at = now_mono_ms();
	}
	int fatal = c.fatal;
	kconsume_close(&c);
	outbuf_free(&out);
	return fatal ? EXIT_TEMPORARY : EXIT_OK;
}

/* ---- produce ---- */

static void write_ack(void *arg, const char *topic, int32_t partition, int64_t offset)
{
	struct outbuf *acks = arg;
	char line[600];
	int n = snprintf(line, sizeof line, "%s %d %lld\n", topic, (int)partition, (long long)offset);
	outbuf_put(acks, line, (size_t)n);
	outbuf_flush(acks);
}

static void open_producer(struct kproduce *p, struct options *o, kproduce_ack_fn *ack, void *arg)
{
	char err[512];
	if (kproduce_open(p, &o->kafka, need_lane(o, 0), ack, arg, err, sizeof err) != 0)
		die(EXIT_PERMANENT, "%s", err);
	p->dedupe = open_dedupe(o);
}

/* Produces every complete line of r. */
static void produce_lines(struct kproduce *p, struct line_reader *r)
{
	struct line ln;
	while (line_next(r, &ln)) {
		if (ln.oversized)
			log_error("produce: a line over %zu bytes was dropped", r->cap);
		else if (ln.len > 0)
			kproduce_line(p, ln.text, ln.len);
	}
}

static int produce(struct options *o)
{
	struct kproduce p;
	struct outbuf acks;
	struct line_reader in;
	int sig = sigfd_open();
	outbuf_init(&acks, o->acks ? open_acks(o->acks) : -1);
	open_producer(&p, o, o->acks ? write_ack : NULL, &acks);
	line_init_values(&in, 0, CAP_PRODUCE_LINE);
	/* A signal does not stop produce: it ends when its input ends, after
	 * the stages before it have drained. */
	while (!in.eof && !p.fatal) {
		struct pollfd pf[3] = {{sig, POLLIN, 0}, {0, POLLIN, 0}, {kproduce_fd(&p), POLLIN, 0}};
		if (poll(pf, 3, POLL_MS) < 0 && errno != EINTR)
			die_sys(EXIT_TEMPORARY, "poll");
		if (pf[0].revents)
			drain_signals(sig);
		if (pf[1].revents && line_fill(&in) < 0 && errno != EINTR && errno != EAGAIN)
			die_sys(EXIT_TEMPORARY, "stdin");
		produce_lines(&p, &in);
		kproduce_poll(&p);
	}
	kproduce_close(&p, 30000);
	int rc = p.fatal ? EXIT_TEMPORARY : EXIT_OK;
	outbuf_flush(&acks);
	outbuf_free(&acks);
	line_free(&in);
	return rc;
}

/* ---- pipeline ---- */

struct child {
	pid_t pid;
	struct outbuf in;		/* job lines to its stdin */
	struct line_reader out;		/* result lines from its stdout */
	int in_closed;
};

/* Starts CMD; a CMD that cannot be executed is a configuration error,
 * told apart from one that fails later by a close-on-exec pipe. */
static void start_child(struct child *ch, char **argv)
{
	int in[2], out[2], ex[2], e;
	if (argv[0] == NULL)
		die(EXIT_PERMANENT, "pipeline: no command after --");
	if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0 || pipe2(ex, O_CLOEXEC) != 0)
		die_sys(EXIT_TEMPORARY, "pipe");
	ch->pid = fork();
	if (ch->pid < 0)
		die_sys(EXIT_TEMPORARY, "fork");
	if (ch->pid == 0) {
		sigfd_unblock();
		signal(SIGPIPE, SIG_DFL);	/* ignored here; the stages expect the default */
		/* Its own process group: a Ctrl-C for us must not cut it short. */
		setpgid(0, 0);
		if (dup2(in[0], 0) >= 0 && dup2(out[1], 1) >= 0)
			execvp(argv[0], argv);
		e = errno;
		if (write(ex[1], &e, sizeof e) < 0)
			_exit(127);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	close(ex[1]);
	if (read(ex[0], &e, sizeof e) == (ssize_t)sizeof e) {
		errno = e;
		die_sys(EXIT_PERMANENT, "cannot run %s", argv[0]);
	}
	close(ex[0]);
	outbuf_init(&ch->in, in[1]);
	line_init(&ch->out, out[0], CAP_PRODUCE_LINE);
	ch->in_closed = 0;
}

static void drop_to(const char *user)
{
	struct passwd *pw = getpwnam(user);
	if (pw == NULL)
		die(EXIT_PERMANENT, "--user: no user '%s'", user);
	if (initgroups(user, pw->pw_gid) != 0 || setgid(pw->pw_gid) != 0 || setuid(pw->pw_uid) != 0)
		die_sys(EXIT_PERMANENT, "--user %s", user);
}

static void ack_in_memory(void *arg, const char *topic, int32_t partition, int64_t offset)
{
	kconsume_ack(arg, topic, partition, offset);
}

static int claim_answer(void *arg, const char *topic, int32_t partition, int64_t offset)
{
	return kconsume_claim(arg, topic, partition, offset);
}

/* After SIGTERM: once every job line is written, the child gets EOF. */
static void close_child_input(struct child *ch, const struct kconsume *c)
{
	if (!ch->in_closed && c->stopping && outbuf_pending(&ch->in) == 0) {
		close(ch->in.fd);
		ch->in_closed = 1;
	}
}

/* The command's exit status, once it ended (0 if it is still draining
 * after the drain time-out: it is told to stop and left to finish). */
static int child_status(struct child *ch, int gave_up)
{
	int status;
	if (gave_up) {
		kill(-ch->pid, SIGTERM);
		return 0;
	}
	waitpid(ch->pid, &status, 0);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	log_error("pipeline command ended with status 0x%x", status);
	return -1;
}

static int pipeline(struct options *o)
{
	struct kconsume c;
	struct kproduce p;
	struct child ch;
	int sig = sigfd_open(), gave_up = 0;
	int64_t stop_at = 0;
	start_child(&ch, o->child);
	if (o->user)
		drop_to(o->user);
	o->consume.acked = 1;
	open_consumer(&c, o, &ch.in);
	open_producer(&p, o, ack_in_memory, &c);
	p.accept = claim_answer;
	while (!ch.out.eof && !c.fatal && !p.fatal) {
		struct pollfd pf[5] = {
			{sig, POLLIN, 0}, {ch.out.fd, POLLIN, 0},
			{ch.in_closed || !outbuf_pending(&ch.in) ? -1 : ch.in.fd, POLLOUT, 0},
			{kconsume_fd(&c), POLLIN, 0}, {kproduce_fd(&p), POLLIN, 0},
		};
		c.hold = outbuf_pending(&ch.in) > OUT_HOLD_BYTES;
		if (poll(pf, 5, POLL_MS) < 0 && errno != EINTR)
			die_sys(EXIT_TEMPORARY, "poll");
		if (pf[0].revents)
			drain_signals(sig);
		if (pf[1].revents && line_fill(&ch.out) < 0 && errno != EINTR && errno != EAGAIN)
			break;
		produce_lines(&p, &ch.out);
		kproduce_poll(&p);
		kconsume_poll(&c);
		if (!ch.in_closed && outbuf_flush(&ch.in) != 0)
			break;	/* the child is gone */
		if (stop_requested && !c.stopping) {
			kconsume_stop(&c);
			stop_at = now_mono_ms();
		}
		close_child_input(&ch, &c);
		if (c.stopping && now_mono_ms() - stop_at > o->drain_ms) {
			log_warn("drain time-out: %zu jobs not acknowledged will run again",
				 kconsume_pending(&c));
			gave_up = 1;
			break;
		}
	}
	if (ch.out.eof && !c.stopping)
		log_error("the pipeline command ended before a stop was asked");
	int failed = c.fatal || p.fatal || (!c.stopping);
	kproduce_close(&p, 30000);
	kconsume_close(&c);
	if (child_status(&ch, gave_up) != 0 || failed)
		return EXIT_TEMPORARY;
	return EXIT_OK;
}

/* ---- mock-cluster ---- */

static int mock_cluster(void)
{
	static const char *const lanes[] = {"submit", "run", "custom"};
	char err[512];
	int sig = sigfd_open();
	rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, rd_kafka_conf_new(), err, sizeof err);
	rd_kafka_mock_cluster_t *mc = rk ? rd_kafka_mock_cluster_new(rk, 1) : NULL;
	if (mc == NULL)
		die(EXIT_TEMPORARY, "cannot start the mock cluster: %s", rk ? "" : err);
	for (size_t i = 0; i < sizeof lanes / sizeof lanes[0]; i++) {
		const struct lane *l = lane_find(lanes[i]);
		rd_kafka_mock_topic_create(mc, l->jobs_topic, 3, 1);
		rd_kafka_mock_topic_create(mc, l->results_topic, 3, 1);
	}
	rd_kafka_mock_topic_create(mc, lane_dlq_topic(), 3, 1);
	printf("%s\n", rd_kafka_mock_cluster_bootstraps(mc));
	fflush(stdout);
	while (!stop_requested) {
		struct pollfd pf = {sig, POLLIN, 0};
		if (poll(&pf, 1, 1000) > 0)
			drain_signals(sig);
	}
	rd_kafka_mock_cluster_destroy(mc);
	rd_kafka_destroy(rk);
	return EXIT_OK;
}

static int run(struct options *o)
{
	if (strcmp(o->command, "consume") == 0)
		return consume(o);
	if (strcmp(o->command, "produce") == 0)
		return produce(o);
	if (strcmp(o->command, "pipeline") == 0)
		return pipeline(o);
	if (strcmp(o->command, "mock-cluster") == 0)
		return mock_cluster();
	die(EXIT_PERMANENT, "unknown command '%s' (consume, produce, pipeline)", o->command);
}

int main(int argc, char **argv)
{
	struct options o = {0};
	util_init(argv[0]);
	log_init("kcat-jobs");
	parse_args(&o, argc, argv);
	/* Before pipeline's fork: the child starts with telemetry off and
	 * execs (otel.h); the programs it runs have their own. */
	otel_init("kcat-jobs");
	int rc = run(&o);
	otel_shutdown();	/* after the last delivery report: every span ended */
	return rc;
}
