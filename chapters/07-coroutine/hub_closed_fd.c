/* hub_closed_fd.c: one task closes a descriptor that another task is waiting on.
 *
 * Mirrors: a gevent server where one greenlet closes a socket while another is
 * blocked reading it (a timeout handler, a shutdown): gevent's socket.close() wakes
 * that reader with EBADF, "File descriptor was closed in another greenlet", its
 * cancel_wait_ex. And the kernel hands out the lowest free number, so the very next
 * socket or pipe gets the closed one's number again.
 *
 * One source, built twice:
 *   hub_closed_fd_simple   on hub_simple.c, which can only sleep, with the obvious first
 *                          step to descriptors (wait_fd below, 20 lines): a wait puts
 *                          its descriptor in an epoll set, pointing at a flag of its
 *                          own, looks at the set every millisecond, and when it ends
 *                          takes the descriptor out of the set by its number
 *   hub_closed_fd          on hub.c: epoll in the loop, a record per descriptor number
 *                          with a generation, one-shot registrations, co_close
 * The steps (as in tests/test_hub.c, check_reused_number):
 *   1. task A waits to read pipe 1 (descriptor N), for at most --wait-a;
 *   2. task B closes N with close(2), makes pipe 2, whose read end is N again, and
 *      waits to read it, for at most --wait-b;
 *   3. after A's time is up, main writes a byte into pipe 2.
 * In the simple build, A's wait ends at its timeout and takes "descriptor N" out of
 * the epoll set: by then that is B's pipe. B's byte arrives, and nobody
 * tells B: it sleeps through it until its own timeout. Exit 1. On hub.c, B's wait
 * finds A's record on N with a registration that no longer exists: the hub sees that
 * N names another file now, wakes A at once with EBADF, and B wakes when its byte
 * comes. Then, on hub.c only, two rounds with no new pipe: after a close(2) A waits
 * out its timeout (epoll forgot the file, and nothing tells the hub), after co_close it
 * wakes at once with EBADF, as gevent's socket.close() does it. Exit 0.
 *
 * Run:  ./hub_closed_fd_simple      (exits 1: B slept through its data)
 *       ./hub_closed_fd
 * Look for: "descriptor N again", then when B woke and why.
 * See also: hub_simple.c, hub.c (Descriptors; Closing a descriptor).
 */
#include "common.h"
#include "hub.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

static int64_t g_wait_a = 100 * NS_PER_MS, g_wait_b = NS_PER_S;
static int64_t g_t0;

#ifdef HUB_SIMPLE
#define WHICH "hub_simple.c, and waits that leave the epoll set by descriptor number"
static int g_epfd = -1;

/* Wait until fd is ready for `events`: 0, ETIMEDOUT, or an errno of epoll_ctl. */
static int wait_fd(int fd, uint32_t events, int64_t timeout_ns)
{
    bool ready = false;
    struct epoll_event ev = { .events = events, .data.ptr = &ready };
    if (epoll_ctl(g_epfd, EPOLL_CTL_ADD, fd, &ev) == -1)
        return errno;
    for (int64_t deadline = deadline_in(timeout_ns); !ready && ns_left(deadline) > 0;) {
        co_sleep(NS_PER_MS); /* the others run meanwhile */
        struct epoll_event got[8];
        int n = epoll_wait(g_epfd, got, 8, 0);
        CHECK_SYS(n);
        for (int i = 0; i < n; i++) /* whoever they are */
            *(bool *)got[i].data.ptr = true;
    }
    if (epoll_ctl(g_epfd, EPOLL_CTL_DEL, fd, NULL) == -1 && errno != ENOENT && errno != EBADF)
        die("epoll_ctl(DEL, %d)", fd); /* by number: whichever file has it now */
    return ready ? 0 : ETIMEDOUT;
}
#else
#define WHICH "hub.c: a record per descriptor number, and co_close"
#define wait_fd co_wait_fd
#endif

struct waiter {
    const char *name;
    int fd;
    int64_t timeout;
    int rc;          /* what wait_fd returned */
    int64_t woke;    /* when, since g_t0 */
};

static double ms(int64_t ns)
{
    return (double)ns / 1e6;
}

static void *wait_for(void *arg)
{
    struct waiter *w = arg;
    trace("%s: waits to read descriptor %d, for at most %.0f ms", w->name, w->fd, ms(w->timeout));
    w->rc = wait_fd(w->fd, EPOLLIN, w->timeout);
    w->woke = now_ns() - g_t0;
    trace("%s: woke at %.1f ms: %s", w->name, ms(w->woke), w->rc ? strerror(w->rc) : "readable");
    return NULL;
}

