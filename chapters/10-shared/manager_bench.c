/* manager_bench.c: what a put and a get cost through a manager, against a queue in
 * shared memory and a pipe.
 *
 * Mirrors: the price of Manager().Queue(): in CPython every method call on a proxy is
 * a round trip to the manager's process (Lib/multiprocessing/managers.py,
 * BaseProxy._callmethod: conn.send((id, method, args, kwds)), then conn.recv()), where
 * a multiprocessing.Queue's put hands the item to a feeder thread of its own process
 * that writes it to a pipe (Lib/multiprocessing/queues.py, Queue._feed).
 *
 * P processes each put a --size byte item on one shared queue and get one back, --pairs
 * times (an item may come back to another process: the queue is shared). Three queues:
 *   manager  manager.c's queue, in the server process: put and get are two round trips
 *            over a Unix socket, two sleeps and two wake-ups of the server's threads;
 *   queue    chapter 02's queue in shared memory: a lock, a copy in, a copy out, no
 *            system call unless somebody has to wait;
 *   pipe     one pipe for everybody: a write and a read system call (items are smaller
 *            than PIPE_BUF, so each lands whole).
 * Nobody can wait for ever: each process gets only after it has put, so there is
 * always an item for every get. The processes start together (a start line in shared
 * memory); the time is from the start to the last one's finish, divided by all the
 * pairs (P x pairs): the cost of one put+get when P processes share the queue. The
 * queue and the pipe do --pairs x 10 each, to run long enough to time. Each point is
 * the median of --repeat runs, round robin over the three; P goes from 1 to twice the
 * cores.
 *
 * Run:  ./manager_bench [--pairs 2000] [--size 64] [--repeat 5] [--data FILE]
 * Look for: the manager tens of microseconds per pair, far above the pipe and further
 * above the shared-memory queue, and the ratios between them.
 * See also: manager.c, ../02-queue/queue_bench.c (throughput of the queue and a pipe).
 */
#include "manager.h"
#include "../02-queue/queue.h"

#include <sched.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

enum transport { T_MANAGER, T_QUEUE, T_PIPE, NT };
static const char *const tname[NT] = { "manager", "queue", "pipe" };
enum { MAX_PROCS = 64, MAX_SIZE = 4096 };

struct control {
    _Atomic int arrived, go;
    _Atomic int64_t done[MAX_PROCS];
};
static struct control *g_ctl;
static long g_size = 64;

struct setup {
    struct mgr_proxy q;   /* manager */
    struct queue *sq;     /* chapter 02 */
    int pipe[2];
};

/* one process's part: n put+get pairs; returns 0, or an exit code for a failure */
static int pairs(enum transport t, struct setup *s, long n)
{
    char item[MAX_SIZE], back[MAX_SIZE];
    memset(item, 'x', sizeof item);
    size_t len;
    for (long i = 0; i < n; i++) {
        switch (t) {
        case T_MANAGER:
            if (mgr_put(&s->q, item, (size_t)g_size, MGR_FOREVER) != MGR_OK ||
                mgr_get(&s->q, back, sizeof back, &len, 30 * NS_PER_S) != MGR_OK)
                return 2;
            break;
        case T_QUEUE:
            if (queue_put(s->sq, item, (size_t)g_size, QUEUE_FOREVER) != QUEUE_OK ||
                queue_get(s->sq, back, sizeof back, &len, 30 * NS_PER_S) != QUEUE_OK)
                return 3;
            break;
        case T_PIPE:
            if (write_all(s->pipe[1], item, (size_t)g_size) == -1 ||
                read_all(s->pipe[0], back, (size_t)g_size) != g_size)
                return 4;
            break;
        case NT:
            break;
        }
    }
    return 0;
}

