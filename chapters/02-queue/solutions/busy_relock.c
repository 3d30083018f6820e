/* solutions/busy_relock.c: exercise 4 of chapter 02 (queues).
 *
 * The question: queue.c's relock() yields the CPU once when a waiter, back from its
 * sleep, finds the queue's lock taken. Take the yield out and measure with
 * queue_bench: which rows move? Why should 2/2 gain more than 1/1 on two CPUs, and
 * large messages gain on one CPU but not on two?
 *
 * The answer: the yield does something only when two things meet: the waiter comes
 * back to a taken lock, and another process is ready to run on its CPU. Count the
 * first (this program); the second follows from how many processes share a CPU.
 *   - Two CPUs, 1/1: many sleeps come back to a taken lock (here 40-64%), but when the
 *     two processes run on different CPUs, the holder is on the other one. Nobody waits
 *     for our CPU, sched_yield() returns at once, and we block on the lock as before.
 *     1/1 gains only in the runs where the two happen to share a CPU (the case below),
 *     so it moves less, and not from run to run alike.
 *   - Two CPUs, 2/2: fewer come back to a taken lock (16-47%), but four processes share
 *     two CPUs, so another is often ready to run on ours, perhaps the holder itself,
 *     pushed off by our wake-up. It runs and, if it held the lock, finishes, and we
 *     find the lock free: no sleep on it, no system call to wake us from it (2/2 rose
 *     by about a tenth).
 *   - One CPU, 1/1: most sleeps come back to a taken lock (here 79-100% in full runs;
 *     --quick ones, short enough for chance to matter, gave 1% to 100%). The only
 *     process that can have woken us ran on this CPU, woke us before its commit, and was
 *     preempted by our wake-up with the lock in hand. The yield gives it the CPU back
 *     at once; without it we sleep on the lock and the two trade the CPU twice more.
 *     The longer the copy under the lock, the more that costs: 4 and 16 KiB messages
 *     rose by a third to a half.
 * (One CPU, 2/2: only 2-8% come back to a taken lock, yet 512 B to 64 KiB rose by 26
 * to 55%: each sleep on the lock that the yield avoids spares a chain of
 * context switches among four processes. That part is a reading of the numbers, not a
 * measurement of the chains.)
 *
 * What it does: P producers and P consumers (1/1, then 2/2) pass --messages messages
 * of --size bytes through one queue. queue_test_hook counts, in every process, the
 * times a waiter back from its sleep found the lock taken ("wait:busy"), against all
 * its sleeps (queue_stats' waits). With --one-cpu every process is pinned to one CPU.
 *
 * Run:  solutions/busy_relock [--messages 200000] [--size 8] [--one-cpu]
 * Look for: the share of sleeps that came back to a taken lock, 1/1 against 2/2, and
 * with --one-cpu. The messages per second here are not a with-and-without comparison:
 * for that, build queue_bench both ways, as the exercise says.
 */
#include "../queue.h"

#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

struct board {                /* shared by every process of a run */
    atomic_int go;            /* the start signal */
    atomic_ullong busy;       /* "wait:busy" points reached, in all processes */
    atomic_ullong count, sum; /* what the consumers got */
};

static struct board *g_board;

static void count_busy(const char *point)
{
    if (strcmp(point, "wait:busy") == 0)
        atomic_fetch_add(&g_board->busy, 1);
}

/* every process on the first CPU this one may use */
static void pin_to_one_cpu(void)
{
    cpu_set_t set;
    CHECK_SYS(sched_getaffinity(0, sizeof set, &set));
    for (int cpu = 0; cpu < CPU_SETSIZE; cpu++)
        if (CPU_ISSET(cpu, &set)) {
            CPU_ZERO(&set);
            CPU_SET(cpu, &set);
            CHECK_SYS(sched_setaffinity(0, sizeof set, &set));
            return;
        }
}

static void producer(struct queue *q, long id, long n, size_t size)
{
    unsigned char *msg = calloc(1, size);
    if (!msg)
        die_child("calloc");
    while (!atomic_load(&g_board->go))
        sched_yield(); /* with --one-cpu the parent must get the CPU to say go */
    for (long i = 0; i < n; i++) {
        uint64_t v = (uint64_t)id * (uint64_t)n + (uint64_t)i;
        memcpy(msg, &v, sizeof v);
        if (queue_put(q, msg, size, 10 * NS_PER_S) != QUEUE_OK)
            die_child("queue_put");
    }
    free(msg);
}

