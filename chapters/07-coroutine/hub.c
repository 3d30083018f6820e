/* hub.c: the event loop under the tasks (see hub.h for the API).
 *
 * Read hub_simple.c first: the scheduler whole (a ready queue, a timer heap, a loop
 * that runs what is ready and sleeps until the next timer), for tasks that only sleep
 * and join. This file adds what a server needs and the minimal one lacks:
 *   - descriptors: the loop sleeps in epoll, and co_read, co_write, co_accept and
 *     co_connect wait there whenever the kernel says "not yet";
 *   - a record per descriptor number, with a generation and one-shot registrations,
 *     and co_close: a descriptor closed while a task waits on it, its number handed
 *     out again, must neither end another task's wait nor wake a task that is gone.
 *     The obvious way (register a pointer to the waiter, take the descriptor out of
 *     epoll by number when the wait ends) lets a task sleep through its data:
 *     hub_closed_fd_simple shows it, hub_closed_fd runs the same steps on this file;
 *   - EDEADLK when nothing can ever wake a join (a fatal error in hub_simple.c);
 *     detached tasks; waits kept in the task, not on its stack (for copied stacks);
 *     a task's stack given back as soon as it ends, not when it is joined.
 *
 * The hub is a coroutine like the tasks, running hub_loop:
 *
 *   forever:
 *     run every coroutine in the ready queue, one after the other: each runs until it
 *       waits for something (then it has switched back here) or finishes;
 *     if nothing is ready, sleep in epoll until the earliest timer is due or a
 *       descriptor somebody waits on becomes ready;
 *     put the coroutines whose timer fired or whose descriptor is ready in the queue.
 *
 * A waiting coroutine describes its wait in a `struct wait`: which coroutine, why it
 * was woken, and its place in the timer heap. A task's record is part of its struct
 * hub_task (one wait at a time), the main coroutine's lives on its stack; the queue,
 * the heap and the descriptor table point to it, so nothing is allocated per wait.
 * (Not on a task's stack: a task with a copied stack, CORO_COPY_STACK, has its frames
 * moved to the heap while it waits, and the hub must reach the record meanwhile.) A wait can end two ways (a read with a timeout:
 * data, or time up); the first event queues it, a second one finds it queued already,
 * and the woken coroutine removes what is left of its wait (the timer, its place in
 * the descriptor table) before it does anything else.
 *
 * Descriptors. The hub keeps a small record per descriptor number (struct fdrec): the
 * task waiting to read, the task waiting to write (one of each at a time, as gevent
 * allows: one task reads a socket while another writes to it), and what it asked the
 * kernel for. The epoll registration never points at a waiter: it carries the number
 * and a generation (the record's, renewed whenever the number may name another file),
 * and an event is looked up in the table, so an event that comes late, for a file
 * nobody waits on any more, finds nobody and is dropped. Registrations are one-shot
 * (EPOLLONESHOT): an event disarms its registration until the hub arms it again for
 * whoever still waits, so a forgotten registration fires at most once. A registration
 * stays in the epoll set, disarmed, after its wait, so the next wait on the same
 * descriptor costs one epoll_ctl (MOD) instead of two (ADD, then DEL).
 *
 * Closing a descriptor somebody waits on. Close it with co_close: it wakes the waiters
 * with EBADF, takes the registration out, and closes (gevent's cancel_wait, which its
 * socket.close calls); hub_cancel_wait wakes them without closing. A plain close()
 * behind the hub's back is survived but not noticed at once: epoll forgets a
 * descriptor only when the file's last descriptor closes (a dup, or a forked child,
 * may keep it alive), and the hub learns of the close only when the number is used
 * again (its MOD fails with ENOENT: the old waiters are then woken with EBADF) or when
 * the waiter's own timeout ends its wait.
 *
 * The timer heap is a binary min-heap on (deadline, sequence number): timers fire in
 * deadline order, and timers with the same deadline in the order they were set.
 *
 * Deadlock: if nothing is ready, no timer is set and no descriptor is watched, no
 * coroutine can ever be woken. The main coroutine (the only one that is not a task)
 * is then woken with EDEADLK instead of the hub sleeping forever: gevent's LoopExit.
 * With one joiner per task a cycle of joins cannot draw the main coroutine in (the
 * join that would close the cycle gets EINVAL), so this is a safety net: the hub
 * never sleeps with nothing that could wake it.
 */
