/* caps: the longest line each stage of a lane reads, and so the longest the
 * stage before it may write (docs/pipeline.md, "Bounded lines"). Each stage
 * bounds what it adds, counting JSON escaping, so that its line always fits
 * the next stage's cap: captured output is cut (and flagged), never the
 * verdict. A line over a cap is still handled (an error line), but no stage
 * writes one. */
#ifndef CAPS_H
#define CAPS_H

enum {
	/* consume -> sandbox-exec: a job as printed, with its meta section. */
	CAP_JOB_LINE = 8 << 20,
	/* sandbox-exec -> judge: the job line plus its exec section. */
	CAP_EXEC_LINE = 16 << 20,
	/* The exec section, printed: what is left of CAP_EXEC_LINE after the
	 * longest job line, less room for the line's own framing. */
	CAP_EXEC_SECTION = CAP_EXEC_LINE - CAP_JOB_LINE - (64 << 10),
	/* judge -> retryd schedule -> produce: plus result, retry or dlq. */
	CAP_RESULT_LINE = 24 << 20,
	/* What produce reads: a result line and what retryd adds to it. */
	CAP_PRODUCE_LINE = 32 << 20,
	/* A result message as produced to Kafka: under librdkafka's default
	 * message.max.bytes (1000000) with room for key and headers. */
	CAP_RESULT_MESSAGE = 900000,
};

#endif
