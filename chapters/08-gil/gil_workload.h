/* gil_workload.h: the threads the GIL experiments run on top of gil.h.
 *
 *   hog     a CPU-bound thread of "Python code": it takes the GIL and runs ticks until
 *           told to stop (a `while True: x += 1` loop)
 *   echo    the far end of a socketpair: a plain C thread, outside the GIL, that sends
 *           back every byte it reads after a fixed delay (the network's round trip and
 *           a server on another machine that answers at once)
 *   pinger  an I/O-bound thread of "Python code": request/response over the socketpair,
 *           dropping the GIL around each send and each recv as CPython's socket
 *           module does, and timing every round trip
 */
#ifndef WORKBOOK_GIL_WORKLOAD_H
#define WORKBOOK_GIL_WORKLOAD_H

#include "gil.h"

struct hog {
    struct gil_thread t;
    pthread_t th;
    const atomic_bool *stop;
    int cpu;         /* pin the thread to this CPU, or -1 */
    char name[16];
    uint64_t ticks;  /* out: ticks done */
    uint64_t sum;    /* out: their work */
};
/* Starts n hogs named hog1..hogN on g; each pinned to `cpu` unless it is -1. */
void hogs_start(struct hog *h, int n, struct gil *g, const atomic_bool *stop, int cpu);
void hogs_join(struct hog *h, int n);

struct echo {
    int fd;          /* the client's end */
    int server_fd;
    int cpu;         /* pin the server thread to this CPU, or -1 */
    int64_t delay;   /* the round trip it adds to each reply, ns */
    pthread_t th;
};
/* Its delay is slept (with a 1 ns timer slack), so it takes no CPU from anyone. */
void echo_start(struct echo *e, int cpu, int64_t delay);
void echo_stop(struct echo *e); /* closes the client's end: the server sees EOF and ends */

struct pinger {
    struct gil_thread t;
    pthread_t th;
    const atomic_bool *stop;
    int fd;             /* the echo's client end */
    int cpu;            /* pin the thread to this CPU, or -1 */
    long work;          /* ticks of Python work between requests */
    int64_t *rtt;       /* out: round-trip times, ns, up to cap of them */
    int64_t *retake;    /* out: the wait to take the GIL back after each blocking call */
    size_t cap;
    size_t n, nretake;  /* out */
    uint64_t requests;  /* out: round trips completed */
    int64_t elapsed;    /* out: ns from the first request to the stop */
};
/* cap: round trips to time (the arrays are allocated here, freed by pinger_free) */
void pinger_start(struct pinger *p, struct gil *g, int fd, const atomic_bool *stop, long work, size_t cap,
                  int cpu);
void pinger_join(struct pinger *p);
void pinger_free(struct pinger *p);

/* Where the threads of an experiment run. CPU_SPREAD: the CPU-bound threads on CPU 0,
 * the I/O thread and its echo on CPU 1 (the usual picture of a multi-core machine, made
 * repeatable); CPU_ONE: everything on CPU 0; CPU_FREE: wherever the kernel puts them,
 * which changes from run to run (an I/O thread that lands on a hog's core behaves as
 * on one core). Returns the CPU for hogs (io = false) or the I/O side (io = true). */
enum placement { CPU_SPREAD, CPU_ONE, CPU_FREE };
int place(enum placement pl, bool io);

/* Sorts ns values and summarizes them in microseconds. */
struct summary summary_us(const int64_t *ns, size_t n);

#endif
