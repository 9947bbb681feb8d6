/* jsval: the few JavaScript semantics the platform's judge relies on
 * (JSON.stringify, parseFloat, truthiness, String.prototype.trim), so that
 * compat results come out as the Node.js service printed them.
 * Ownership: cJSON arguments are borrowed; returned strings are the
 * caller's to free. */
#ifndef JSVAL_H
#define JSVAL_H

#include <stddef.h>
#include <cjson/cJSON.h>

/* Longest text of jsval_number(): sign, 17 digits, "0.", 6 zeros, exponent. */
enum { JSVAL_NUMBER_MAX = 40 };

/* JSON.stringify(v) in JavaScript's compact form: numbers as
 * Number.prototype.toString prints them (shortest round trip, "1e+21",
 * "1e-7"; NaN and Infinity as null), integer-like object keys first in
 * ascending order, then the others in insertion order, a duplicated key
 * printed once at its first place with its last value.
 * Returns a new string; the caller frees. */
char *jsval_stringify(const cJSON *v);

/* Writes Number.prototype.toString(d) into buf (JSVAL_NUMBER_MAX bytes);
 * NaN and the infinities give "NaN", "Infinity", "-Infinity". */
void jsval_number(double d, char buf[JSVAL_NUMBER_MAX]);

/* parseFloat(v): v may be NULL (undefined). Numbers are themselves,
 * strings parse their longest decimal prefix after leading white space,
 * an array parses as its first element, anything else is NaN. */
double jsval_parse_float(const cJSON *v);

/* parseFloat on a NUL-terminated string. */
double jsval_parse_float_text(const char *s);

/* JavaScript truthiness: false for NULL (undefined), null, false, 0, NaN
 * and "", true for everything else (arrays and objects included). */
int jsval_truthy(const cJSON *v);

/* String.prototype.trim() on s[0..len): sets *start and *end so that
 * s[*start..*end) is the text without leading and trailing JavaScript
 * white space (ASCII white space, NBSP, BOM, the Unicode space
 * separators, U+2028 and U+2029). */
void jsval_trim(const char *s, size_t len, size_t *start, size_t *end);

#endif