#include "hub.h"
#include "coro.h"
#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

enum wake { WAKE_NONE, WAKE_READY, WAKE_TIMER, WAKE_IO, WAKE_CANCEL, WAKE_JOINED, WAKE_DEADLOCK };
#define NOT_IN_HEAP SIZE_MAX

struct wait {
    struct coro *co;    /* who waits */
    enum wake reason;   /* what woke it */
    bool queued;        /* in the ready queue already */
    int err;            /* WAKE_CANCEL: the error to return (EBADF...) */
    int64_t deadline;   /* its timer, if it has one */
    uint64_t seq;
    size_t heap_at;     /* its index in the timer heap, or NOT_IN_HEAP */
};

/* What the hub knows about one descriptor number (see the top). */
struct fdrec {
    struct wait *rd, *wr;  /* the task waiting to read, to write (NULL: none) */
    uint32_t gen;          /* the generation its epoll registration carries */
    uint32_t armed;        /* the events that registration is armed for now */
    bool in_set;           /* registered in the epoll set (perhaps disarmed) */
};

struct hub_task {
    struct coro *co;           /* NULL once finished: its stack is freed at once */
    hub_fn fn;
    void *arg, *result;
    bool done, detached;
    struct wait wait;          /* what it waits for (at first: its first run) */
    struct wait *joiner;       /* the wait of whoever joins it */
    struct hub_task *prev, *next;
};

struct hub {
    struct coro *loop;         /* the hub's own coroutine */
    int epfd;
    bool no_pwait2;            /* the kernel (or valgrind) lacks epoll_pwait2 */
    struct wait **ready;       /* a ring: rlen entries from rhead */
    size_t rhead, rlen, rcap;
    struct wait **heap;        /* the timers */
    size_t nheap, heapcap;
    uint64_t seq;
    size_t fd_waits;           /* coroutines waiting on a descriptor */
    struct fdrec *fds;         /* indexed by descriptor number */
    size_t nfds;
    uint32_t gen;              /* the last generation handed out */
    struct wait *main_wait;    /* the main coroutine's wait, while it waits */
    struct hub_task *tasks;    /* every task not yet freed */
    size_t ntasks;
    uint64_t switches;
    size_t stack_size;
    unsigned stack_flags;
};

static _Thread_local struct hub *t_hub;

static void *hub_loop(void *arg);
static void fd_event(struct hub *h, uint64_t data, uint32_t events);

static struct hub *hub_get(void)
{
    if (t_hub)
        return t_hub;
    struct hub *h = calloc(1, sizeof *h);
    if (!h)
        die("calloc(hub)");
    h->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (h->epfd == -1)
        die("epoll_create1");
    h->loop = coro_create(hub_loop, 0, 0);
    if (!h->loop)
        die("coro_create(hub)");
    t_hub = h;
    return h;
}

/* ---- the ready queue ---- */

static void make_ready(struct hub *h, struct wait *w, enum wake reason)
{
    if (w->queued)
        return; /* woken twice (a timer and a descriptor): the first reason stands */
    if (h->rlen == h->rcap) {
        size_t cap = h->rcap ? 2 * h->rcap : 64;
        struct wait **r = malloc(cap * sizeof *r);
        if (!r)
            die("malloc(ready queue)");
        for (size_t i = 0; i < h->rlen; i++)
            r[i] = h->ready[(h->rhead + i) % h->rcap];
        free(h->ready);
        h->ready = r;
        h->rcap = cap;
        h->rhead = 0;
    }
    w->queued = true;
    w->reason = reason;
    h->ready[(h->rhead + h->rlen) % h->rcap] = w;
    h->rlen++;
}

static struct wait *pop_ready(struct hub *h)
{
    struct wait *w = h->ready[h->rhead];
    h->rhead = (h->rhead + 1) % h->rcap;
    h->rlen--;
    w->queued = false;
    return w;
}

/* ---- the timer heap ---- */

