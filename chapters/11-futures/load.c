/* load.c: the loopback server, the tasks, and the helpers of the workloads (load.h).
 *
 * The server is a child process running chapter 07's hub: an acceptor coroutine, and
 * one coroutine per connection that reads a request { id, delay }, sleeps `delay` on
 * the hub (co_sleep: the other connections go on), and writes back mix64(id). So one
 * thread holds every connection, however many, and each reply leaves on time. It
 * listens on 127.0.0.1, port 0 (the kernel picks a free one), and ends by SIGTERM
 * (server_stop), or SIGKILL when its parent dies (fork_child), so it is never left
 * behind.
 *
 * A client closes each connection with a reset (SO_LINGER with a zero timeout) once it
 * has its reply. A normal close would leave the connection in TIME_WAIT for a minute,
 * holding its ephemeral port: the runs here make tens of thousands of connections, and
 * the kernel has about 28,000 such ports for one address.
 */
#include "load.h"
#include "../07-coroutine/hub.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

struct request {
    uint64_t id;
    int64_t delay;
};

/* ---- the server ---- */

static volatile pid_t g_server_pid;

static ssize_t co_read_all(int fd, void *buf, size_t len)
{
    size_t got = 0;
    while (got < len) {
        ssize_t n = co_read(fd, (char *)buf + got, len - got);
        if (n <= 0)
            return n;
        got += (size_t)n;
    }
    return (ssize_t)got;
}

static void *serve(void *arg)
{
    int fd = (int)(intptr_t)arg;
    struct request r;
    while (co_read_all(fd, &r, sizeof r) == (ssize_t)sizeof r) {
        if (r.delay > 0)
            co_sleep(r.delay);
        uint64_t reply = mix64(r.id);
        if (co_write(fd, &reply, sizeof reply) != (ssize_t)sizeof reply)
            break;
    }
    co_close(fd); /* end of file, or the client's reset */
    return NULL;
}

static void *acceptor(void *arg)
{
    int lfd = (int)(intptr_t)arg;
    for (;;) {
        int fd = co_accept(lfd, NULL, NULL);
        if (fd == -1)
            die_child("server: accept");
        struct hub_task *t = hub_spawn(serve, (void *)(intptr_t)fd);
        if (!t)
            die_child("server: hub_spawn");
        hub_detach(t);
    }
    return NULL;
}

void server_start(struct server *s)
{
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (lfd == -1)
        die("server: socket");
    s->addr = (struct sockaddr_in){ .sin_family = AF_INET, .sin_port = 0,
                                    .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    CHECK_SYS(bind(lfd, (struct sockaddr *)&s->addr, sizeof s->addr));
    CHECK_SYS(listen(lfd, SOMAXCONN));
    socklen_t alen = sizeof s->addr;
    CHECK_SYS(getsockname(lfd, (struct sockaddr *)&s->addr, &alen));
    s->pid = fork_child();
    if (s->pid == 0) {
        trace_name("server");
        hub_nonblock(lfd);
        struct hub_task *t = hub_spawn(acceptor, (void *)(intptr_t)lfd);
        if (!t)
            die_child("server: hub_spawn");
        hub_join(t, -1, NULL); /* never returns: the server ends by a signal */
        _exit(1);
    }
    g_server_pid = s->pid;
    CHECK_SYS(close(lfd));
}

void server_stop(struct server *s)
{
    if (s->pid <= 0)
        return;
    CHECK_SYS(kill(s->pid, SIGTERM));
    int status;
    if (child_wait(s->pid, 5 * NS_PER_S, &status) == ETIMEDOUT) {
        CHECK_SYS(kill(s->pid, SIGKILL));
        child_wait(s->pid, -1, &status);
    }
    s->pid = g_server_pid = 0;
}

void server_kill_now(void)
{
    if (g_server_pid > 0)
        kill(g_server_pid, SIGKILL);
}

/* ---- a request ---- */

static void reset_close(int fd, bool hub)
{
    struct linger lg = { .l_onoff = 1, .l_linger = 0 }; /* no TIME_WAIT: see the top */
    CHECK_SYS(setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg));
    CHECK_SYS(hub ? co_close(fd) : close(fd));
}

/* the reply, checked; the GIL (if t) dropped around each blocking call */
static uint64_t request_blocking(const struct load *l, struct load_stats *st, long i, struct gil_thread *t)
{
    struct request r = { .id = (uint64_t)i, .delay = l->delay };
    uint64_t reply = 0;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd == -1)
        die("socket (task %ld)", i);
    if (t)
        gil_io_begin(t);
    bool ok = connect(fd, (const struct sockaddr *)&l->server, sizeof l->server) == 0 &&
              write_all(fd, &r, sizeof r) == 0 && read_all(fd, &reply, sizeof reply) == (ssize_t)sizeof reply;
    int err = errno;
    if (t)
        gil_io_end(t);
    if (!ok)
        die_en(err, "request %ld to the server", i);
    reset_close(fd, false);
    if (reply != mix64(r.id))
        atomic_fetch_add(&st->wrong, 1);
    return reply;
}

