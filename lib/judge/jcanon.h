/* jcanon: JSON texts compared by value, exactly (the json, unordered and
 * float comparators of judge(1), and the results lines of function jobs).
 *
 * jcanon() writes a canonical form of a JSON text; two texts have the same
 * form exactly when their values are equal:
 *   - numbers by their exact decimal value, whatever their size or
 *     precision: 1.50 is 1.5, 1e2 is 100, -0 is 0, and
 *     18446744073709551617 is not 18446744073709551616;
 *   - strings by their characters, all of them: "ab\u0000x" is not "ab",
 *     "\u00e9" is "é";
 *   - objects by their members in any order (of a duplicated key the last
 *     counts, as JSON.parse keeps it), arrays in order.
 * The parser is RFC 8259's grammar, strictly: NaN, Infinity, comments,
 * trailing commas, leading zeros and raw control characters are not JSON,
 * as JSON.parse says too. Depth is capped at JCANON_DEPTH.
 *
 * Forms are binary, length-prefixed text (strings may hold NULs): compare
 * them with jcanon_same(). Every function appends to a caller's sbuf; the
 * caller frees its .p. */
#ifndef JCANON_H
#define JCANON_H

#include <stddef.h>

#include "core/sbuf.h"

enum { JCANON_DEPTH = 512 };

/* Appends the form of text[0..len) (one JSON value, blanks around it
 * allowed) to out. Returns 0, or -1 when the text is not one JSON value
 * (out may then hold a part of a form). */
int jcanon(const char *text, size_t len, struct sbuf *out);

/* Are the forms a and b the same. */
int jcanon_same(const struct sbuf *a, const struct sbuf *b);

/* For a text that is a JSON array: the form of each element in a new
 * array of *n sbufs (the caller frees each .p, then the array). Returns 0;
 * -1 when the text is not JSON, -2 when it is JSON but not an array. */
int jcanon_elements(const char *text, size_t len, struct sbuf **elems, size_t *n);

/* Called by jcanon_members() for each member: its key decoded (klen
 * bytes, may hold NULs) and the text of its value. */
typedef void jcanon_member_fn(void *arg, const char *key, size_t klen,
			      const char *value, size_t vlen);

/* Walks the members of the JSON object text[0..len) in order. Returns 0,
 * or -1 when the text is not one JSON object (fn may have seen the
 * members before the fault). */
int jcanon_members(const char *text, size_t len, jcanon_member_fn *fn, void *arg);

/* Appends the characters of the JSON string text[0..len) (its quotes
 * included) to out, decoded. Returns 0, or -1 when it is not one. */
int jcanon_string(const char *text, size_t len, struct sbuf *out);

/* Appends the form of a decimal number as programs print it:
 * [+-]digits[.digits][(e|E)[+-]digits], leading zeros allowed, at least
 * one digit before the exponent. *integral is set when it has neither a
 * point nor an exponent. Returns 0, or -1 when t[0..n) is not one. Forms of
 * equal values are the same, JSON numbers' and these alike. */
int jcanon_decimal(const char *t, size_t n, struct sbuf *out, int *integral);

#endif
