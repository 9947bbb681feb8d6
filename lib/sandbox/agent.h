/* agent: the wire format between the docker backend of sandbox-exec and
 * codex-agent, the small program that runs inside every pool container.
 *
 * Messages travel over the container's attached stdin (requests) and
 * stdout (replies). A message is a frame: a 4-byte big-endian length, then
 * one op byte and fields; a field is a tag byte, a 4-byte big-endian length
 * and that many bytes. Numbers are decimal text. Repeated tags (argv, env)
 * keep their order. */
#ifndef AGENT_H
#define AGENT_H

#include <stddef.h>
#include <stdint.h>

#include "core/sbuf.h"

enum agent_op {
	AGENT_PING = 'P',	/* -> AGENT_OK */
	AGENT_WRITE = 'W',	/* PATH MODE DATA -> AGENT_OK | AGENT_FAIL */
	AGENT_RUN = 'X',	/* ARGV.. ENV.. STDIN limits -> AGENT_RESULT | AGENT_FAIL */
	AGENT_READ = 'R',	/* PATH CAP -> AGENT_FILE (DATA or WHY) */
	AGENT_CLEAN = 'C',	/* -> AGENT_OK once nothing of the job is left, else AGENT_FAIL */
	AGENT_OK = 'O',
	AGENT_FAIL = 'E',	/* MSG */
	AGENT_RESULT = 'r',
	AGENT_FILE = 'f',
};

enum agent_tag {
	AT_PATH = 1, AT_MODE, AT_DATA, AT_CAP, AT_WHY, AT_MSG,
	AT_ARGV, AT_ENV, AT_STDIN,
	AT_TIME_MS, AT_WALL_MS, AT_PROCESSES, AT_OUTPUT_BYTES, AT_FILE_BYTES, AT_MEMORY_KB,
	AT_EXIT, AT_SIGNAL, AT_LIMIT, AT_STDOUT, AT_STDERR, AT_OUT_TRUNC, AT_ERR_TRUNC,
	AT_OOM_KILLS, AT_PIDS_MAX,
};

enum {
	AGENT_FIELDS_MAX = 1024,
	AGENT_FRAME_MAX = 192 << 20,	/* a compiled binary, with room */
	AGENT_READ_MAX = AGENT_FRAME_MAX / 2,	/* the most a read asks for */
};

struct agent_field {
	int tag;
	size_t len;
	const char *data;	/* points into the message's frame; not NUL-terminated */
};

/* A decoded message. Its fields point into frame, which it owns. */
struct agent_msg {
	int op;
	size_t n;
	struct agent_field f[AGENT_FIELDS_MAX];
	char *frame;
};

/* Starts a message of op at the end of b. */
void agent_begin(struct sbuf *b, int op);
/* Appends a field to the message being built. */
void agent_put(struct sbuf *b, int tag, const void *data, size_t len);
void agent_put_str(struct sbuf *b, int tag, const char *s);
void agent_put_num(struct sbuf *b, int tag, int64_t v);
/* Writes the length of the message begun at offset start. */
void agent_end(struct sbuf *b, size_t start);

/* Reads one frame from fd. Returns 0 with *m filled (agent_msg_free() it),
 * 1 at a clean end of input, -1 on an error, a short or oversized frame. */
int agent_read(int fd, size_t cap, struct agent_msg *m);

/* Decodes a frame body (op and fields) of len bytes; takes ownership of
 * body (malloc'd). Returns 0, or -1 when the fields do not add up. */
int agent_decode(char *body, size_t len, struct agent_msg *m);

/* If buf starts with a whole frame, returns its total length and stores the
 * body length; 0 when more bytes are needed; -1 when the length is over cap. */
long agent_frame_len(const char *buf, size_t len, size_t cap, size_t *body);

/* The first field with tag, or NULL. Borrowed. */
const struct agent_field *agent_get(const struct agent_msg *m, int tag);
/* The field as a new NUL-terminated string (caller frees), or NULL when
 * it is missing or holds a NUL byte (a path or a number never does). */
char *agent_str(const struct agent_msg *m, int tag);
/* Parses the field as a number in [min, max]. Returns 0, or -1 when
 * missing or malformed. */
int agent_num(const struct agent_msg *m, int tag, int64_t min, int64_t max, int64_t *v);
/* Every field with tag as a NULL-terminated array of new strings; the
 * caller frees each and the array. */
char **agent_list(const struct agent_msg *m, int tag);
void agent_list_free(char **v);

void agent_msg_free(struct agent_msg *m);

#endif