static bool earlier(const struct wait *a, const struct wait *b)
{
    return a->deadline < b->deadline || (a->deadline == b->deadline && a->seq < b->seq);
}

static void heap_set(struct hub *h, size_t i, struct wait *w)
{
    h->heap[i] = w;
    w->heap_at = i;
}

static void sift_up(struct hub *h, size_t i)
{
    struct wait *w = h->heap[i];
    while (i > 0 && earlier(w, h->heap[(i - 1) / 2])) {
        heap_set(h, i, h->heap[(i - 1) / 2]);
        i = (i - 1) / 2;
    }
    heap_set(h, i, w);
}

static void sift_down(struct hub *h, size_t i)
{
    struct wait *w = h->heap[i];
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= h->nheap)
            break;
        if (c + 1 < h->nheap && earlier(h->heap[c + 1], h->heap[c]))
            c++;
        if (!earlier(h->heap[c], w))
            break;
        heap_set(h, i, h->heap[c]);
        i = c;
    }
    heap_set(h, i, w);
}

/* A timer at `deadline` (a now_ns() time, from deadline_in). NO_DEADLINE, the end of
 * the clock, is no timer at all: the wait has no limit. */
static void add_timer(struct hub *h, struct wait *w, int64_t deadline)
{
    if (deadline == NO_DEADLINE)
        return;
    if (h->nheap == h->heapcap) {
        h->heapcap = h->heapcap ? 2 * h->heapcap : 64;
        struct wait **p = realloc(h->heap, h->heapcap * sizeof *p);
        if (!p)
            die("realloc(timer heap)");
        h->heap = p;
    }
    w->deadline = deadline;
    w->seq = h->seq++;
    heap_set(h, h->nheap++, w);
    sift_up(h, h->nheap - 1);
}

static void cancel_timer(struct hub *h, struct wait *w)
{
    size_t i = w->heap_at;
    if (i == NOT_IN_HEAP)
        return;
    w->heap_at = NOT_IN_HEAP;
    struct wait *last = h->heap[--h->nheap];
    if (i == h->nheap)
        return;
    heap_set(h, i, last);
    sift_up(h, i);
    sift_down(h, last->heap_at);
}

/* ---- waiting (called by the coroutine that waits) ---- */

/* The record of the current coroutine's next wait: a task's own, in its struct hub_task
 * (not on its stack: a task with a copied stack has its frames moved away while it
 * waits, and the hub must reach the record meanwhile); the main coroutine's in
 * `local`, on its stack, which stays where it is. */
static struct wait *new_wait(struct hub *h, struct wait *local)
{
    struct coro *me = coro_current();
    if (me == h->loop)
        fatal("hub: the hub itself cannot wait");
    struct hub_task *t = coro_user(me);
    struct wait *w = t ? &t->wait : local;
    *w = (struct wait){ .co = me, .heap_at = NOT_IN_HEAP };
    return w;
}

/* Hand the thread to the hub until something wakes w; returns why. */
static enum wake block(struct hub *h, struct wait *w)
{
    bool is_main = w->co == coro_main();
    if (is_main)
        h->main_wait = w;
    coro_switch(h->loop, h); /* the first switch starts hub_loop(h) */
    if (is_main)
        h->main_wait = NULL;
    return w->reason;
}

/* ---- the loop ---- */

static void free_task(struct hub *h, struct hub_task *t)
{
    if (t->prev)
        t->prev->next = t->next;
    else
        h->tasks = t->next;
    if (t->next)
        t->next->prev = t->prev;
    h->ntasks--;
    coro_free(t->co);
    free(t);
}

/* t's function has returned: free its stack now, wake whoever joins it. */
static void finish(struct hub *h, struct hub_task *t)
{
    t->done = true;
    coro_free(t->co);
    t->co = NULL;
    if (t->joiner)
        make_ready(h, t->joiner, WAKE_JOINED);
    if (t->detached)
        free_task(h, t);
}

