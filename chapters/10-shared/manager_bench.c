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
 * always an item for every get. The processes start together (together.c); the time
 * is from the start to the last one's finish, divided by all the pairs (P x pairs):
 * the cost of one put+get when P processes share the queue. The
 * queue and the pipe do --pairs x 10 each, to run long enough to time. Each point is
 * the median of --repeat runs, round robin over the three; P goes from 1 to twice the
 * cores (every count to 8, then common.h's sweep_next: 12, 16, 24, 32 ...).
 *
 * Run:  ./manager_bench [--pairs 2000] [--size 64] [--repeat 5] [--data FILE]
 * Look for: the manager at ten microseconds or more per pair, far above the pipe and further
 * above the shared-memory queue, and the ratios between them.
 * See also: manager.c, ../02-queue/queue_bench.c (throughput of the queue and a pipe).
 */
#include "manager.h"
#include "../02-queue/queue.h"
#include "together.h"

#include <string.h>
#include <unistd.h>

enum transport { T_MANAGER, T_QUEUE, T_PIPE, NT };
static const char *const tname[NT] = { "manager", "queue", "pipe" };
enum { MAX_PROCS = TOGETHER_MAX, MAX_SIZE = 4096 };

static long g_size = 64;

struct setup {
    struct mgr_proxy q;   /* manager */
    struct queue *sq;     /* chapter 02 */
    int pipe[2];
};

struct job {
    enum transport t;
    struct setup *s;
    long n;
};

/* before the start: connect to the manager, so that connecting is not timed */
static int connect_first(int p, void *arg)
{
    const struct job *j = arg;
    long dummy;
    (void)p;
    return j->t == T_MANAGER && mgr_len(&j->s->q, &dummy) != MGR_OK ? 5 : 0;
}

/* one process's part: n put+get pairs; 0, or an exit code for a failure */
static int pairs(int p, void *arg)
{
    const struct job *j = arg;
    char item[MAX_SIZE], back[MAX_SIZE];
    memset(item, 'x', sizeof item);
    size_t len;
    (void)p;
    for (long i = 0; i < j->n; i++) {
        switch (j->t) {
        case T_MANAGER:
            if (mgr_put(&j->s->q, item, (size_t)g_size, MGR_FOREVER) != MGR_OK ||
                mgr_get(&j->s->q, back, sizeof back, &len, 30 * NS_PER_S) != MGR_OK)
                return 2;
            break;
        case T_QUEUE:
            if (queue_put(j->s->sq, item, (size_t)g_size, QUEUE_FOREVER) != QUEUE_OK ||
                queue_get(j->s->sq, back, sizeof back, &len, 30 * NS_PER_S) != QUEUE_OK)
                return 3;
            break;
        case T_PIPE:
            if (write_all(j->s->pipe[1], item, (size_t)g_size) == -1 ||
                read_all(j->s->pipe[0], back, (size_t)g_size) != g_size)
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
    struct job j = { t, s, n };
    int64_t ns = together(procs, connect_first, pairs, &j, tname[t]);
    return (double)ns / 1e3 / ((double)procs * (double)n);
}

int main(int argc, char **argv)
{
    long cores = cpu_count();
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
    for (long p = 1; p <= max_procs; p = sweep_next((int)p, (int)cores, (int)max_procs)) {
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
        for (long p = 1; p <= max_procs; p = sweep_next((int)p, (int)cores, (int)max_procs))
            data_row(f, "%ld %.3f %.3f %.3f\n", p, res[p][t][0], res[p][t][1], res[p][t][2]);
    }
    data_close(f);
    long left;
    if (mgr_len(&s.q, &left) != MGR_OK || left != 0 || queue_qsize(s.sq) != 0)
        fatal("items left behind: %ld in the manager's queue, %ld in the shared one", left, queue_qsize(s.sq));
    printf("every item put was got back; the manager round trip is what CPython's proxies pay on each call\n");
    printf("one process: a put+get through the manager cost %.1fx the shared-memory queue's and %.1fx the pipe's\n",
           res[1][T_MANAGER][0] / res[1][T_QUEUE][0], res[1][T_MANAGER][0] / res[1][T_PIPE][0]);
    CHECK_SYS(close(s.pipe[0]));
    CHECK_SYS(close(s.pipe[1]));
    queue_detach(s.sq);
    manager_shutdown(m);
    return 0;
}
