/* subinterpreters.c: one GIL per interpreter (PEP 684), measured against threads under
 * one GIL and against processes.
 *
 * Mirrors: Python 3.12's per-interpreter GIL and 3.14's concurrent.interpreters
 * (PEP 734): interp = interpreters.create(); interp.call(f); queue.put(obj) between
 * them. Each interpreter has its own GIL and its own objects, so its threads run in
 * parallel with other interpreters' threads, in one process; and nothing is shared, so
 * an object sent to another interpreter arrives as a copy (pickled, in CPython).
 *
 * Here an interpreter is a struct with a chapter 08 GIL of its own (and, in CPython,
 * it would also hold its modules, builtins and object heap: left out).
 *   part 1  a CPU-bound job split over N workers: N threads in one interpreter (one
 *           GIL), N interpreters of one thread each, N processes. N = 1..--max-workers.
 *   part 2  what one costs to start and end: a thread (create + join), an interpreter
 *           (its state and GIL set up, a thread run in it, all torn down), a process
 *           (fork + exit + wait).
 *   part 3  passing --messages messages of 64 B to 64 KiB to another worker through
 *           chapter 02's queue: threads of one interpreter pass a pointer to the
 *           object (8 bytes; the receiver reads the object in place); interpreters
 *           and processes pass a copy of its bytes (put copies in, get copies out).
 *           The receiver checks every message's contents.
 *
 * Run:  ./subinterpreters [--work 0.6*cores] [--max-workers max(4,cores)] [--messages 2000]
 * Look for: interpreters scaling like processes while threads stay at 1x; starting like
 * threads (our interpreter is a few structs; CPython's builds its modules, which
 * costs far more); passing data like processes, since both copy.
 * See also: ../08-gil/gil_cpu.c, ../02-queue/queue_bench.c, nogil_interp.c.
 */
#include "../08-gil/gil.h"
#include "../02-queue/queue.h"
#include "../01-process/process.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct interp { struct gil gil; };  /* one GIL (and, in CPython, everything else) */

struct worker {
    pthread_t th;
    struct gil *gil;
    uint64_t from, to, sum;
};

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct gil_thread t;
    gil_thread_init(&t, w->gil, "worker");
    gil_take(&t, GIL_START);
    w->sum = gil_run(&t, w->from, w->to);
    gil_exit(&t);
    return NULL;
}

/* N workers: threads sharing one interpreter's GIL (shared) or each in its own. */
static int64_t run_threads(int n, uint64_t job, bool own_interp, uint64_t *sum)
{
    struct interp *in = calloc((size_t)n, sizeof *in);
    struct worker *w = calloc((size_t)n, sizeof *w);
    if (!in || !w)
        die("calloc");
    int ninterp = own_interp ? n : 1;
    for (int i = 0; i < ninterp; i++)
        gil_init(&in[i].gil, &(struct gil_config){ .mode = GIL_NEW });
    int64_t t0 = now_ns();
    for (int i = 0; i < n; i++) {
        w[i] = (struct worker){ .gil = &in[own_interp ? i : 0].gil, .from = job * (uint64_t)i / (uint64_t)n,
                                .to = job * (uint64_t)(i + 1) / (uint64_t)n };
        CHECK_PT(pthread_create(&w[i].th, NULL, worker_main, &w[i]));
    }
    *sum = 0;
    for (int i = 0; i < n; i++) {
        CHECK_PT(pthread_join(w[i].th, NULL));
        *sum += w[i].sum;
    }
    int64_t ns = now_ns() - t0;
    for (int i = 0; i < ninterp; i++)
        gil_destroy(&in[i].gil);
    free(in);
    free(w);
    return ns;
}

static uint64_t proc_slice(uint64_t from, uint64_t to, void *arg)
{
    (void)arg;
    struct interp in; /* a process: an interpreter of its own, alone */
    struct worker w = { .gil = &in.gil, .from = from, .to = to };
    gil_init(&in.gil, &(struct gil_config){ .mode = GIL_NEW });
    worker_main(&w);
    gil_destroy(&in.gil);
    return w.sum;
}