static int wait_events(struct hub *h, struct epoll_event *evs, int max, int64_t timeout_ns)
{
    int n;
    if (!h->no_pwait2) { /* Linux 5.11: a timeout in nanoseconds */
        struct timespec ts = ns_to_ts(timeout_ns);
        n = epoll_pwait2(h->epfd, evs, max, timeout_ns < 0 ? NULL : &ts, NULL);
        if (n == -1 && errno == ENOSYS) {
            h->no_pwait2 = true;
            return 0;
        }
    } else { /* older kernels: whole milliseconds, rounded up so timers are never early */
        int64_t ms = timeout_ns < 0 ? -1 : timeout_ns / NS_PER_MS + (timeout_ns % NS_PER_MS != 0);
        n = epoll_wait(h->epfd, evs, max, ms > INT_MAX ? INT_MAX : (int)ms);
    }
    if (n == -1 && errno == EINTR)
        return 0;
    if (n == -1)
        die("epoll_wait");
    return n;
}

static void *hub_loop(void *arg)
{
    struct hub *h = arg;
    struct epoll_event evs[64];
    for (;;) {
        /* run what is ready now; what becomes ready meanwhile runs next round */
        for (size_t n = h->rlen; n > 0; n--) {
            struct coro *co = pop_ready(h)->co;
            h->switches++;
            coro_switch(co, NULL);
            /* back here: co waits for something, or has finished */
            struct hub_task *t = coro_user(co);
            if (t && coro_done(co))
                finish(h, t);
        }
        int64_t timeout;
        if (h->rlen > 0)
            timeout = 0;
        else if (h->nheap > 0)
            timeout = ns_left(h->heap[0]->deadline); /* never NO_DEADLINE: see add_timer */
        else if (h->fd_waits > 0)
            timeout = -1;
        else if (h->main_wait) {
            make_ready(h, h->main_wait, WAKE_DEADLOCK); /* nothing can ever wake anyone */
            continue;
        } else
            fatal("hub: nothing to run and nobody waiting");
        /* (with tasks ready and no descriptor watched, there is nothing to ask epoll) */
        int n = timeout == 0 && h->fd_waits == 0 ? 0 : wait_events(h, evs, (int)ARRAY_LEN(evs), timeout);
        for (int i = 0; i < n; i++)
            fd_event(h, evs[i].data.u64, evs[i].events);
        int64_t now = now_ns();
        while (h->nheap > 0 && h->heap[0]->deadline <= now) {
            struct wait *w = h->heap[0];
            cancel_timer(h, w);
            make_ready(h, w, WAKE_TIMER);
        }
    }
    return NULL;
}

/* ---- tasks ---- */

static void *task_main(void *unused)
{
    (void)unused;
    struct hub_task *t = coro_user(coro_current());
    t->result = t->fn(t->arg);
    return NULL; /* back to the hub, our parent */
}

void hub_set_stack(size_t stack_size, unsigned coro_flags)
{
    struct hub *h = hub_get();
    h->stack_size = stack_size;
    h->stack_flags = coro_flags;
}

struct hub_task *hub_spawn(hub_fn fn, void *arg)
{
    struct hub *h = hub_get();
    struct hub_task *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->co = coro_create(task_main, h->stack_size, h->stack_flags);
    if (!t->co) {
        int e = errno;
        free(t);
        errno = e;
        return NULL;
    }
    coro_set_parent(t->co, h->loop); /* when fn returns, control goes to the hub */
    coro_set_user(t->co, t);
    t->fn = fn;
    t->arg = arg;
    t->wait = (struct wait){ .co = t->co, .heap_at = NOT_IN_HEAP };
    t->next = h->tasks;
    if (h->tasks)
        h->tasks->prev = t;
    h->tasks = t;
    h->ntasks++;
    make_ready(h, &t->wait, WAKE_READY);
    return t;
}

int hub_join(struct hub_task *t, int64_t timeout_ns, void **result)
{
    struct hub *h = hub_get();
    if (!t->done && t->co == coro_current())
        return EDEADLK; /* a task joining itself */
    if (t->detached || t->joiner)
        return EINVAL;
    if (!t->done) {
        struct wait own, *w = new_wait(h, &own);
        t->joiner = w;
        add_timer(h, w, deadline_in(timeout_ns));
        enum wake why = block(h, w);
        cancel_timer(h, w);
        t->joiner = NULL;
        if (why == WAKE_TIMER)
            return ETIMEDOUT;
        if (why != WAKE_JOINED)
            return EDEADLK;
    }
    if (result)
        *result = t->result;
    free_task(h, t);
    return 0;
}

