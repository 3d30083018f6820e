/* testutil.h: helpers for the cmocka tests.
 *
 * cmocka's assertions must run in the test's own thread and process, so code that
 * exits, dies or crashes is run in a child: capture() forks, runs fn(arg) there with
 * stdout and stderr going to memory files, and gives back the exit status and the text.
 */
#ifndef WORKBOOK_TESTUTIL_H
#define WORKBOOK_TESTUTIL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct captured {
    int status;      /* as from waitpid */
    char out[16384]; /* stdout, NUL-terminated (truncated if longer) */
    char err[16384]; /* stderr */
};

/* Runs fn(arg) in a child that has timeout_ns to end (else it is killed and the test
 * fails). If fn returns, the child exits 0. */
void capture(void (*fn)(void *), void *arg, int64_t timeout_ns, struct captured *c);

/* Runs argv[0] with argv, like capture. */
void capture_exec(char *const argv[], int64_t timeout_ns, struct captured *c);

/* The exit code of child `pid` (minus the signal that ended it), which must end within
 * 30 s: else it is killed, reaped, and the test fails. */
int join_child(pid_t pid);

/* Is thread `tid` (a process's pid is its first thread's) asleep in futex(2), on the
 * word at `addr` if addr is not NULL? The kernel shows the system call a sleeping
 * thread is in, with its arguments, in /proc/<tid>/syscall ("running" otherwise). */
bool asleep_in_futex(pid_t tid, const void *addr);

/* Is this process running under valgrind (tests/valgrind.sh runs the coroutine tests
 * so)? false when valgrind's header was missing at build time. A test checks what
 * valgrind changes on its own terms there: its own mappings in /proc/self/maps, errno
 * values of its system call wrappers. */
bool under_valgrind(void);

#endif
