/* hub_simple.c: a gevent-style hub to read in one sitting, for tasks that sleep.
 *
 * The hub is one more coroutine, running a loop: switch to each task in the ready
 * queue in turn (it runs until it waits for something, then switches back); sleep
 * until the earliest timer in the timer heap is due; queue the tasks whose timers
 * fired; again. co_sleep is "set a timer, switch to the hub"; hub_join is "note that I
 * wait for t, set a timer for my timeout, switch to the hub", and t's end queues its
 * joiner. A wait is a struct on the waiter's own stack, so nothing is allocated for it.
 *
 * The API is a subset of hub.h, so a program or a test links this file or hub.c, on
 * coro_simple.c or coro.c (tests/test_hub_simple.c runs the cases of test_hub.c that
 * apply). What it lacks, and hub.c adds: descriptors (co_wait_fd, co_read, co_write,
 * co_accept, co_connect: epoll in the loop, and a record per descriptor number, so
 * that a closed and reused number cannot confuse it: hub_closed_fd_simple shows what
 * the obvious way does then; co_close, hub_cancel_wait); detached tasks; copied
 * stacks; EDEADLK when nothing can ever wake a join (here: a fatal error).
 * Deliberate duplicates of hub.c: the timer heap and the shape of the loop.
 */
#include "hub.h"
#include "coro.h"

#include <errno.h>
#include <stdlib.h>

enum wake { WAKE_NONE, WAKE_READY, WAKE_TIMER, WAKE_JOINED };
#define NONE SIZE_MAX

struct wait {
    struct coro *co;        /* who waits */
    enum wake why;          /* what woke it */
    struct wait *next;      /* in the ready queue */
    int64_t deadline;       /* its timer, while heap_at != NONE */
    uint64_t seq;           /* equal deadlines fire in the order they were set */
    size_t heap_at;
    struct hub_task *task;  /* a new task's first wait: the task, for task_main */
};

struct hub_task {
    struct coro *co;
    hub_fn fn;
    void *arg, *result;
    bool done;
    struct wait first, *joiner;
    struct hub_task *prev, *next; /* the tasks not joined yet */
};

static _Thread_local struct hub {
    struct coro *loop;
    struct wait *head, *tail, **heap; /* the ready queue; the timers */
    size_t nheap, cap, ntasks;
    uint64_t seq, switches;
    struct hub_task *tasks;
} *t_hub;

static void make_ready(struct hub *h, struct wait *w, enum wake why)
{
    w->why = why;
    w->next = NULL;
    if (h->tail)
        h->tail->next = w;
    else
        h->head = w;
    h->tail = w;
}

/* ---- the timer heap: a binary min-heap on (deadline, seq) ---- */

static bool earlier(const struct wait *a, const struct wait *b)
{
    return a->deadline < b->deadline || (a->deadline == b->deadline && a->seq < b->seq);
}

static void place(struct hub *h, size_t i, struct wait *w)
{
    h->heap[i] = w;
    w->heap_at = i;
}

static void sift(struct hub *h, size_t i) /* heap[i] up or down to where it belongs */
{
    struct wait *w = h->heap[i];
    for (; i > 0 && earlier(w, h->heap[(i - 1) / 2]); i = (i - 1) / 2)
        place(h, i, h->heap[(i - 1) / 2]);
    for (size_t c; (c = 2 * i + 1) < h->nheap; i = c) {
        if (c + 1 < h->nheap && earlier(h->heap[c + 1], h->heap[c]))
            c++; /* the earlier child */
        if (!earlier(h->heap[c], w))
            break;
        place(h, i, h->heap[c]);
    }
    place(h, i, w);
}

static void add_timer(struct hub *h, struct wait *w, int64_t deadline)
{
    if (deadline == NO_DEADLINE) /* beyond the end of the clock: no limit */
        return;
    if (h->nheap == h->cap && !(h->heap = realloc(h->heap, (h->cap = 2 * h->cap + 64) * sizeof *h->heap)))
        die("realloc(timer heap)");
    w->deadline = deadline;
    w->seq = h->seq++;
    place(h, h->nheap++, w);
    sift(h, h->nheap - 1);
}

static void cancel_timer(struct hub *h, struct wait *w)
{
    size_t i = w->heap_at;
    if (i == NONE)
        return;
    w->heap_at = NONE;
    if (i < --h->nheap) { /* the last one fills the hole */
        place(h, i, h->heap[h->nheap]);
        sift(h, i);
    }
}

/* ---- the loop, and waiting for it ---- */

