/* gil_workload.c: CPU-bound hogs, an echo server and an I/O-bound pinger (see gil_workload.h). */
#include "gil_workload.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

static void *hog_main(void *arg)
{
    struct hog *h = arg;
    if (h->cpu >= 0)
        pin_to_cpu(h->cpu);
    gil_take(&h->t, GIL_START);
    h->ticks = gil_run_until(&h->t, h->stop, &h->sum);
    gil_exit(&h->t);
    return NULL;
}

void hogs_start(struct hog *h, int n, struct gil *g, const atomic_bool *stop, int cpu)
{
    for (int i = 0; i < n; i++) {
        snprintf(h[i].name, sizeof h[i].name, "hog%d", i + 1);
        gil_thread_init(&h[i].t, g, h[i].name);
        h[i].stop = stop;
        h[i].cpu = cpu;
        h[i].ticks = h[i].sum = 0;
        CHECK_PT(pthread_create(&h[i].th, NULL, hog_main, &h[i]));
    }
}

void hogs_join(struct hog *h, int n)
{
    for (int i = 0; i < n; i++)
        CHECK_PT(pthread_join(h[i].th, NULL));
}

int place(enum placement pl, bool io)
{
    if (pl == CPU_FREE)
        return -1;
    if (pl == CPU_ONE || cpu_count() < 2)
        return cpu_nth(0);
    return cpu_nth(io ? 1 : 0);
}

static void *echo_main(void *arg)
{
    struct echo *e = arg;
    char buf[256];
    if (e->cpu >= 0)
        pin_to_cpu(e->cpu);
    tight_timer_slack(); /* a short sleep should not end the slack late (../04-thread/wakeup.c) */
    for (;;) {
        ssize_t got = read(e->server_fd, buf, sizeof buf);
        if (got == 0)
            break; /* the client closed its end */
        if (got < 0)
            die("echo: read");
        sleep_ns(e->delay);
        if (write(e->server_fd, buf, (size_t)got) != got)
            die("echo: write");
    }
    CHECK_SYS(close(e->server_fd));
    return NULL;
}

void echo_start(struct echo *e, int cpu, int64_t delay)
{
    e->cpu = cpu;
    e->delay = delay;
    int sv[2];
    CHECK_SYS(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
    e->fd = sv[0];
    e->server_fd = sv[1];
    CHECK_PT(pthread_create(&e->th, NULL, echo_main, e));
}

void echo_stop(struct echo *e)
{
    CHECK_SYS(close(e->fd));
    CHECK_PT(pthread_join(e->th, NULL));
}

/* one blocking call, with the GIL dropped around it; the wait to take it back is kept */
static void note_retake(struct pinger *p, int64_t waited)
{
    if (p->nretake < 2 * p->cap)
        p->retake[p->nretake++] = waited;
}

static void *pinger_main(void *arg)
{
    struct pinger *p = arg;
    char c = 'x';
    uint64_t sum = 0, tick = 0;
    if (p->cpu >= 0)
        pin_to_cpu(p->cpu);
    gil_take(&p->t, GIL_START);
    int64_t start = now_ns();
    while (!atomic_load_explicit(p->stop, memory_order_relaxed)) {
        int64_t t0 = now_ns();
        gil_io_begin(&p->t); /* sock.send(b"x") */
        ssize_t rc = write(p->fd, &c, 1);
        note_retake(p, gil_io_end(&p->t));
        if (rc != 1)
            die("pinger: write");
        gil_io_begin(&p->t); /* sock.recv(1) */
        rc = read(p->fd, &c, 1);
        note_retake(p, gil_io_end(&p->t));
        if (rc != 1)
            die("pinger: read");
        if (p->n < p->cap)
            p->rtt[p->n++] = now_ns() - t0;
        p->requests++;
        sum += gil_run(&p->t, tick, tick + (uint64_t)p->work); /* a little Python per request */
        tick += (uint64_t)p->work;
    }
    p->elapsed = now_ns() - start;
    gil_exit(&p->t);
    if (sum == 42)
        fprintf(stderr, "(an unlikely sum)\n");
    return NULL;
}

void pinger_start(struct pinger *p, struct gil *g, int fd, const atomic_bool *stop, long work, size_t cap,
                  int cpu)
{
    p->cpu = cpu;
    gil_thread_init(&p->t, g, "pinger");
    p->stop = stop;
    p->fd = fd;
    p->work = work;
    p->cap = cap;
    p->n = p->nretake = 0;
    p->requests = 0;
    p->elapsed = 0;
    p->rtt = malloc(cap * sizeof *p->rtt);
    p->retake = malloc(2 * cap * sizeof *p->retake);
    if (!p->rtt || !p->retake)
        die("malloc");
    CHECK_PT(pthread_create(&p->th, NULL, pinger_main, p));
}

void pinger_join(struct pinger *p)
{
    CHECK_PT(pthread_join(p->th, NULL));
}

void pinger_free(struct pinger *p)
{
    free(p->rtt);
    free(p->retake);
    p->rtt = p->retake = NULL;
}

struct summary summary_us(const int64_t *ns, size_t n)
{
    if (n == 0)
        return (struct summary){ 0 };
    double *v = malloc(n * sizeof *v);
    if (!v)
        die("malloc");
    for (size_t i = 0; i < n; i++)
        v[i] = (double)ns[i] / 1e3;
    struct summary s = summarize(v, n);
    free(v);
    return s;
}
