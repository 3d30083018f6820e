/* team.h: n threads that start together, for the measurements of this chapter.
 *
 *   int64_t ns = team_run(4, body, &args);
 *
 * runs body(0, &args) .. body(3, &args) on four new threads, released at once from a
 * spinning start line (chapter 04's start_line: a sleeping barrier would let the first
 * thread run alone for the 10 µs or more the others take to wake), and returns the
 * wall time from the first one's start to the last one's end, in ns.
 */
#ifndef WORKBOOK_TEAM_H
#define WORKBOOK_TEAM_H

#include "common.h"

typedef void team_fn(int i, void *arg);
int64_t team_run(int n, team_fn *body, void *arg);

enum { TEAM_MAX = 64 };

#endif