static void consumer(struct queue *q, size_t size)
{
    unsigned char *msg = malloc(size);
    if (!msg)
        die_child("malloc");
    size_t len;
    unsigned long long count = 0, sum = 0;
    uint64_t v;
    int rc;
    while ((rc = queue_get(q, msg, size, &len, 10 * NS_PER_S)) == QUEUE_OK) {
        memcpy(&v, msg, sizeof v);
        count++;
        sum += v;
    }
    if (rc != QUEUE_CLOSED)
        die_child("queue_get: %s", queue_status_name(rc));
    atomic_fetch_add(&g_board->count, count);
    atomic_fetch_add(&g_board->sum, sum);
    free(msg);
}

/* One run of `pairs` producers and consumers; prints what it counted. */
static void run(int pairs, long n, size_t size)
{
    struct queue *q = queue_new(256, size);
    atomic_store(&g_board->go, 0);
    atomic_store(&g_board->busy, 0);
    atomic_store(&g_board->count, 0);
    atomic_store(&g_board->sum, 0);
    pid_t prod[2], cons[2];
    for (int i = 0; i < pairs; i++) {
        if ((cons[i] = fork_child()) == 0) {
            consumer(q, size);
            _exit(0);
        }
        if ((prod[i] = fork_child()) == 0) {
            producer(q, i, n, size);
            _exit(0);
        }
    }
    int64_t t0 = now_ns();
    atomic_store(&g_board->go, 1);
    int status;
    for (int i = 0; i < pairs; i++)
        if (child_wait(prod[i], -1, &status), exitcode_of(status) != 0)
            fatal("a producer failed");
    queue_close(q); /* every message is in: the consumers drain and stop */
    for (int i = 0; i < pairs; i++)
        if (child_wait(cons[i], -1, &status), exitcode_of(status) != 0)
            fatal("a consumer failed");
    double secs = (double)(now_ns() - t0) / 1e9;
    unsigned long long total = (unsigned long long)pairs * (unsigned long long)n;
    if (atomic_load(&g_board->count) != total || atomic_load(&g_board->sum) != total * (total - 1) / 2)
        fatal("%d/%d: %llu messages arrived of %llu, or their sum is wrong", pairs, pairs,
              (unsigned long long)atomic_load(&g_board->count), total);
    unsigned long long sleeps = queue_stats(q).waits, busy = atomic_load(&g_board->busy);
    if (busy > sleeps)
        fatal("%llu returns to a taken lock, but only %llu sleeps", busy, sleeps);
    printf("  %d/%d  %6.2f million messages/s  %8llu sleeps  %8llu came back to a taken lock (%.0f%%)\n",
           pairs, pairs, (double)total / secs / 1e6, sleeps, busy, sleeps ? 100.0 * (double)busy / (double)sleeps : 0.0);
    queue_detach(q);
}

int main(int argc, char **argv)
{
    long n = 200000, size = 8;
    bool one_cpu = false;
    const struct cli_opt opts[] = {
        { "messages", CLI_INT, &n, "messages per producer", 1000, 100000000, "20000", NULL },
        { "size", CLI_INT, &size, "bytes per message", 8, 65536, NULL, NULL },
        { "one-cpu", CLI_FLAG, &one_cpu, "pin every process to one CPU", 0, 0, NULL, NULL },
        { 0 },
    };
    struct cli cli = { 0 };
    cli_parse(argc, argv,
              "Exercise 4: how often a waiter back from its sleep finds the queue's lock taken\n"
              "(queue.c's relock() then yields the CPU once).",
              opts, &cli);
    g_board = mmap(NULL, sizeof *g_board, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (g_board == MAP_FAILED)
        die("mmap");
    if (one_cpu)
        pin_to_one_cpu(); /* the children inherit it */
    queue_test_hook = count_busy;
    printf("%ld messages of %ld bytes per producer; %s\n", n, size,
           one_cpu ? "every process on one CPU" : "no pinning");
    run(1, n, (size_t)size);
    run(2, n, (size_t)size);
    CHECK_SYS(munmap(g_board, sizeof *g_board));
    return 0;
}