/* P processes, released together; returns µs per put+get pair, over all of them */
static double run(enum transport t, struct setup *s, int procs, long n)
{
    atomic_store(&g_ctl->arrived, 0);
    atomic_store(&g_ctl->go, 0);
    pid_t pids[MAX_PROCS];
    for (int p = 0; p < procs; p++) {
        pids[p] = fork_child();
        if (pids[p] == 0) {
            long dummy;
            if (t == T_MANAGER && mgr_len(&s->q, &dummy) != MGR_OK) /* connect before the start */
                _exit(5);
            atomic_fetch_add(&g_ctl->arrived, 1);
            while (!atomic_load(&g_ctl->go))
                sched_yield();
            int rc = pairs(t, s, n);
            atomic_store(&g_ctl->done[p], now_ns());
            _exit(rc);
        }
    }
    while (atomic_load(&g_ctl->arrived) < procs)
        sched_yield();
    int64_t t0 = now_ns(), last = t0;
    atomic_store(&g_ctl->go, 1);
    for (int p = 0; p < procs; p++) {
        int status;
        child_wait(pids[p], -1, &status);
        if (exitcode_of(status) != 0)
            fatal("%s: process %d failed (exit code %d): %s", tname[t], (int)pids[p], exitcode_of(status),
                  t == T_MANAGER ? "a manager call failed" : "a put or get failed");
        int64_t d = atomic_load(&g_ctl->done[p]);
        last = d > last ? d : last;
    }
    return (double)(last - t0) / 1e3 / ((double)procs * (double)n);
}

int main(int argc, char **argv)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    long npairs = 2000, repeat = 5;
    const struct cli_opt opts[] = {
        { "pairs", CLI_INT, &npairs, "put+get pairs per process through the manager (x10 for the others)", 1,
          10000000, "200", NULL },
        { "size", CLI_INT, &g_size, "bytes per item", 1, MAX_SIZE, NULL, NULL },
        { "repeat", CLI_INT, &repeat, "runs per point (the median is reported)", 1, 101, "1", NULL },
        { 0 },
    };
    struct cli cli = { .measures = true };
    cli_parse(argc, argv, "A put+get through a manager against a queue in shared memory and a pipe.", opts, &cli);
    g_ctl = mmap(NULL, sizeof *g_ctl, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (g_ctl == MAP_FAILED)
        die("mmap");

    struct manager *m = manager_start(0);
    struct setup s = { .q = manager_proxy(m, MGR_QUEUE), .sq = queue_new(MAX_PROCS, MAX_SIZE) };
    CHECK_SYS(pipe(s.pipe));

    long max_procs = 2 * cores < MAX_PROCS ? 2 * cores : MAX_PROCS;
    FILE *f = data_open(cli.data, "manager_bench: one put and one get, through a manager, a shared-memory queue, a pipe");
    static const char *const cols[] = { "procs: processes sharing the queue",
                                        "us_median (us): wall time / all put+get pairs, median",
                                        "us_p10 (us)", "us_p90 (us)", NULL };
    double res[MAX_PROCS + 1][NT][3];
    printf("µs per put+get of %ld bytes (wall time / all pairs; median of %ld)\n%6s %10s %10s %10s %14s %14s\n",
           g_size, repeat, "procs", "manager", "queue", "pipe", "manager/queue", "manager/pipe");
    for (long p = 1; p <= max_procs; p++) {
        double v[NT][101];
        for (long r = 0; r < repeat; r++)
            for (int t = 0; t < NT; t++)
                v[t][r] = run((enum transport)t, &s, (int)p, t == T_MANAGER ? npairs : 10 * npairs);
        for (int t = 0; t < NT; t++) {
            struct summary sm = summarize(v[t], (size_t)repeat);
            res[p][t][0] = sm.median, res[p][t][1] = sm.p10, res[p][t][2] = sm.p90;
        }
        printf("%6ld %10.2f %10.3f %10.2f %13.0fx %13.1fx\n", p, res[p][0][0], res[p][1][0], res[p][2][0],
               res[p][0][0] / res[p][1][0], res[p][0][0] / res[p][2][0]);
    }
    for (int t = 0; t < NT; t++) {
        data_block(f, tname[t], cols);
        for (long p = 1; p <= max_procs; p++)
            data_row(f, "%ld %.3f %.3f %.3f\n", p, res[p][t][0], res[p][t][1], res[p][t][2]);
    }
    data_close(f);
    long left;
    if (mgr_len(&s.q, &left) != MGR_OK || left != 0 || queue_qsize(s.sq) != 0)
        fatal("items left behind: %ld in the manager's queue, %ld in the shared one", left, queue_qsize(s.sq));
    printf("every item put was got back; the manager round trip is what CPython's proxies pay on each call\n");
    CHECK_SYS(close(s.pipe[0]));
    CHECK_SYS(close(s.pipe[1]));
    queue_detach(s.sq);
    manager_shutdown(m);
    CHECK_SYS(munmap(g_ctl, sizeof *g_ctl));
    return 0;
}