int hub_joinall(struct hub_task **tasks, size_t n, int64_t timeout_ns)
{
    int64_t deadline = deadline_in(timeout_ns);
    for (size_t i = 0; i < n; i++) {
        if (!tasks[i])
            continue;
        int64_t left = deadline == NO_DEADLINE ? -1 : ns_left(deadline);
        int rc = hub_join(tasks[i], left, NULL);
        if (rc != 0)
            return rc;
        tasks[i] = NULL;
    }
    return 0;
}

void hub_detach(struct hub_task *t)
{
    struct hub *h = hub_get();
    if (t->joiner)
        fatal("hub_detach: the task is being joined");
    if (t->done)
        free_task(h, t);
    else
        t->detached = true;
}

/* ---- waiting for time and for descriptors ---- */

void hub_yield(void)
{
    struct hub *h = hub_get();
    struct wait own, *w = new_wait(h, &own);
    make_ready(h, w, WAKE_READY); /* at the back of the queue: the others go first */
    block(h, w);
}

void co_sleep(int64_t ns)
{
    struct hub *h = hub_get();
    if (ns <= 0) {
        hub_yield();
        return;
    }
    struct wait own, *w = new_wait(h, &own);
    add_timer(h, w, deadline_in(ns)); /* beyond the end of the clock: no timer, for ever */
    block(h, w);
    cancel_timer(h, w);
}

/* ---- the descriptor table ---- */

static struct fdrec *fdrec_of(struct hub *h, int fd)
{
    if ((size_t)fd >= h->nfds) {
        size_t n = h->nfds ? h->nfds : 64;
        while (n <= (size_t)fd)
            n *= 2;
        struct fdrec *p = realloc(h->fds, n * sizeof *p);
        if (!p)
            die("realloc(descriptor table)");
        memset(p + h->nfds, 0, (n - h->nfds) * sizeof *p);
        h->fds = p;
        h->nfds = n;
    }
    return &h->fds[fd];
}

/* Wake the waiters of r for `reason` (and `err`), and empty their slots. */
static void wake_fd(struct hub *h, struct fdrec *r, uint32_t which, enum wake reason, int err)
{
    struct wait *ws[2] = { (which & EPOLLIN) ? r->rd : NULL, (which & EPOLLOUT) ? r->wr : NULL };
    if (which & EPOLLIN)
        r->rd = NULL;
    if (which & EPOLLOUT)
        r->wr = NULL;
    for (int i = 0; i < 2; i++) {
        if (ws[i]) { /* (one waiting for both is in both slots: woken once) */
            ws[i]->err = err;
            make_ready(h, ws[i], reason);
        }
    }
}

/* Bring the registration of fd in line with its waiters: armed, one-shot, for the
 * events they wait for; disarmed but kept when nobody waits. Returns 0, an errno of
 * epoll_ctl, or ESTALE: the descriptor was closed behind our back (its number may
 * name another file now), so whoever waits in r waits on a file gone from this
 * number; the record is then out of the set, and the next call registers afresh. */
static int arm_fd(struct hub *h, int fd, struct fdrec *r)
{
    uint32_t want = (r->rd ? EPOLLIN : 0) | (r->wr ? EPOLLOUT : 0);
    struct epoll_event ev = { .events = want | EPOLLONESHOT };
    if (r->in_set) {
        if (want == r->armed)
            return 0;
        ev.data.u64 = (uint64_t)r->gen << 32 | (uint32_t)fd;
        if (epoll_ctl(h->epfd, EPOLL_CTL_MOD, fd, &ev) == 0) {
            r->armed = want;
            return 0;
        }
        if (errno != ENOENT && errno != EBADF)
            return errno;
        r->in_set = false;
        r->armed = 0;
        return ESTALE;
    }
    if (!want)
        return 0;
    r->gen = ++h->gen; /* a new registration: events of an old one no longer match */
    ev.data.u64 = (uint64_t)r->gen << 32 | (uint32_t)fd;
    int rc = epoll_ctl(h->epfd, EPOLL_CTL_ADD, fd, &ev);
    if (rc == -1 && errno == EEXIST) /* this file is registered under this number */
        rc = epoll_ctl(h->epfd, EPOLL_CTL_MOD, fd, &ev);
    if (rc == -1)
        return errno;
    r->in_set = true;
    r->armed = want;
    return 0;
}