/* ---- part 2: start and end one ---- */
static void *nothing(void *arg) { return arg; }

static int64_t start_cost(int kind)
{
    int64_t t0 = now_ns();
    if (kind == 2) { /* a process */
        pid_t pid = fork_child();
        if (pid == 0)
            _exit(0);
        int status;
        if (child_wait(pid, 10 * NS_PER_S, &status) != 0 || exitcode_of(status) != 0)
            fatal("a child did not exit cleanly");
    } else if (kind == 1) { /* an interpreter: its state and GIL, one thread run in it */
        struct interp *in = malloc(sizeof *in);
        if (!in)
            die("malloc");
        gil_init(&in->gil, &(struct gil_config){ .mode = GIL_NEW });
        struct worker w = { .gil = &in->gil };
        CHECK_PT(pthread_create(&w.th, NULL, worker_main, &w));
        CHECK_PT(pthread_join(w.th, NULL));
        gil_destroy(&in->gil);
        free(in);
    } else { /* a thread */
        pthread_t th;
        CHECK_PT(pthread_create(&th, NULL, nothing, NULL));
        CHECK_PT(pthread_join(th, NULL));
    }
    return now_ns() - t0;
}

/* ---- part 3: pass messages ---- */
enum pass { BY_POINTER, COPY_INTERP, COPY_PROCESS, NPASS };
static const char *const pass_name[NPASS] = { "threads, a pointer", "interpreters, a copy", "processes, a copy" };

struct channel {
    struct queue *q;
    enum pass how;
    size_t size;
    long messages;
    unsigned char *objects; /* the sender's objects: RING of them, message m is m % RING */
    long bad;               /* out: messages that arrived wrong */
};

enum { RING = 128 }; /* the sender's objects, reused: more than the queue holds plus one */
static unsigned char fill(long m, size_t i) { return (unsigned char)((m % RING) * 31 + (long)i); }

static void receive(struct channel *c)
{
    unsigned char *buf = malloc(c->size > 8 ? c->size : 8);
    if (!buf)
        die("malloc");
    for (long m = 0; m < c->messages; m++) {
        size_t len;
        if (queue_get(c->q, buf, c->size > 8 ? c->size : 8, &len, 10 * NS_PER_S) != QUEUE_OK)
            fatal("receiver: no message %ld within 10 s", m);
        const unsigned char *obj = buf;
        if (c->how == BY_POINTER)
            memcpy(&obj, buf, sizeof obj); /* the object itself, in the shared heap */
        for (size_t i = 0; i < c->size; i += 64) /* read it (every cache line) and check it */
            if (obj[i] != fill(m, i))
                c->bad++;
    }
    free(buf);
}

static void *receiver_main(void *arg)
{
    receive(arg);
    return NULL;
}

static double pass_cost(enum pass how, size_t size, long messages)
{
    struct channel c = { .how = how, .size = size, .messages = messages };
    c.q = queue_new(64, size > 8 ? size : 8);
    c.objects = malloc(size * RING);
    if (!c.objects)
        die("malloc");
    for (long m = 0; m < RING; m++)
        for (size_t i = 0; i < size; i += 64)
            c.objects[(size_t)m * size + i] = fill(m, i);
    pthread_t th;
    pid_t pid = -1;
    int64_t t0 = now_ns();
    if (how == COPY_PROCESS) {
        pid = fork_child();
        if (pid == 0) {
            receive(&c);
            _exit(c.bad == 0 ? 0 : 1);
        }
    } else {
        CHECK_PT(pthread_create(&th, NULL, receiver_main, &c));
    }
    for (long m = 0; m < messages; m++) {
        unsigned char *obj = c.objects + (size_t)(m % RING) * size;
        int rc = how == BY_POINTER ? queue_put(c.q, &obj, sizeof obj, 10 * NS_PER_S)
                                   : queue_put(c.q, obj, size, 10 * NS_PER_S);
        if (rc != QUEUE_OK)
            fatal("sender: %s", queue_status_name(rc));
    }
    if (how == COPY_PROCESS) {
        int status;
        if (child_wait(pid, 10 * NS_PER_S, &status) != 0 || exitcode_of(status) != 0)
            fatal("the receiving process found bad messages or did not end");
    } else {
        CHECK_PT(pthread_join(th, NULL));
    }
    int64_t ns = now_ns() - t0;
    if (c.bad)
        fatal("%s: %ld messages arrived wrong", pass_name[how], c.bad);
    queue_detach(c.q);
    free(c.objects);
    return (double)ns / 1e3 / (double)messages;
}

