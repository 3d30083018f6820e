/* asyncio_demo.c: asyncio's own shape in C: stackless tasks, sleep, gather, a socket.
 *
 * Mirrors: the lesson's asyncio programs, which run coroutines on an event loop:
 *
 *     async def work(name, secs):              static bool work(struct aio_task *t)
 *         print(name, "starts")                {   ... GEN_BEGIN(&t->gen);
 *         await asyncio.sleep(secs)                trace(...starts);
 *         return name.upper()                      AIO_SLEEP(t, w->ns);
 *                                                  ... GEN_END(&t->gen); }
 *     async def main():
 *         tasks = [asyncio.create_task(work(n, s)) for ...]     aio_spawn(...)
 *         print(await asyncio.gather(*tasks))                    AIO_GATHER(t, ...)
 *     asyncio.run(main())                                        aio_run(&m.task, main_step)
 *
 * What it shows: the tasks are stackless (aio.h): each is a struct and a step function
 * on chapter 07's generator.h, nothing else. An await returns from the step function
 * to the loop; the loop (aio.c: epoll and a timer heap) calls it again when the timer
 * fires or the socket is ready. Three workers sleep different times and finish in the
 * order of their sleeps; gather hands back their results in the order of the tasks,
 * as asyncio.gather does. Then an echo over a socket pair: the server task awaits a
 * read (the loop waits in epoll meanwhile), the client task writes after a sleep and
 * awaits the echo. At the end it prints what a task weighs: the bytes of its struct.
 *
 * Run:  ./asyncio_demo [--scale 1]
 * Look for: "starts" lines together, "done" lines in the order of the sleeps, the
 * gathered results in task order, the total close to the longest sleep, and a task of
 * a few dozen bytes.
 * See also: aio.h (the API), gevent_demo.c (the same with stackful tasks),
 * many_sleepers.c (a million of them).
 */
#include "common.h"
#include "aio.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static double g_scale = 1.0;

struct work {
    struct aio_task task;      /* first: the loop's part */
    const char *name;
    int64_t ns;
    char result[16];
};

static bool work(struct aio_task *t)
{
    struct work *w = (struct work *)t;
    GEN_BEGIN(&t->gen);
    trace("  %s starts, sleeps %.0f ms", w->name, (double)w->ns / 1e6);
    AIO_SLEEP(t, w->ns);                              /* await asyncio.sleep(secs) */
    for (size_t i = 0; w->name[i] && i + 1 < sizeof w->result; i++)
        w->result[i] = (char)(w->name[i] - 'a' + 'A'); /* return name.upper() */
    trace("  %s done", w->name);
    GEN_END(&t->gen);
}

struct echo {
    struct aio_task server, client;
    int fd[2];
    char buf[32], back[32];
    ssize_t got, sent, echoed, answer;
};

static bool server(struct aio_task *t)
{
    struct echo *e = (struct echo *)t;
    GEN_BEGIN(&t->gen);
    trace("  server: awaiting a read");
    AIO_READ(t, e->fd[0], e->buf, sizeof e->buf, &e->got);      /* await sock_recv */
    trace("  server: got %zd bytes, echoing them", e->got);
    AIO_WRITE(t, e->fd[0], e->buf, (size_t)e->got, &e->echoed); /* await sock_sendall */
    GEN_END(&t->gen);
}

static bool client(struct aio_task *t)
{
    struct echo *e = (struct echo *)((char *)t - offsetof(struct echo, client));
    GEN_BEGIN(&t->gen);
    AIO_SLEEP(t, (int64_t)(0.1 * g_scale * 1e9));
    trace("  client: sending \"hello, loop\"");
    AIO_WRITE(t, e->fd[1], "hello, loop", 11, &e->sent);
    AIO_READ(t, e->fd[1], e->back, sizeof e->back - 1, &e->answer);
    trace("  client: the echo is \"%s\"", e->answer > 0 ? e->back : "");
    GEN_END(&t->gen);
}

struct main_task {
    struct aio_task task;
    struct work w[3];
    struct aio_task *all[3];
    struct echo e;
    struct aio_task *both[2];
    int64_t t0;
};

static bool main_step(struct aio_task *t)
{
    struct main_task *m = (struct main_task *)t;
    static const char *const names[3] = { "alpha", "beta", "gamma" };
    static const double secs[3] = { 0.3, 0.1, 0.2 };
    GEN_BEGIN(&t->gen);
    m->t0 = now_ns();
    for (int i = 0; i < 3; i++) {
        aio_spawn(&m->w[i].task, work);               /* asyncio.create_task(...) */
        m->w[i].name = names[i];
        m->w[i].ns = (int64_t)(secs[i] * g_scale * 1e9);
        m->all[i] = &m->w[i].task;
    }
    AIO_GATHER(t, m->all, 3);                         /* await asyncio.gather(*tasks) */
    trace("main: gather returned [%s, %s, %s] after %.3f s", m->w[0].result, m->w[1].result,
          m->w[2].result, (double)(now_ns() - m->t0) / 1e9);
    aio_spawn(&m->e.server, server);
    aio_spawn(&m->e.client, client);
    m->both[0] = &m->e.server;
    m->both[1] = &m->e.client;
    AIO_GATHER(t, m->both, 2);
    GEN_END(&t->gen);
}

int main(int argc, char **argv)
{
    const struct cli_opt opts[] = {
        { "scale", CLI_REAL, &g_scale, "seconds per unit of sleep (the workers sleep 0.1-0.3 units)",
          0.001, 10, "0.1", NULL },
        { 0 },
    };
    struct cli cli = { 0 };
    cli_parse(argc, argv,
              "asyncio's shape with stackless tasks: create_task, sleep, gather and a socket\n"
              "on an epoll event loop.", opts, &cli);
    trace_start();
    struct main_task m;
    memset(&m, 0, sizeof m);
    CHECK_SYS(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, m.e.fd));
    trace("main: asyncio.run(main())");
    int rc = aio_run(&m.task, main_step);
    if (rc != 0)
        fatal("aio_run: %s", strerror(rc));
    CHECK_SYS(aio_close(m.e.fd[0]));
    CHECK_SYS(aio_close(m.e.fd[1]));
    trace("main: a task is %zu bytes (struct aio_task), a worker with its state %zu; "
          "no stack of its own", sizeof(struct aio_task), sizeof(struct work));
    return m.e.answer == 11 && strcmp(m.e.back, "hello, loop") == 0 ? 0 : 1;
}