/* An event from epoll: wake whoever waits for it, arm the registration again for
 * whoever still waits. An event of an old generation is dropped. */
static void fd_event(struct hub *h, uint64_t data, uint32_t events)
{
    int fd = (int)(uint32_t)data;
    uint32_t gen = (uint32_t)(data >> 32);
    if ((size_t)fd >= h->nfds || h->fds[fd].gen != gen || !h->fds[fd].in_set)
        return; /* a registration nobody stands behind any more (disarmed now) */
    struct fdrec *r = &h->fds[fd];
    r->armed = 0; /* one-shot: the event disarmed it */
    uint32_t which = 0;
    if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
        which |= EPOLLIN;
    if (events & (EPOLLOUT | EPOLLHUP | EPOLLERR))
        which |= EPOLLOUT;
    wake_fd(h, r, which, WAKE_IO, 0);
    int err = arm_fd(h, fd, r);
    if (err) /* the others cannot be watched any more */
        wake_fd(h, r, EPOLLIN | EPOLLOUT, WAKE_CANCEL, err == ESTALE ? EBADF : err);
}

int co_wait_fd(int fd, uint32_t events, int64_t timeout_ns)
{
    struct hub *h = hub_get();
    if (fd < 0)
        return EBADF;
    if (!events || (events & ~(uint32_t)(EPOLLIN | EPOLLOUT)))
        return EINVAL;
    struct fdrec *r = fdrec_of(h, fd);
    if (((events & EPOLLIN) && r->rd) || ((events & EPOLLOUT) && r->wr)) {
        /* somebody waits for that already: one reader and one writer at a time. But
         * is it the same file? If the number was closed behind our back and reused,
         * the registration is gone (ENOENT, or EBADF), and that waiter's file too */
        struct epoll_event ev = { .events = r->armed | EPOLLONESHOT,
                                  .data.u64 = (uint64_t)r->gen << 32 | (uint32_t)fd };
        if (!r->in_set || epoll_ctl(h->epfd, EPOLL_CTL_MOD, fd, &ev) == 0)
            return EEXIST;
        if (errno != ENOENT && errno != EBADF)
            return errno;
        r->in_set = false;
        r->armed = 0;
        wake_fd(h, r, EPOLLIN | EPOLLOUT, WAKE_CANCEL, EBADF);
    }
    struct wait own, *w = new_wait(h, &own);
    if (events & EPOLLIN)
        r->rd = w;
    if (events & EPOLLOUT)
        r->wr = w;
    int err = arm_fd(h, fd, r);
    if (err == ESTALE) {
        /* the number names another file than the one the others here wait on (it was
         * closed behind our back, and reused): they are woken with EBADF, and we
         * register afresh */
        wake_fd(h, r, (r->rd != w ? EPOLLIN : 0) | (r->wr != w ? EPOLLOUT : 0), WAKE_CANCEL, EBADF);
        err = arm_fd(h, fd, r);
    }
    if (err) {
        if (r->rd == w)
            r->rd = NULL;
        if (r->wr == w)
            r->wr = NULL;
        arm_fd(h, fd, r);
        return err == EPERM ? 0 : err; /* EPERM: a regular file, always ready */
    }
    h->fd_waits++;
    add_timer(h, w, deadline_in(timeout_ns));
    enum wake why = block(h, w);
    cancel_timer(h, w);
    h->fd_waits--;
    if (why != WAKE_IO && why != WAKE_CANCEL) { /* time up: leave the slot, disarm */
        r = &h->fds[fd]; /* (the table may have moved) */
        if (r->rd == w)
            r->rd = NULL;
        if (r->wr == w)
            r->wr = NULL;
        int e = arm_fd(h, fd, r);
        if (e) /* closed behind our back (ESTALE): the other waiter's file is gone too */
            wake_fd(h, r, EPOLLIN | EPOLLOUT, WAKE_CANCEL, e == ESTALE ? EBADF : e);
    }
    if (why == WAKE_CANCEL)
        return w->err;
    return why == WAKE_IO ? 0 : ETIMEDOUT;
}

