/* report: the human form of judge's output (judge --pretty): one block per
 * line, a header with the job's verdict and figures, then a row per
 * testcase, with output and expected output under each failing one. */
#ifndef REPORT_H
#define REPORT_H

#include <stdio.h>

#include "judge/judging.h"

enum { REPORT_TEXT_CAP = 72 };	/* characters of output shown per row */

/* Writes the block for one judged line (out and its line are borrowed). */
void report_pretty(FILE *f, const struct judging_output *out);

#endif
