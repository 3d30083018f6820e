/* bare_switch.h: stack switches with no bookkeeping at all, for switch_cost.c.
 *
 * The two floors that switch_cost.c puts beside coro_switch:
 *   bare_*     the least a stackful switch can do: six pushes, two moves, six pops and
 *              a ret between two stacks, and nothing else (no current coroutine, no
 *              value handed over); x86-64 only;
 *   raw_uc_*   swapcontext(3) between two contexts, with nothing around it.
 * Each *_setup makes the other side once (a stack from coro.c's allocator, and a
 * loop that switches straight back), *_rounds runs n round trips, *_teardown frees the
 * stack. Neither tells the sanitizers about its switches, so sanitizer builds leave
 * both out (HAVE_BARE and HAVE_RAW_UCONTEXT say which exist).
 */
#ifndef WORKBOOK_BARE_SWITCH_H
#define WORKBOOK_BARE_SWITCH_H

#include "common.h"

#if defined(__x86_64__) && !defined(WB_ASAN) && !defined(WB_TSAN)
#define HAVE_BARE 1
#endif
#if !defined(WB_ASAN) && !defined(WB_TSAN)
#define HAVE_RAW_UCONTEXT 1
#endif

void bare_setup(void);
void bare_rounds(long n);
void bare_teardown(void);

void raw_uc_setup(void);
void raw_uc_rounds(long n);
void raw_uc_teardown(void);

#endif
