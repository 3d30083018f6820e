/* solutions/sharded.c: exercise 3 of chapter 02 (queues).
 *
 * The question: queue_bench's 2/2 run puts four processes on one queue, one lock. Give
 * each producer a queue of its own and a consumer of its own: how fast does 2/2 go then,
 * and what is given up?
 *
 * The answer: each pair runs as fast as a lone 1/1 pair, as long as every process has
 * a core (with two pairs on a 2-core machine they share the two cores, and the total
 * stays near one pair's). What one lock costs four processes is a cache line passed
 * round all of them and their waits on each other; separate queues share nothing. The
 * price: no order across producers any more, and no balancing: a consumer whose
 * producer is slow sits idle while the other queue fills. (Between the two: each
 * consumer empties its own queue first and then looks at the others, which is what
 * work-stealing schedulers do.)
 *
 * What it does: --messages messages of 64 bytes per producer, three ways: 1 producer
 * and 1 consumer on one queue; 2 and 2 on one queue; 2 and 2 on two queues, a pair on
 * each. Each consumer counts and sums what it gets (a lost or doubled message stops
 * the program); the time runs from the start signal to the last consumer done. Round
 * robin over the three ways, --repeat rounds, medians.
 *
 * Run:  solutions/sharded [--messages 200000] [--repeat 5]
 * Look for: 2/2 on two queues well ahead of 2/2 on one, in messages per second.
 */
#include "../queue.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

enum { MSG = 64 };
enum way { ONE_1_1, SHARED_2_2, SPLIT_2_2, NWAYS };
static const char *const way_name[NWAYS] = { "1 producer, 1 consumer, one queue",
                                             "2 producers, 2 consumers, one queue",
                                             "2 producers, 2 consumers, two queues" };

struct board {                /* shared by every process of a run */
    atomic_int go;            /* the start signal */
    atomic_ullong count, sum; /* what the consumers got */
};

static void producer(struct queue *q, struct board *b, long id, long n)
{
    unsigned char msg[MSG] = { 0 };
    while (!atomic_load(&b->go))
        ;
    for (long i = 0; i < n; i++) {
        uint64_t v = (uint64_t)id * (uint64_t)n + (uint64_t)i;
        *(uint64_t *)(void *)msg = v;
        if (queue_put(q, msg, sizeof msg, 10 * NS_PER_S) != QUEUE_OK)
            die_child("queue_put");
    }
}

static void consumer(struct queue *q, struct board *b)
{
    unsigned char msg[MSG];
    size_t len;
    unsigned long long count = 0, sum = 0;
    int rc;
    while ((rc = queue_get(q, msg, sizeof msg, &len, 10 * NS_PER_S)) == QUEUE_OK) {
        count++;
        sum += *(uint64_t *)(void *)msg;
    }
    if (rc != QUEUE_CLOSED)
        die_child("queue_get: %s", queue_status_name(rc));
    atomic_fetch_add(&b->count, count);
    atomic_fetch_add(&b->sum, sum);
}

/* One run; returns seconds from the start signal to the last consumer done. */
static double run(int way, long n, struct board *b)
{
    int pairs = way == ONE_1_1 ? 1 : 2, nq = way == SPLIT_2_2 ? 2 : 1;
    struct queue *q[2];
    for (int i = 0; i < nq; i++)
        q[i] = queue_new(256, MSG);
    atomic_store(&b->go, 0);
    atomic_store(&b->count, 0);
    atomic_store(&b->sum, 0);
    pid_t prod[2], cons[2];
    for (int i = 0; i < pairs; i++) {
        struct queue *mine = q[nq == 2 ? i : 0];
        if ((cons[i] = fork_child()) == 0) {
            consumer(mine, b);
            _exit(0);
        }
        if ((prod[i] = fork_child()) == 0) {
            producer(mine, b, i, n);
            _exit(0);
        }
    }
    int64_t t0 = now_ns();
    atomic_store(&b->go, 1);
    int status;
    for (int i = 0; i < pairs; i++)
        if (child_wait(prod[i], -1, &status), exitcode_of(status) != 0)
            fatal("a producer failed");
    for (int i = 0; i < nq; i++)
        queue_close(q[i]); /* every message is in: the consumers drain and stop */
    for (int i = 0; i < pairs; i++)
        if (child_wait(cons[i], -1, &status), exitcode_of(status) != 0)
            fatal("a consumer failed");
    double secs = (double)(now_ns() - t0) / 1e9;
    unsigned long long total = (unsigned long long)pairs * (unsigned long long)n;
    if (atomic_load(&b->count) != total || atomic_load(&b->sum) != total * (total - 1) / 2)
        fatal("%s: %llu messages arrived of %llu, or their sum is wrong", way_name[way],
              (unsigned long long)atomic_load(&b->count), total);
    for (int i = 0; i < nq; i++)
        queue_detach(q[i]);
    return secs;
}

int main(int argc, char **argv)
{
    long n = 200000, repeat = 5;
    const struct cli_opt opts[] = {
        { "messages", CLI_INT, &n, "messages per producer", 1000, 100000000, "20000", NULL },
        { "repeat", CLI_INT, &repeat, "runs of each way (the median is kept)", 1, 100, "1", NULL },
        { 0 },
    };
    struct cli cli = { 0 };
    cli_parse(argc, argv, "Exercise 3: two producers and two consumers on one queue, or a queue per pair.",
              opts, &cli);
    struct board *b = mmap(NULL, sizeof *b, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (b == MAP_FAILED)
        die("mmap");
    double *secs = malloc((size_t)(NWAYS * repeat) * sizeof *secs);
    if (!secs)
        die("malloc");
    for (long r = 0; r < repeat; r++)
        for (int w = 0; w < NWAYS; w++)
            secs[w * repeat + r] = run(w, n, b);
    printf("%ld messages of %d bytes per producer, median of %ld; " CORES_FMT "\n", n, MSG, repeat,
           CORES_ARG(cpu_count()));
    double rate[NWAYS];
    for (int w = 0; w < NWAYS; w++) {
        double s = summarize(&secs[w * repeat], (size_t)repeat).median;
        rate[w] = (double)(w == ONE_1_1 ? 1 : 2) * (double)n / s / 1e6;
        printf("  %-38s %8.2f million messages/s\n", way_name[w], rate[w]);
    }
    printf("two queues carried %.1fx the messages per second of one shared queue\n", rate[SPLIT_2_2] / rate[SHARED_2_2]);
    free(secs);
    CHECK_SYS(munmap(b, sizeof *b));
    return 0;
}
