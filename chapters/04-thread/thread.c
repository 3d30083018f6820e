/* thread.c: a Thread object and a registry of live threads (see thread.h).
 *
 * What Python does for you, spelled out:
 *  - start() creates the thread and waits until it is up: the new thread names itself
 *    (the kernel keeps the name, so `ps -L` and /proc/PID/task/TID/comm show it),
 *    notes its kernel id, and signals the starter through a condition variable.
 *  - The registry is a list under one mutex. A thread is listed from start() until
 *    its target returns, which is what enumerate() and active_count() report; the
 *    struct itself stays with its owner until join().
 *  - current_thread() is a thread-local pointer, set by the new thread before it
 *    runs its target.
 *  - Python's interpreter, after the main module ends, waits for every non-daemon
 *    thread (threading._shutdown). thread_shutdown() is that step.
 */
#include "thread.h"

#include <sched.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_up = PTHREAD_COND_INITIALIZER; /* a thread has started */
static struct thread *g_head, *g_tail;                  /* started, not yet joined */
static struct thread g_main = { .name = "MainThread", .started = true };
static _Thread_local struct thread *t_self;             /* NULL: the main thread */

static void *bootstrap(void *arg)
{
    struct thread *t = arg;
    t_self = t;
    char name[THREAD_NAME_MAX];
    snprintf(name, sizeof name, "%s", t->name ? t->name : "Thread");
    CHECK_PT(pthread_setname_np(pthread_self(), name));

    CHECK_PT(pthread_mutex_lock(&g_lock));
    t->tid = gettid();
    t->started = true;
    CHECK_PT(pthread_cond_broadcast(&g_up));
    CHECK_PT(pthread_mutex_unlock(&g_lock));

    t->target(t->arg);

    CHECK_PT(pthread_mutex_lock(&g_lock));
    t->finished = true; /* leaves enumerate(); the struct stays listed until joined */
    CHECK_PT(pthread_mutex_unlock(&g_lock));
    return NULL;
}

void thread_start(struct thread *t)
{
    if (t->started) /* Python too refuses to start a thread twice */
        fatal("thread_start: %s was already started", t->name);
    if (!t->target)
        fatal("thread_start: %s has no target", t->name);
    if (!g_main.tid)
        g_main.tid = getpid(); /* the main thread's tid is the pid */
    t->finished = t->joined = false;
    t->tid = 0;

    CHECK_PT(pthread_mutex_lock(&g_lock));
    int rc = pthread_create(&t->id, NULL, bootstrap, t);
    if (rc != 0)
        die_en(rc, "pthread_create %s", t->name);
    if (g_tail)
        g_tail->next = t;
    else
        g_head = t;
    g_tail = t;
    while (!t->started)
        CHECK_PT(pthread_cond_wait(&g_up, &g_lock));
    CHECK_PT(pthread_mutex_unlock(&g_lock));
}

/* take t out of the list (under g_lock) */
static void unlist(struct thread *t)
{
    struct thread *prev = NULL;
    for (struct thread *p = g_head; p; prev = p, p = p->next) {
        if (p != t)
            continue;
        if (prev)
            prev->next = p->next;
        else
            g_head = p->next;
        if (g_tail == p)
            g_tail = prev;
        p->next = NULL;
        return;
    }
}

void thread_join(struct thread *t)
{
    if (!t->started || t == &g_main)
        fatal("thread_join: %s was never started", t->name);
    if (t == t_self)
        fatal("thread_join: %s cannot join itself", t->name); /* Python: RuntimeError */
    if (t->joined)
        return;
    CHECK_PT(pthread_join(t->id, NULL));
    CHECK_PT(pthread_mutex_lock(&g_lock));
    t->joined = true;
    unlist(t);
    CHECK_PT(pthread_mutex_unlock(&g_lock));
}

bool thread_is_alive(struct thread *t)
{
    CHECK_PT(pthread_mutex_lock(&g_lock));
    bool alive = t->started && !t->finished;
    CHECK_PT(pthread_mutex_unlock(&g_lock));
    return alive;
}

struct thread *thread_current(void)
{
    if (t_self)
        return t_self;
    if (!g_main.tid)
        g_main.tid = getpid();
    return &g_main;
}

static void copy_info(struct thread_info *i, const struct thread *t)
{
    snprintf(i->name, sizeof i->name, "%s", t->name ? t->name : "Thread"); /* as bootstrap names it */
    i->tid = t->tid;
    i->daemon = t->daemon;
}

size_t thread_enumerate(struct thread_info *list, size_t max)
{
    size_t n = 0;
    if (!g_main.tid)
        g_main.tid = getpid();
    CHECK_PT(pthread_mutex_lock(&g_lock));
    if (n < max)
        copy_info(&list[n], &g_main);
    n++;
    for (struct thread *t = g_head; t; t = t->next) {
        if (t->finished)
            continue;
        if (n < max)
            copy_info(&list[n], t);
        n++;
    }
    CHECK_PT(pthread_mutex_unlock(&g_lock));
    return n;
}

size_t thread_active_count(void)
{
    return thread_enumerate(NULL, 0);
}

void thread_shutdown(void)
{
    for (;;) {
        struct thread *next = NULL;
        CHECK_PT(pthread_mutex_lock(&g_lock));
        for (struct thread *t = g_head; t && !next; t = t->next)
            if (t != t_self && (!t->daemon || t->finished))
                next = t;
        CHECK_PT(pthread_mutex_unlock(&g_lock));
        if (!next)
            return;
        thread_join(next);
    }
}

void start_line_init(struct start_line *s, int n)
{
    atomic_init(&s->arrived, 0);
    s->n = n;
}

void start_line_wait(struct start_line *s)
{
    atomic_fetch_add_explicit(&s->arrived, 1, memory_order_acq_rel);
    while (atomic_load_explicit(&s->arrived, memory_order_acquire) < s->n)
        sched_yield(); /* let a thread that has not arrived yet run on this core */
}

long thread_sleeps(void)
{
    struct rusage ru;
    CHECK_SYS(getrusage(RUSAGE_THREAD, &ru));
    return ru.ru_nvcsw;
}
