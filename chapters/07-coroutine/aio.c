/* aio.c: the event loop under aio.h's stackless tasks.
 *
 * Until main has finished: call the step function of every task in the ready queue
 * (each runs to its next await and returns: a plain call, no stack to switch); if
 * nothing is ready, sleep in epoll until the earliest timer is due or a watched
 * descriptor is ready; queue the tasks that woke. hub.c's loop without stacks: a hub
 * task waits inside a call chain on a stack of its own, an aio task by having
 * returned. A wait is recorded in the task (its place in the timer heap) or in the
 * descriptor table (by number: the task waiting to read, the one waiting to write),
 * so nothing is allocated per wait. Registrations carry the number, never a task
 * pointer, and are one-shot: an event nobody waits for finds nobody and is dropped.
 */
#include "aio.h"
#include "common.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#define NO_HEAP UINT32_MAX

struct fdslot {
    struct aio_task *rd, *wr;
    bool in_set;
};

struct loop {
    int epfd;
    struct aio_task *head, *tail;  /* the ready queue */
    struct aio_task **heap;        /* the timers: a binary min-heap */
    uint32_t nheap, heapcap, seq;
    struct fdslot *fds;
    size_t nfds, fd_waits;
};

static _Thread_local struct loop *t_loop;

static struct loop *loop(void)
{
    return t_loop ? t_loop : (fatal("aio: no loop runs in this thread (aio_run)"), NULL);
}

static void make_ready(struct loop *l, struct aio_task *t)
{
    t->next = NULL;
    if (l->tail)
        l->tail->next = t;
    else
        l->head = t;
    l->tail = t;
}

/* ---- the timer heap, on (deadline, seq) ---- */

static bool earlier(const struct aio_task *a, const struct aio_task *b)
{
    return a->deadline < b->deadline || (a->deadline == b->deadline && (int32_t)(a->seq - b->seq) < 0);
}

static void heap_put(struct loop *l, uint32_t i, struct aio_task *t)
{
    l->heap[i] = t;
    t->heap_at = i;
}

static void sift_up(struct loop *l, uint32_t i)
{
    struct aio_task *t = l->heap[i];
    for (; i > 0 && earlier(t, l->heap[(i - 1) / 2]); i = (i - 1) / 2)
        heap_put(l, i, l->heap[(i - 1) / 2]);
    heap_put(l, i, t);
}

static void sift_down(struct loop *l, uint32_t i)
{
    struct aio_task *t = l->heap[i];
    for (;;) {
        uint32_t c = 2 * i + 1;
        if (c >= l->nheap)
            break;
        if (c + 1 < l->nheap && earlier(l->heap[c + 1], l->heap[c]))
            c++;
        if (!earlier(l->heap[c], t))
            break;
        heap_put(l, i, l->heap[c]);
        i = c;
    }
    heap_put(l, i, t);
}

static struct aio_task *pop_timer(struct loop *l) /* the earliest */
{
    struct aio_task *top = l->heap[0];
    top->heap_at = NO_HEAP;
    if (--l->nheap > 0) {
        heap_put(l, 0, l->heap[l->nheap]);
        sift_down(l, 0);
    }
    return top;
}

void aio_sleep_start(struct aio_task *t, int64_t ns)
{
    struct loop *l = loop();
    if (ns <= 0) { /* asyncio.sleep(0): to the back of the queue */
        make_ready(l, t);
        return;
    }
    t->deadline = deadline_in(ns);
    if (t->deadline == NO_DEADLINE)
        return; /* past the end of the clock: for ever */
    if (l->nheap == l->heapcap) {
        l->heapcap = l->heapcap ? 2 * l->heapcap : 1024;
        struct aio_task **h = realloc(l->heap, l->heapcap * sizeof *h);
        if (!h)
            die("realloc(timer heap)");
        l->heap = h;
    }
    t->seq = l->seq++;
    heap_put(l, l->nheap++, t);
    sift_up(l, l->nheap - 1);
}

/* ---- tasks ---- */

void aio_spawn(struct aio_task *t, aio_step step)
{
    struct loop *l = loop();
    *t = (struct aio_task){ .step = step, .heap_at = NO_HEAP };
    make_ready(l, t);
}

bool aio_gather_start(struct aio_task *t, struct aio_task *const *kids, size_t n)
{
    t->pending = 0;
    for (size_t i = 0; i < n; i++) {
        if (!kids[i]->done) {
            kids[i]->awaiter = t;
            t->pending++;
        }
    }
    return t->pending > 0;
}

static void run(struct loop *l, struct aio_task *t)
{
    if (t->step(t))
        return; /* it awaits something now */
    t->done = true;
    struct aio_task *a = t->awaiter;
    if (a && --a->pending == 0)
        make_ready(l, a);
}

/* ---- descriptors ---- */

static struct fdslot *slot(struct loop *l, int fd)
{
    if ((size_t)fd >= l->nfds) {
        size_t n = l->nfds ? l->nfds : 64;
        while (n <= (size_t)fd)
            n *= 2;
        struct fdslot *p = realloc(l->fds, n * sizeof *p);
        if (!p)
            die("realloc(descriptor table)");
        memset(p + l->nfds, 0, (n - l->nfds) * sizeof *p);
        l->fds = p;
        l->nfds = n;
    }
    return &l->fds[fd];
}

/* arm fd's one-shot registration for whoever waits on it (MOD, or ADD the first time
 * and after a close behind our back) */
