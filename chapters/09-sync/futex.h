/* futex.h: the two futex(2) operations this chapter builds everything on.
 *
 * A futex is a 32-bit word in the program's own memory, plus a queue of sleeping
 * threads that the kernel keeps for that address, and only while somebody sleeps on
 * it. glibc has no wrapper for the system call (pthreads uses it internally), so these
 * two call syscall(2) directly:
 *
 *   futex_wait(w, v, deadline)   put the calling thread to sleep, but only if *w still
 *                                equals v when the kernel looks. Returns 0 (woken, or
 *                                for no reason: always check the word again), EAGAIN
 *                                (the word was no longer v: nothing to wait for),
 *                                ETIMEDOUT (deadline reached; a now_ns() time, or
 *                                NO_DEADLINE), or EINTR (a signal handler ran).
 *   futex_wake(w, n)             wake up to n threads asleep on w; returns how many.
 *
 * The comparison and the going to sleep are one step as far as futex_wake is
 * concerned (futex_mutex.c says why that is the whole point). The wait uses
 * FUTEX_WAIT_BITSET, whose timeout is an absolute CLOCK_MONOTONIC time: the
 * workbook's deadlines (deadline_in in common.h) go in as they are, and a wait that
 * wakes early and sleeps again keeps the same deadline. FUTEX_PRIVATE_FLAG says the
 * word is not shared with other processes, which lets the kernel skip some work.
 *
 * Each call is counted in two per-thread counters, so mutex_cost.c can report system
 * calls per lock+unlock pair without tracing: a thread reads its own counters.
 * cpu_relax() is the CPU's hint for the body of a spin-wait loop.
 *
 * Sanitizers: ThreadSanitizer does not know futex(2), so a wake-up is not a
 * synchronisation it can see. Every user here re-reads the word with a C11 atomic
 * after waking (acquire), and the waker wrote it with a release: those atomics carry
 * the happens-before edges, and TSan sees them.
 */
#ifndef WORKBOOK_FUTEX_H
#define WORKBOOK_FUTEX_H

#include "common.h"

#include <errno.h>
#include <linux/futex.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <unistd.h>

/* system calls made by the calling thread (defined in futex_mutex.c) */
extern _Thread_local unsigned long futex_waits, futex_wakes;

/* the CPU's hint that this is a spin-wait loop (x86 pause, Arm yield): it saves power
 * and, on a core shared by two hardware threads, gives the other one the pipeline */
static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

static inline int futex_wait(_Atomic uint32_t *word, uint32_t expected, int64_t deadline)
{
    struct timespec ts, *tsp = NULL;
    if (deadline != NO_DEADLINE) {
        ts = ns_to_ts(deadline);
        tsp = &ts;
    }
    futex_waits++;
    if (syscall(SYS_futex, (void *)word, FUTEX_WAIT_BITSET | FUTEX_PRIVATE_FLAG, expected, tsp,
                NULL, FUTEX_BITSET_MATCH_ANY) == 0)
        return 0;
    if (errno == EAGAIN || errno == ETIMEDOUT || errno == EINTR)
        return errno;
    die("futex(FUTEX_WAIT_BITSET)");
}

static inline int futex_wake(_Atomic uint32_t *word, int n)
{
    futex_wakes++;
    long woken = syscall(SYS_futex, (void *)word, FUTEX_WAKE | FUTEX_PRIVATE_FLAG, n, NULL, NULL, 0);
    if (woken == -1)
        die("futex(FUTEX_WAKE)");
    return (int)woken;
}

#endif