static void *hub_loop(void *arg)
{
    struct hub *h = arg;
    for (;;) {
        /* run what is ready now; what becomes ready meanwhile runs in the next round */
        for (struct wait *last = h->tail, *w = NULL; h->head && w != last; h->switches++) {
            w = h->head;
            if (!(h->head = w->next))
                h->tail = NULL;
            coro_switch(w->co, w->task); /* it runs until it waits again, or ends */
        }
        if (!h->head && h->nheap == 0)
            fatal("hub: nothing is ready and no timer is set: a wait for ever");
        if (!h->head)
            sleep_until_ns(h->heap[0]->deadline);
        for (int64_t now = now_ns(); h->nheap > 0 && h->heap[0]->deadline <= now;) {
            struct wait *w = h->heap[0];
            cancel_timer(h, w);
            make_ready(h, w, WAKE_TIMER);
        }
    }
    return NULL;
}

static struct hub *hub_get(void)
{
    if (!t_hub && (!(t_hub = calloc(1, sizeof *t_hub)) || !(t_hub->loop = coro_create(hub_loop, 0, 0))))
        die("hub: making the hub");
    return t_hub;
}

/* The running coroutine waits on the hub until w is woken, or timeout_ns (< 0: no
 * limit) passes; returns why it woke. */
static enum wake block(struct wait *w, int64_t timeout_ns)
{
    struct hub *h = hub_get();
    add_timer(h, w, deadline_in(timeout_ns));
    coro_switch(h->loop, h); /* the first switch starts hub_loop(h) */
    cancel_timer(h, w);      /* (if something else woke it first) */
    return w->why;
}
#define NEW_WAIT { .co = coro_current(), .heap_at = NONE }

/* ---- tasks ---- */

static void *task_main(void *arg) /* the task, from the hub's first switch to it */
{
    struct hub_task *t = arg;
    t->result = t->fn(t->arg);
    t->done = true;
    if (t->joiner && t->joiner->why == WAKE_NONE) /* (not if its time ran out first) */
        make_ready(t_hub, t->joiner, WAKE_JOINED);
    return NULL; /* to the hub, its parent */
}

struct hub_task *hub_spawn(hub_fn fn, void *arg)
{
    struct hub *h = hub_get();
    struct hub_task *t = calloc(1, sizeof *t);
    struct coro *co = t ? coro_create(task_main, 0, 0) : NULL;
    if (!co) {
        free(t);
        return NULL;
    }
    coro_set_parent(co, h->loop); /* when fn returns, control goes to the hub */
    *t = (struct hub_task){ .co = co, .fn = fn, .arg = arg, .next = h->tasks };
    t->first = (struct wait){ .co = co, .heap_at = NONE, .task = t };
    if (h->tasks)
        h->tasks->prev = t;
    h->tasks = t;
    h->ntasks++;
    make_ready(h, &t->first, WAKE_READY);
    return t;
}

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

int hub_join(struct hub_task *t, int64_t timeout_ns, void **result)
{
    if (t->co == coro_current())
        return EDEADLK;
    if (t->joiner)
        return EINVAL; /* one joiner per task */
    if (!t->done) {
        struct wait w = NEW_WAIT;
        t->joiner = &w;
        enum wake why = block(&w, timeout_ns);
        t->joiner = NULL;
        if (why != WAKE_JOINED)
            return ETIMEDOUT; /* t lives on */
    }
    if (result)
        *result = t->result;
    free_task(t_hub, t);
    return 0;
}

int hub_joinall(struct hub_task **tasks, size_t n, int64_t timeout_ns)
{
    int64_t deadline = deadline_in(timeout_ns);
    for (size_t i = 0; i < n; i++) {
        int rc = tasks[i] ? hub_join(tasks[i], deadline == NO_DEADLINE ? -1 : ns_left(deadline), NULL) : 0;
        if (rc != 0)
            return rc;
        tasks[i] = NULL;
    }
    return 0;
}

void co_sleep(int64_t ns)
{
    struct wait w = NEW_WAIT;
    block(&w, ns > 0 ? ns : 0);
}

void hub_yield(void)
{
    struct wait w = NEW_WAIT;
    make_ready(hub_get(), &w, WAKE_READY); /* at the back of the queue: the others first */
    block(&w, -1);
}

void hub_close(void) /* from the main coroutine: the tasks not joined are dropped as they stand */
{
    struct hub *h = t_hub;
    if (!h)
        return;
    while (h->tasks)
        free_task(h, h->tasks);
    coro_free(h->loop);
    free(h->heap);
    free(h);
    t_hub = NULL;
}

struct hub_stats hub_stats(void)
{
    return (struct hub_stats){ .tasks = hub_get()->ntasks, .switches = t_hub->switches };
}
