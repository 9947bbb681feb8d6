/* jsonx: small helpers over cJSON used by every program.
 * Ownership: getters return borrowed pointers into the object; setters take
 * ownership of the item they are given. */
#ifndef JSONX_H
#define JSONX_H

#include <stdio.h>
#include <cjson/cJSON.h>

/* Borrowed string value of obj[key], or NULL if absent or not a string. */
const char *jsonx_str(const cJSON *obj, const char *key);

/* Parses a whole line as one JSON value: NULL if it is not JSON, holds a
 * NUL byte, or has anything but blanks after the value. The caller deletes
 * the result. */
cJSON *jsonx_parse_line(const char *text, size_t len);

/* Checks the text of a JSON line: valid UTF-8, and no string holding
 * \u0000 (a cJSON string ends there, so "ab\u0000x" would be taken for
 * "ab"). Returns 0, or -1 with a message saying where. */
int jsonx_check_text(const char *text, size_t len, char *msg, size_t msglen);

/* Replaces (or adds) obj[key] with item; takes ownership of item. */
void jsonx_set(cJSON *obj, const char *key, cJSON *item);

/* Adds obj[key] = a string made valid UTF-8 from buf[0..len) (invalid
 * bytes and NULs become U+FFFD), so the printed line is always JSON. */
void jsonx_set_bytes(cJSON *obj, const char *key, const char *buf, size_t len);

/* A copy of buf[0..len) as valid UTF-8, NUL-terminated; the caller frees. */
char *jsonx_utf8(const char *buf, size_t len);

/* The bytes a string s[0..len) takes once printed in a JSON line, without
 * its quotes, as cJSON escapes it: \" \\ \b \f \n \r \t take 2, other
 * control characters 6 (\u00XX), everything else 1 per byte. */
size_t jsonx_escaped_len(const char *s, size_t len);

/* The length of the longest prefix of the UTF-8 text s[0..len) that
 * ends on a character boundary and takes at most `budget` bytes printed. */
size_t jsonx_fit_prefix(const char *s, size_t len, size_t budget);

/* obj printed as one line, when it takes at most cap bytes (numbers can
 * print longer than they came: 1E9 is 1000000000); else NULL. *len is the
 * printed length either way. The caller frees the text. */
char *jsonx_print_within(const cJSON *obj, size_t cap, size_t *len);

/* Prints obj as one line plus newline to f and flushes.
 * Returns 0, or -1 on a write error (errno set). */
int jsonx_write_line(FILE *f, const cJSON *obj);

/* Makes the error section of docs/formats.md section 3 and adds it to obj
 * (a job line, or a fresh object when the line did not parse). */
void jsonx_set_error(cJSON *obj, const char *kind, const char *code,
		     const char *message);

/* The error line for a line that is not a JSON object: the line is kept as
 * a string (capped at 4 KiB). Returns a new object; the caller deletes. */
cJSON *jsonx_unparsable(const char *line, size_t len, const char *code,
			const char *message);

enum { JSONX_RAW_LINE_CAP = 4096 };

#endif