void hub_cancel_wait(int fd, int err)
{
    struct hub *h = hub_get();
    if (fd >= 0 && (size_t)fd < h->nfds)
        wake_fd(h, &h->fds[fd], EPOLLIN | EPOLLOUT, WAKE_CANCEL, err);
}

int co_close(int fd)
{
    struct hub *h = hub_get();
    if (fd >= 0 && (size_t)fd < h->nfds) {
        struct fdrec *r = &h->fds[fd];
        wake_fd(h, r, EPOLLIN | EPOLLOUT, WAKE_CANCEL, EBADF);
        if (r->in_set && epoll_ctl(h->epfd, EPOLL_CTL_DEL, fd, NULL) == -1 && errno != ENOENT &&
            errno != EBADF)
            die("epoll_ctl(EPOLL_CTL_DEL, %d)", fd);
        *r = (struct fdrec){ 0 };
    }
    return close(fd);
}

static bool would_block(int e)
{
    return e == EAGAIN || e == EWOULDBLOCK;
}

/* wait for `events` after a call failed with EAGAIN: 0, or -1 with errno */
static int wait_again(int fd, uint32_t events)
{
    int rc = co_wait_fd(fd, events, -1);
    if (rc != 0) {
        errno = rc;
        return -1;
    }
    return 0;
}

ssize_t co_read(int fd, void *buf, size_t n)
{
    for (;;) {
        ssize_t k = read(fd, buf, n);
        if (k >= 0 || (errno != EINTR && !would_block(errno)))
            return k;
        if (errno != EINTR && wait_again(fd, EPOLLIN) == -1)
            return -1;
    }
}

ssize_t co_write(int fd, const void *buf, size_t n)
{
    size_t done = 0;
    while (done < n) {
        ssize_t k = write(fd, (const char *)buf + done, n - done);
        if (k >= 0)
            done += (size_t)k;
        else if (errno != EINTR && !would_block(errno))
            return -1;
        else if (errno != EINTR && wait_again(fd, EPOLLOUT) == -1)
            return -1;
    }
    return (ssize_t)n;
}

int co_accept(int fd, struct sockaddr *addr, socklen_t *addrlen)
{
    for (;;) {
        int c = accept4(fd, addr, addrlen, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (c >= 0 || (errno != EINTR && !would_block(errno)))
            return c;
        if (errno != EINTR && wait_again(fd, EPOLLIN) == -1)
            return -1;
    }
}

int co_connect(int fd, const struct sockaddr *addr, socklen_t addrlen)
{
    if (connect(fd, addr, addrlen) == 0)
        return 0;
    if (errno != EINPROGRESS && errno != EINTR)
        return -1;
    /* the handshake goes on in the kernel; writable means it is over, one way or the
     * other, and SO_ERROR says which */
    if (wait_again(fd, EPOLLOUT) == -1)
        return -1;
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
        return -1;
    if (err != 0) {
        errno = err;
        return -1;
    }
    return 0;
}

void hub_nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl == -1 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) == -1)
        die("fcntl(%d, O_NONBLOCK)", fd);
}

/* ---- the end ---- */

void hub_close(void)
{
    struct hub *h = t_hub;
    if (!h)
        return;
    if (coro_current() == h->loop || coro_user(coro_current()))
        fatal("hub_close: call it from the main coroutine, not from a task");
    while (h->tasks)
        free_task(h, h->tasks);
    coro_free(h->loop);
    CHECK_SYS(close(h->epfd));
    free(h->ready);
    free(h->heap);
    free(h->fds);
    free(h);
    t_hub = NULL;
}

struct hub_stats hub_stats(void)
{
    struct hub *h = hub_get();
    return (struct hub_stats){ .tasks = h->ntasks, .switches = h->switches };
}
