/* fit: a JSON object brought under a byte budget, as printed, by cutting
 * its captured texts (program output, echoed inputs, messages) and never
 * what it says (verdicts, ids, figures). Each text cut gets a sibling
 * "<key>Truncated": true. Sizes are of cJSON's unformatted print, JSON
 * escaping counted (a control byte takes 6). */
#ifndef FIT_H
#define FIT_H

#include <stddef.h>
#include <cjson/cJSON.h>

/* The bytes obj takes printed unformatted. */
size_t fit_printed_len(const cJSON *obj);

/* Cuts the strings of obj (at any depth) whose key is one of `keys`
 * (NULL-terminated), the longest first and all to one common length,
 * until obj prints in at most budget bytes, or they are empty. Returns
 * the printed size after. */
size_t fit_texts(cJSON *obj, size_t budget, const char *const *keys);

/* A result message (judge(1)'s `result`) under budget: its texts cut
 * (output, input, expectedOutput, stdout, stderr, compileOutput, stdOut),
 * then, for a run with too many testcases to list even so, the last
 * entries of testResults left out ("testResultsTruncated": true; stats
 * still count them all). Returns 0, or -1 when it still does not fit. */
int fit_result(cJSON *msg, size_t budget);

#endif