static uint64_t request_hub(const struct load *l, struct load_stats *st, long i)
{
    struct request r = { .id = (uint64_t)i, .delay = l->delay };
    uint64_t reply = 0;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd == -1)
        die("socket (task %ld)", i);
    if (co_connect(fd, (const struct sockaddr *)&l->server, sizeof l->server) == -1 ||
        co_write(fd, &r, sizeof r) != (ssize_t)sizeof r ||
        co_read_all(fd, &reply, sizeof reply) != (ssize_t)sizeof reply)
        die("request %ld to the server (on the hub)", i);
    reset_close(fd, true);
    if (reply != mix64(r.id))
        atomic_fetch_add(&st->wrong, 1);
    return reply;
}

/* ---- a task ---- */

bool task_begin(const struct load *l, struct load_stats *st)
{
    if (now_ns() >= l->deadline) {
        atomic_fetch_add(&st->skipped, 1);
        return false;
    }
    long now = atomic_fetch_add(&st->in_flight, 1) + 1;
    long peak = atomic_load(&st->peak);
    while (now > peak && !atomic_compare_exchange_weak(&st->peak, &peak, now))
        ;
    return true;
}

uint64_t task_request(const struct load *l, struct load_stats *st, long i, enum io_how how, struct gil_thread *t)
{
    if (!l->io)
        return 0;
    return how == IO_HUB ? request_hub(l, st, i) : request_blocking(l, st, i, t);
}

static uint64_t cpu_work(uint64_t from, uint64_t n)
{
    uint64_t sum = 0;
    for (uint64_t k = from; k < from + n; k++)
        sum += gil_work(k);
    return sum;
}

void task_end(const struct load *l, struct load_stats *st, long i, uint64_t part, struct gil_thread *t)
{
    uint64_t from = (uint64_t)i * l->ticks;
    part += t ? gil_run(t, from, from + l->ticks) : cpu_work(from, l->ticks);
    atomic_fetch_add(&st->check, part);
    atomic_fetch_sub(&st->in_flight, 1);
    atomic_fetch_add(&st->done, 1);
}

bool task_run(const struct load *l, struct load_stats *st, long i, enum io_how how, struct gil_thread *t)
{
    if (!task_begin(l, st))
        return false;
    task_end(l, st, i, task_request(l, st, i, how, t), t);
    return true;
}

double tick_ns(int64_t cpu_ns)
{
    struct timespec a, b;
    CHECK_SYS(clock_gettime(CLOCK_THREAD_CPUTIME_ID, &a));
    uint64_t n = 0, sum = 0;
    int64_t used;
    do {
        sum += cpu_work(n, 4096);
        n += 4096;
        CHECK_SYS(clock_gettime(CLOCK_THREAD_CPUTIME_ID, &b));
        used = ts_to_ns(b) - ts_to_ns(a);
    } while (used < cpu_ns);
    if (sum == 42) /* keep the work: the sum is used */
        fprintf(stderr, "(an unlikely sum)\n");
    return (double)used / (double)n;
}

uint64_t load_expected(const struct load *l)
{
    uint64_t sum = cpu_work(0, (uint64_t)l->tasks * l->ticks);
    for (long i = 0; l->io && i < l->tasks; i++)
        sum += mix64((uint64_t)i);
    return sum;
}

/* ---- helpers ---- */

long private_kib(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/smaps_rollup", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0; /* ended meanwhile */
    long kb, sum = 0;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "Private_Clean: %ld kB", &kb) == 1 || sscanf(line, "Private_Dirty: %ld kB", &kb) == 1)
            sum += kb;
    fclose(f);
    return sum;
}

long private_kib_tree(pid_t pid)
{
    long sum = private_kib(pid);
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task/%d/children", (int)pid, (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return sum;
    int child;
    while (fscanf(f, "%d", &child) == 1)
        sum += private_kib(child);
    fclose(f);
    return sum;
}

void raise_fd_limit(long need)
{
    struct rlimit rl;
    CHECK_SYS(getrlimit(RLIMIT_NOFILE, &rl));
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur >= (rlim_t)need)
        return;
    if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < (rlim_t)need)
        fatal("%ld open files are needed, and the hard limit is %llu (ulimit -Hn)", need,
              (unsigned long long)rl.rlim_max);
    rl.rlim_cur = (rlim_t)need;
    CHECK_SYS(setrlimit(RLIMIT_NOFILE, &rl));
}