struct closer {
    struct waiter *a, b;
    int pipe2[2];
    bool co_close, reuse;
};

static void *close_it(void *arg)
{
    struct closer *c = arg;
    int n = c->a->fd;
    trace("B: closes descriptor %d with %s", n, c->co_close ? "co_close (the hub's way)" : "close(2)");
#ifndef HUB_SIMPLE
    if (c->co_close)
        CHECK_SYS(co_close(n));
    else
#endif
        CHECK_SYS(close(n));
    if (!c->reuse)
        return NULL;
    CHECK_SYS(pipe2(c->pipe2, O_CLOEXEC | O_NONBLOCK));
    trace("B: made pipe 2: its read end is descriptor %d%s", c->pipe2[0], c->pipe2[0] == n ? " again" : "");
    if (c->pipe2[0] != n)
        fatal("the new pipe did not get descriptor %d back: the demo would prove nothing", n);
    c->b = (struct waiter){ .name = "B", .fd = n, .timeout = g_wait_b, .rc = -1 };
    return wait_for(&c->b);
}

/* One round: A waits on pipe 1, B closes it (and with `reuse`, makes pipe 2 and
 * waits on it, and main writes a byte into pipe 2 once A's time is up). Returns true
 * if B woke for its byte (with reuse), or if A woke before its timeout (without). */
static bool one_round(bool reuse, bool co_close)
{
    int p1[2];
    CHECK_SYS(pipe2(p1, O_CLOEXEC | O_NONBLOCK));
    g_t0 = now_ns();
    struct waiter a = { .name = "A", .fd = p1[0], .timeout = g_wait_a, .rc = -1 };
    struct closer c = { .a = &a, .co_close = co_close, .reuse = reuse };
    struct hub_task *ta = hub_spawn(wait_for, &a), *tb = NULL;
    if (!ta)
        die("hub_spawn");
    hub_yield(); /* A waits now */
    if (!(tb = hub_spawn(close_it, &c)))
        die("hub_spawn");
    co_sleep(2 * g_wait_a); /* A's time is up */
    if (reuse) {
        trace("main: writes a byte into pipe 2 at %.0f ms", ms(now_ns() - g_t0));
        CHECK_SYS(write(c.pipe2[1], "x", 1));
    }
    if (hub_join(tb, g_wait_b + NS_PER_S, NULL) != 0 || hub_join(ta, NS_PER_S, NULL) != 0)
        fatal("a task did not end in time");
    CHECK_SYS(close(p1[1]));
    if (!reuse)
        return a.rc == EBADF;
    bool ok = c.b.rc == 0;
    trace("main: B %s", ok ? "woke for its byte" : "slept through its byte, and gave up at its timeout");
    CHECK_SYS(close(c.pipe2[0]));
    CHECK_SYS(close(c.pipe2[1]));
    return ok;
}

int main(int argc, char **argv)
{
    const struct cli_opt opts[] = {
        { "wait-a", CLI_DURATION, &g_wait_a, "A's timeout", 10 * NS_PER_MS, 10 * NS_PER_S, "50ms", NULL },
        { "wait-b", CLI_DURATION, &g_wait_b, "B's timeout (how long B may sleep through its byte)",
          100 * NS_PER_MS, 60 * NS_PER_S, "300ms", NULL },
        { 0 },
    };
    struct cli cli = { 0 };
    cli_parse(argc, argv, "A task closes a descriptor another task waits on; the number comes back.", opts, &cli);
    if (g_wait_b < 4 * g_wait_a)
        cli_error("--wait-b %.0f ms: at least 4 x --wait-a (%.0f ms), so that B's byte comes in time",
                  ms(g_wait_b), ms(g_wait_a));

    trace_start();
    trace("with %s", WHICH);
#ifdef HUB_SIMPLE
    CHECK_SYS(g_epfd = epoll_create1(EPOLL_CLOEXEC));
#endif
    bool ok = one_round(true, false);
#ifndef HUB_SIMPLE
    trace("main: a close(2) and no new descriptor: the hub cannot tell, A waits out its time");
    one_round(false, false);
    trace("main: co_close: the hub wakes A at once");
    ok = one_round(false, true) && ok;
#endif
    hub_close();
#ifdef HUB_SIMPLE
    CHECK_SYS(close(g_epfd));
#endif
    return ok ? 0 : 1;
}