static void arm(struct loop *l, int fd, struct fdslot *s)
{
    struct epoll_event e = { .events = (s->rd ? EPOLLIN : 0) | (s->wr ? EPOLLOUT : 0) | EPOLLONESHOT,
                             .data.fd = fd };
    if (!s->in_set || epoll_ctl(l->epfd, EPOLL_CTL_MOD, fd, &e) == -1) {
        if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &e) == -1)
            die("epoll_ctl(ADD, %d)", fd);
        s->in_set = true;
    }
}

/* t waits for fd to be ready for `ev` */
static void wait_fd(struct loop *l, struct aio_task *t, int fd, uint32_t ev)
{
    struct fdslot *s = slot(l, fd);
    struct aio_task **mine = ev == EPOLLIN ? &s->rd : &s->wr;
    if (*mine && *mine != t)
        fatal("aio: two tasks wait to %s descriptor %d", ev == EPOLLIN ? "read" : "write", fd);
    *mine = t;
    arm(l, fd, s);
    l->fd_waits++;
}

static void fd_ready(struct loop *l, int fd, uint32_t ev)
{
    if ((size_t)fd >= l->nfds)
        return;
    struct fdslot *s = &l->fds[fd];
    struct aio_task *ts[2] = { NULL, NULL };
    if ((ev & (EPOLLIN | EPOLLHUP | EPOLLERR)) && s->rd)
        ts[0] = s->rd, s->rd = NULL;
    if ((ev & (EPOLLOUT | EPOLLHUP | EPOLLERR)) && s->wr)
        ts[1] = s->wr, s->wr = NULL;
    if (s->rd || s->wr) /* the other one waits on: arm it again */
        arm(l, fd, s);
    for (int i = 0; i < 2; i++) {
        if (ts[i]) {
            l->fd_waits--;
            make_ready(l, ts[i]);
        }
    }
}

ssize_t aio_read_try(struct aio_task *t, int fd, void *buf, size_t n)
{
    ssize_t k;
    while ((k = read(fd, buf, n)) == -1 && errno == EINTR)
        ;
    if (k == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        wait_fd(loop(), t, fd, EPOLLIN);
        return AIO_PENDING;
    }
    return k;
}

ssize_t aio_write_try(struct aio_task *t, int fd, const void *buf, size_t n, ssize_t *done)
{
    while ((size_t)*done < n) {
        ssize_t k = write(fd, (const char *)buf + *done, n - (size_t)*done);
        if (k >= 0)
            *done += k;
        else if (errno == EAGAIN || errno == EWOULDBLOCK) {
            wait_fd(loop(), t, fd, EPOLLOUT);
            return AIO_PENDING;
        } else if (errno != EINTR)
            return *done = -1;
    }
    return *done;
}

int aio_close(int fd)
{
    struct loop *l = t_loop;
    if (l && fd >= 0 && (size_t)fd < l->nfds) {
        struct fdslot *s = &l->fds[fd];
        if (s->rd || s->wr)
            fatal("aio_close(%d): a task still waits on it", fd);
        if (s->in_set && epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL) == -1)
            die("epoll_ctl(DEL, %d)", fd);
        s->in_set = false;
    }
    return close(fd); /* (after aio_run has returned, its epoll set is gone anyway) */
}

/* ---- the loop ---- */

int aio_run(struct aio_task *main, aio_step step)
{
    if (t_loop)
        fatal("aio_run: a loop is running in this thread already");
    struct loop l = { .epfd = epoll_create1(EPOLL_CLOEXEC) };
    if (l.epfd == -1)
        die("epoll_create1");
    t_loop = &l;
    aio_spawn(main, step);
    int rc = 0;
    struct epoll_event evs[64];
    while (!main->done) {
        /* run what is ready now; what becomes ready meanwhile waits for the next round */
        struct aio_task *last = l.tail;
        while (l.head) {
            struct aio_task *t = l.head;
            l.head = t->next;
            if (!l.head)
                l.tail = NULL;
            run(&l, t);
            if (t == last)
                break;
        }
        if (main->done)
            break;
        int timeout_ms;
        if (l.head)
            timeout_ms = 0;
        else if (l.nheap > 0) { /* whole ms, rounded up: a timer never fires early */
            int64_t ns = ns_left(l.heap[0]->deadline);
            int64_t ms = ns / NS_PER_MS + (ns % NS_PER_MS != 0);
            timeout_ms = ms > 1000000 ? 1000000 : (int)ms;
        } else if (l.fd_waits > 0)
            timeout_ms = -1;
        else {
            rc = EDEADLK; /* nothing can ever wake main: asyncio would hang here */
            break;
        }
        /* (with tasks ready and no descriptor watched, there is nothing to ask epoll) */
        int n = timeout_ms == 0 && l.fd_waits == 0 ? 0 : epoll_wait(l.epfd, evs, (int)ARRAY_LEN(evs), timeout_ms);
        if (n == -1 && errno != EINTR)
            die("epoll_wait");
        for (int i = 0; i < n; i++)
            fd_ready(&l, evs[i].data.fd, evs[i].events);
        int64_t now = now_ns();
        while (l.nheap > 0 && l.heap[0]->deadline <= now)
            make_ready(&l, pop_timer(&l));
    }
    t_loop = NULL;
    CHECK_SYS(close(l.epfd));
    free(l.heap);
    free(l.fds);
    return rc;
}
