/* thread.h: Python's threading.Thread, in C, over pthreads.
 *
 *   Python                                   C
 *   t = Thread(target=f, args=(6,),          struct thread t = { .name = "aaa_thread",
 *              name="aaa_thread")                               .target = f, .arg = &six };
 *   t.daemon = True                          t.daemon = true;
 *   t.start()                                thread_start(&t);
 *   t.is_alive()                             thread_is_alive(&t)
 *   t.join()                                 thread_join(&t);
 *   threading.current_thread().name          thread_current()->name
 *   threading.enumerate()                    thread_enumerate(list, max)
 *   threading.active_count()                 thread_active_count()
 *   (what the interpreter does after the     thread_shutdown();
 *    main module ends: join the non-daemons)
 *
 * A "subclass" with its own run() is a struct that embeds struct thread and whose
 * target finds the outer struct again (thread_basics.c shows it).
 *
 * The registry behind enumerate() holds every thread from thread_start() until its
 * target returns, like Python's list of active threads. The main thread is in it
 * from the start, as "MainThread".
 */
#ifndef WORKBOOK_THREAD_H
#define WORKBOOK_THREAD_H

#include "common.h"

#include <pthread.h>

enum { THREAD_NAME_MAX = 16 }; /* the kernel keeps 15 characters and a NUL */

struct thread {
    const char *name;            /* also the kernel's name for it (ps -L, /proc), cut to 15 */
    void (*target)(void *arg);   /* runs in the new thread */
    void *arg;
    bool daemon;                 /* thread_shutdown() does not wait for it */
    /* set by the functions below */
    pthread_t id;
    pid_t tid;                   /* the kernel's thread id (gettid), once started */
    bool started, finished, joined;
    struct thread *next;         /* in the registry */
};

/* One live thread, as thread_enumerate() copies it out. */
struct thread_info {
    char name[THREAD_NAME_MAX];
    pid_t tid;
    bool daemon;
};

/* Starts t and returns once it runs, named, with its tid set (Python's start() also
 * waits for the new thread to be up). */
void thread_start(struct thread *t);
/* Waits for t to end and frees what pthreads kept for it. */
void thread_join(struct thread *t);
/* Started and not yet returned from its target. */
bool thread_is_alive(struct thread *t);
/* The calling thread's struct thread: the one it was started with, or the main
 * thread's (name "MainThread") for the main thread and for threads started without
 * this module. */
struct thread *thread_current(void);
/* Copies up to max live threads into list, the main thread first, then in the order
 * they were started; returns how many there are (which may be more than max). */
size_t thread_enumerate(struct thread_info *list, size_t max);
size_t thread_active_count(void);
/* Joins every non-daemon thread, and every daemon thread that has already finished;
 * daemon threads still running are left to end with the process. Call it at the end
 * of main for Python's rule; leave it out for C's (returning from main ends every
 * thread at once). */
void thread_shutdown(void);

/* A start line for a race: n threads call start_line_wait() and all leave it within
 * a fraction of a microsecond of each other. It spins (yielding the CPU in the loop,
 * so it works with more threads than cores too). pthread_barrier_wait would put the
 * early threads to sleep, and a sleeper woken on another core starts microseconds
 * after the last one arrived (wakeup.c measures how many): time enough for a short
 * loop to be over before the race begins. Use each start line once. */
struct start_line {
    _Atomic int arrived;
    int n;
};
void start_line_init(struct start_line *s, int n);
void start_line_wait(struct start_line *s);

/* How many times the calling thread has gone to sleep so far: given up its CPU to wait
 * (getrusage's voluntary context switches). A lock that makes its waiters sleep shows
 * here; one that spins does not. */
long thread_sleeps(void);

#endif
