/* otel-emit: what tests/otel.bats sends through lib/otel/otel.c.
 *
 *   otel-emit [-p TRACEPARENT] [-s TRACESTATE] [-n EXTRA_SPANS] [-w MS] [-d]
 *
 * With the OTEL_* environment as given: otel_init("otel-emit"), then
 *   - span "process SUBMISSION_JOBS" (consumer; a child of -p when given)
 *     with a string, an int, a double, a bool and an invalid UTF-8 value;
 *   - its child "sandbox run" (internal) with otel_span_set_error();
 *   - EXTRA_SPANS spans "tick" (internal, attribute i), as fast as it can;
 *   - counter codex.jobs: +2 {lane=submit,verdict=accepted}, +1 {verdict=wrong,lane=run};
 *     histogram codex.job.duration (ms): 3, 7, 700 {language=python};
 *     gauge codex.slots.free: 3 then 5; up-down codex.slots.busy: +2, -1;
 * waits MS milliseconds, and otel_shutdown(); with -d, die() instead (exit
 * 111), which must send what is unsent all the same. Prints on stdout:
 *   traceparent=<the consumer span's, or none>
 *   threads=<threads of the process before the shutdown>
 *   exported=N dropped=N metric_exports=N metric_failed=N
 * Exit status 0, or 100 for a bad argument. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "core/util.h"
#include "otel/otel.h"

struct opts {
	const char *traceparent, *tracestate;
	long extra, wait_ms;
	int die;
};

static struct opts parse(int argc, char **argv)
{
	struct opts o = {0};
	int c;
	while ((c = getopt(argc, argv, "p:s:n:w:d")) != -1) {
		switch (c) {
		case 'p':
			o.traceparent = optarg;
			break;
		case 's':
			o.tracestate = optarg;
			break;
		case 'n':
			o.extra = arg_number("-n", optarg, 0, 1000000);
			break;
		case 'w':
			o.wait_ms = arg_number("-w", optarg, 0, 600000);
			break;
		case 'd':
			o.die = 1;
			break;
		default:
			die(EXIT_PERMANENT, "usage: otel-emit [-p TRACEPARENT] [-s TRACESTATE] [-n N] [-w MS] [-d]");
		}
	}
	return o;
}

/* The Threads: line of /proc/self/status. */
static long threads(void)
{
	char line[256];
	long n = -1;
	FILE *f = fopen("/proc/self/status", "r");
	while (f && fgets(line, sizeof line, f))
		if (sscanf(line, "Threads: %ld", &n) == 1)
			break;
	if (f)
		fclose(f);
	return n;
}

static void emit_spans(const struct opts *o)
{
	struct tracectx parent, ctx;
	char tp[TRACECTX_PARENT_LEN + 1] = "none";
	int has_parent = o->traceparent &&
			 tracectx_parse(&parent, o->traceparent, o->tracestate) == 0;
	struct otel_span *consumer = otel_span_start("process SUBMISSION_JOBS", OTEL_CONSUMER,
						     has_parent ? &parent : NULL);
	otel_span_set_str(consumer, "messaging.system", "kafka");
	otel_span_set_int(consumer, "messaging.kafka.offset", 42);
	otel_span_set_double(consumer, "ratio", 0.25);
	otel_span_set_bool(consumer, "retry", 0);
	otel_span_set_str(consumer, "raw", "bad\xff");
	if (otel_span_context(consumer, &ctx) == 0)
		tracectx_format(&ctx, tp);
	struct otel_span *run = otel_span_start("sandbox run", OTEL_INTERNAL, &ctx);
	otel_span_set_error(run, "timeout", "ran out of time");
	otel_span_end(run);
	otel_span_end(consumer);
	for (long i = 0; i < o->extra; i++) {
		struct otel_span *s = otel_span_start("tick", OTEL_INTERNAL, NULL);
		otel_span_set_int(s, "i", i);
		otel_span_end(s);
	}
	printf("traceparent=%s\n", tp);
}

static void emit_metrics(void)
{
	struct otel_metric *jobs = otel_counter("codex.jobs", "{job}", "Jobs finished");
	struct otel_metric *duration = otel_histogram("codex.job.duration", "ms", "Job run time", NULL, 0);
	struct otel_metric *free_slots = otel_gauge("codex.slots.free", "{slot}", "Free slots");
	struct otel_metric *busy = otel_updown("codex.slots.busy", "{slot}", "Busy slots");
	const struct otel_attr accepted[] = {{"lane", "submit"}, {"verdict", "accepted"}};
	const struct otel_attr wrong[] = {{"verdict", "wrong"}, {"lane", "run"}};
	const struct otel_attr python[] = {{"language", "python"}};
	otel_metric_add(jobs, 1, accepted, 2);
	otel_metric_add(jobs, 1, accepted, 2);
	otel_metric_add(jobs, 1, wrong, 2);
	otel_metric_add(jobs, -5, wrong, 2);	/* a counter only goes up */
	otel_metric_record(duration, 3, python, 1);
	otel_metric_record(duration, 7, python, 1);
	otel_metric_record(duration, 700, python, 1);
	otel_metric_set(free_slots, 3, NULL, 0);
	otel_metric_set(free_slots, 5, NULL, 0);
	otel_metric_add(busy, 2, NULL, 0);
	otel_metric_add(busy, -1, NULL, 0);
}

int main(int argc, char **argv)
{
	struct opts o;
	struct otel_stats st;
	util_init(argv[0]);
	log_init("otel-emit");
	o = parse(argc, argv);
	otel_init("otel-emit");
	emit_spans(&o);
	emit_metrics();
	if (o.wait_ms > 0)
		nanosleep(&(struct timespec){o.wait_ms / 1000, o.wait_ms % 1000 * 1000000}, NULL);
	printf("threads=%ld\n", threads());
	fflush(stdout);
	if (o.die)
		die(EXIT_TEMPORARY, "dying on purpose");
	otel_shutdown();
	otel_stats(&st);
	printf("exported=%llu dropped=%llu metric_exports=%llu metric_failed=%llu\n",
	       (unsigned long long)st.spans_exported, (unsigned long long)st.spans_dropped,
	       (unsigned long long)st.metric_exports, (unsigned long long)st.metric_exports_failed);
	if (fflush(stdout) != 0 || ferror(stdout))
		die_sys(EXIT_TEMPORARY, "stdout");
	return EXIT_OK;
}