int main(int argc, char **argv)
{
    long cores = cpu_count();
    double work_m = 0.6 * (double)cores;
    long max_workers = cores < 4 ? 4 : cores > 64 ? 64 : cores, repeat = 3, messages = 2000, starts = 200;
    const struct cli_opt opts[] = {
        { "work", CLI_REAL, &work_m, "part 1's job, in millions of ticks (default 0.6 per core)", 0.01, 1000, "0.1", NULL },
        { "max-workers", CLI_INT, &max_workers, "largest number of workers (default: the cores, at least 4)", 1, 64, "3", NULL },
        { "repeat", CLI_INT, &repeat, "runs of each (the median is kept)", 1, 1000, "1", NULL },
        { "messages", CLI_INT, &messages, "part 3's messages per size", 10, 10000000, "100", NULL },
        { "starts", CLI_INT, &starts, "part 2's starts of each kind", 3, 100000, "20", NULL },
        { 0 },
    };
    struct cli cli = { .measures = true };
    cli_parse(argc, argv, "One GIL per interpreter (PEP 684): scaling, start cost and passing data, against threads "
              "and processes.", opts, &cli);
    FILE *data = data_open(cli.data, "subinterpreters: threads under one GIL, interpreters, processes");

    /* part 1 */
    enum { THREADS, INTERPS, PROCS, NWAYS };
    static const char *const way_name[NWAYS] = { "threads, 1 GIL", "interpreters", "processes" };
    uint64_t job = (uint64_t)(work_m * 1e6), expect = 0, sum;
    size_t nw = (size_t)max_workers, nr = (size_t)repeat;
    double *ms = calloc(NWAYS * nw * nr, sizeof *ms), med[NWAYS][64] = { { 0 } };
    if (!ms)
        die("calloc");
    run_threads(1, job / 4 + 1, true, &sum); /* a warm-up */
    for (size_t r = 0; r < nr; r++)
        for (int n = 1; n <= (int)nw; n = sweep_next(n, (int)cores, (int)nw))
            for (int w = 0; w < NWAYS; w++) {
                int64_t ns = w == PROCS ? process_split_sum(job, n, proc_slice, NULL, &sum)
                                        : run_threads(n, job, w == INTERPS, &sum);
                if (r == 0 && n == 1 && w == 0)
                    expect = sum;
                else if (sum != expect)
                    fatal("%s, %d workers: the work summed to %#llx, not %#llx", way_name[w], n,
                          (unsigned long long)sum, (unsigned long long)expect);
                ms[((size_t)w * nw + (size_t)n - 1) * nr + r] = (double)ns / 1e6;
            }
    printf("part 1: a job of %.2f million ticks over N workers (" CORES_FMT "), median of %ld runs (N = 1: of all %zu one-worker runs)\n",
           work_m, CORES_ARG(cores), repeat, NWAYS * nr);
    printf("  %7s %16s %16s %16s | %9s %9s %9s\n", "workers", "threads ms", "interps ms", "processes ms",
           "threads x", "interps x", "procs x");
    static const char *const cols1[] = { "workers (count)", "threads_ms (ms): N threads, one GIL",
                                         "interps_ms (ms): N interpreters, a GIL each", "procs_ms (ms): N processes",
                                         "cores (count)", NULL };
    data_block(data, "part 1: CPU-bound job vs workers", cols1);
    /* one worker is the same job in every way: their runs are pooled into one baseline,
     * which steadies it against the drifting speed of a shared machine's cores */
    double base;
    {
        double *pool = calloc(NWAYS * nr, sizeof *pool);
        if (!pool)
            die("calloc");
        for (int w = 0; w < NWAYS; w++)
            memcpy(&pool[(size_t)w * nr], &ms[(size_t)w * nw * nr], nr * sizeof *pool);
        base = summarize(pool, NWAYS * nr).median;
        free(pool);
    }
    for (int n = 1; n <= (int)nw; n = sweep_next(n, (int)cores, (int)nw)) {
        for (int w = 0; w < NWAYS; w++)
            med[w][n - 1] = n == 1 ? base : summarize(&ms[((size_t)w * nw + (size_t)n - 1) * nr], nr).median;
        printf("  %7d %16.1f %16.1f %16.1f | %8.2fx %8.2fx %8.2fx\n", n, med[0][n - 1], med[1][n - 1], med[2][n - 1],
               base / med[0][n - 1], base / med[1][n - 1], base / med[2][n - 1]);
        data_row(data, "%d %.3f %.3f %.3f %ld\n", n, med[0][n - 1], med[1][n - 1], med[2][n - 1], cores);
    }
    printf("every run's work matched the first run's sum\n");
    free(ms);

    /* part 2 */
    static const char *const start_name[3] = { "a thread", "an interpreter", "a process" };
    static const char *const cols2[] = { "kind (index): 0 thread, 1 interpreter, 2 process", "median (us)",
                                         "p10 (us)", "p90 (us)", NULL };
    data_block(data, "part 2: start and end one", cols2);
    printf("part 2: start one, run nothing in it, end it; median of %ld\n", starts);
    double *us = calloc((size_t)starts, sizeof *us);
    if (!us)
        die("calloc");
    for (int k = 0; k < 3; k++) {
        start_cost(k); /* warm-up */
        for (long i = 0; i < starts; i++)
            us[i] = (double)start_cost(k) / 1e3;
        struct summary s = summarize(us, (size_t)starts);
        printf("  %-16s %8.1f µs  (p10 %.1f, p90 %.1f)\n", start_name[k], s.median, s.p10, s.p90);
        data_row(data, "%d %.2f %.2f %.2f\n", k, s.median, s.p10, s.p90);
    }
    free(us);

    /* part 3 */
    static const size_t sizes[] = { 64, 1024, 4096, 16384, 65536 };
    static const char *const cols3[] = { "size (bytes): one message", "pointer_us (us): threads pass a pointer",
                                         "interp_us (us): interpreters pass a copy",
                                         "proc_us (us): processes pass a copy", NULL };
    data_block(data, "part 3: us per message vs size", cols3);
    printf("part 3: µs per message through chapter 02's queue, %ld messages, median of %ld\n", messages, repeat);
    printf("  %8s %22s %22s %22s\n", "bytes", pass_name[0], pass_name[1], pass_name[2]);
    double *v = calloc(nr, sizeof *v);
    if (!v)
        die("calloc");
    for (size_t z = 0; z < ARRAY_LEN(sizes); z++) {
        double cost[NPASS];
        for (int p = 0; p < NPASS; p++) {
            for (size_t r = 0; r < nr; r++)
                v[r] = pass_cost((enum pass)p, sizes[z], messages);
            cost[p] = summarize(v, nr).median;
        }
        printf("  %8zu %22.2f %22.2f %22.2f\n", sizes[z], cost[0], cost[1], cost[2]);
        data_row(data, "%zu %.3f %.3f %.3f\n", sizes[z], cost[0], cost[1], cost[2]);
    }
    printf("every message arrived intact\n");
    free(v);
    data_close(data);
    return 0;
}
