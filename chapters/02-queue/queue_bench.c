/* queue_bench.c: how many messages per second go from process to process, through our
 * queue, a POSIX message queue and a pipe.
 *
 * Mirrors: the cost behind multiprocessing.Queue.put/get (which is a pipe plus locks
 * and a feeder thread underneath) and Pipe.send/recv.
 *
 * What it does: P producer processes send N messages of one size (8 B to 64 KiB), each
 * starting with its sequence number; C consumer processes receive them until the end
 * of the stream, counting them and summing their numbers, so a lost or doubled message
 * stops the program instead of passing for a fast run. P/C = 1/1 and 2/2; the clock
 * runs from the moment a start gate opens (every process already forked and waiting)
 * until the last consumer has its last message. Each number is the median of
 * --repeat runs, run round robin over all the configurations so that a slow spell of
 * the machine falls on all of them alike.
 *
 * The three transports (transports.c says how each sends, receives and ends a stream):
 *   queue  queue.c: a ring of up to --capacity slots in shared memory, one robust
 *          mutex. The ring is kept to 1 MiB (16 slots at least), so that it stays in
 *          the caches. A message is copied twice (in, out) and no system call is made
 *          unless somebody has to sleep.
 *   mq     a POSIX message queue of 10 messages (the default limit for unprivileged
 *          users, /proc/sys/fs/mqueue/msg_max). Messages above
 *          /proc/sys/fs/mqueue/msgsize_max (8 KiB by default) cannot be sent: no point.
 *   pipe   a pipe (64 KiB buffer). Writes of up to PIPE_BUF (4 KiB) bytes are atomic;
 *          longer ones from two producers would interleave, so 2/2 stops at 4 KiB.
 *          Every message costs a write and a read system call.
 *
 * Run:  ./queue_bench [--messages 30000] [--repeat 5] [--data FILE]
 * Look for: the queue ahead of the pipe for small messages (no system calls), all of
 * them converging on memory bandwidth for large ones.
 */
#include "transports.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static const size_t sizes[] = { 8, 64, 512, 4096, 16384, 65536 };
enum { NSIZES = sizeof sizes / sizeof sizes[0], MAX_SIDE = 2 };

/* what the consumers report back, in shared memory */
struct control {
    int64_t done_ns[MAX_SIDE];
    uint64_t count[MAX_SIDE], sum[MAX_SIDE];
};

static long g_capacity = 256;

struct run {
    struct channel ch;
    int np;
    long n;
    int gate[2];
    struct control *ctl;
};

static void wait_gate(struct run *r)
{
    char c;
    CHECK_SYS(close(r->gate[1]));
    if (read(r->gate[0], &c, 1) != 0) /* returns when the parent closes its end */
        die_child("read(gate)");
    CHECK_SYS(close(r->gate[0]));
}

static void producer(struct run *r, int p)
{
    char *buf = calloc(1, r->ch.size);
    if (!buf)
        die_child("calloc");
    channel_producer(&r->ch);
    wait_gate(r);
    for (uint64_t seq = (uint64_t)p; seq < (uint64_t)r->n; seq += (uint64_t)r->np) {
        memcpy(buf, &seq, sizeof seq);
        channel_send(&r->ch, buf);
    }
    free(buf);
}

static void consumer(struct run *r, int c)
{
    char *buf = malloc(r->ch.size);
    if (!buf)
        die_child("malloc");
    channel_consumer(&r->ch);
    wait_gate(r);
    uint64_t count = 0, sum = 0, seq;
    while (channel_recv(&r->ch, buf) != 0) {
        memcpy(&seq, buf, sizeof seq);
        count++;
        sum += seq;
    }
    r->ctl->done_ns[c] = now_ns();
    r->ctl->count[c] = count;
    r->ctl->sum[c] = sum;
    free(buf);
}

static void reap_ok(pid_t pid)
{
    int status;
    child_wait(pid, -1, &status);
    if (exitcode_of(status) != 0)
        fatal("a benchmark process failed: exit code %d", exitcode_of(status));
}

/* One run; returns the seconds from the gate opening to the last message received. */
static double run_once(int transport, size_t size, int side, long n, struct control *ctl)
{
    struct run r = { .np = side, .n = n, .ctl = ctl };
    memset(ctl, 0, sizeof *ctl);
    channel_open(&r.ch, transport, size, g_capacity);
    CHECK_SYS(pipe(r.gate));

    pid_t pids[2 * MAX_SIDE];
    for (int i = 0; i < 2 * side; i++) {
        pids[i] = fork_child();
        if (pids[i] == 0) {
            if (i < side)
                producer(&r, i);
            else
                consumer(&r, i - side);
            _exit(0);
        }
    }
    CHECK_SYS(close(r.gate[0]));
    channel_forked(&r.ch);
    int64_t t0 = now_ns();
    CHECK_SYS(close(r.gate[1])); /* go */
    for (int i = 0; i < side; i++)
        reap_ok(pids[i]);
    channel_end(&r.ch, side); /* the producers are done: end of stream */
    for (int i = side; i < 2 * side; i++)
        reap_ok(pids[i]);

    uint64_t count = 0, sum = 0;
    int64_t last = t0;
    for (int c = 0; c < side; c++) {
        count += ctl->count[c];
        sum += ctl->sum[c];
        if (ctl->done_ns[c] > last)
            last = ctl->done_ns[c];
    }
    uint64_t expect = (uint64_t)n * (uint64_t)(n - 1) / 2;
    if (count != (uint64_t)n || sum != expect)
        fatal("%s %d/%d, %zu B: received %llu messages (sum %llu), sent %ld (sum %llu)",
              transport_name[transport], side, side, size, (unsigned long long)count,
              (unsigned long long)sum, n, (unsigned long long)expect);
    channel_close(&r.ch);
    return (double)(last - t0) / 1e9;
}

int main(int argc, char **argv)
{
    long messages = 30000, mbytes = 16, repeat = 5;
    const struct cli_opt opts[] = {
        { "messages", CLI_INT, &messages, "messages per run (fewer for large sizes, see --mbytes)", 100,
          100000000, "2000", NULL },
        { "mbytes", CLI_INT, &mbytes, "at most this many MiB per run", 1, 4096, "1", NULL },
        { "repeat", CLI_INT, &repeat, "runs per configuration (the median is kept)", 1, 100, "1", NULL },
        { "capacity", CLI_INT, &g_capacity, "most slots in our queue", 1, 65536, NULL, NULL },
        { 0 },
    };
    struct cli cli = { .measures = true };
    cli_parse(argc, argv, "Messages per second between processes: our queue, a POSIX message queue and a\n"
                          "pipe, for message sizes from 8 B to 64 KiB.", opts, &cli);

    transports_init();

    struct control *ctl = mmap(NULL, sizeof *ctl, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (ctl == MAP_FAILED)
        die("mmap(control)");

    /* configurations: transport x side (1/1, 2/2) x size */
    enum { NCONF = NTRANSPORTS * 2 * NSIZES };
    double *rate = malloc((size_t)(NCONF * repeat) * sizeof *rate);
    if (!rate)
        die("malloc");
    for (long rep = 0; rep < repeat; rep++) {
        for (int k = 0; k < NCONF; k++) {
            int t = k / (2 * NSIZES), side = 1 + (k / NSIZES) % 2;
            size_t size = sizes[k % NSIZES];
            double *slot = &rate[k * repeat + rep];
            if (!transport_supports(t, size, side)) {
                *slot = NAN;
                continue;
            }
            long n = (long)(((size_t)mbytes << 20) / size);
            n = n > messages ? messages : n < 16 ? 16 : n;
            *slot = (double)n / run_once(t, size, side, n, ctl);
        }
    }

    FILE *data = data_open(cli.data, "queue_bench: messages per second between processes");
    static const char *const cols[] = {
        "size (B): message size",
        "msgs (M/s): median millions of messages per second", "msgs_p10 (M/s)", "msgs_p90 (M/s)",
        "mbps (MB/s): median megabytes (10^6 bytes) per second", NULL,
    };
    struct summary sum[NCONF];
    for (int k = 0; k < NCONF; k++) {
        int t = k / (2 * NSIZES), side = 1 + (k / NSIZES) % 2;
        size_t size = sizes[k % NSIZES];
        if (k % NSIZES == 0) {
            char name[64];
            snprintf(name, sizeof name, "%s %d/%d", transport_name[t], side, side);
            data_block(data, name, cols);
        }
        if (isnan(rate[k * repeat])) {
            sum[k] = (struct summary){ .median = NAN, .p10 = NAN, .p90 = NAN };
            data_row(data, "%zu NaN NaN NaN NaN\n", size);
            continue;
        }
        sum[k] = summarize(&rate[k * repeat], (size_t)repeat);
        data_row(data, "%zu %.4f %.4f %.4f %.2f\n", size, sum[k].median / 1e6, sum[k].p10 / 1e6,
                 sum[k].p90 / 1e6, sum[k].median * (double)size / 1e6);
    }
    data_close(data);

    printf("Messages between processes, P producers / C consumers, median of %ld run(s)\n", repeat);
    printf("queue: up to %ld slots (1 MiB at most); mq: %ld messages; pipe: 64 KiB buffer\n\n", g_capacity,
           transports_mq_maxmsg());
    for (int unit = 0; unit < 2; unit++) {
        printf("%s\n  %8s", unit == 0 ? "millions of messages per second" : "MB per second (10^6 bytes)",
               "size B");
        for (int t = 0; t < NTRANSPORTS; t++)
            for (int side = 1; side <= 2; side++) {
                char h[32];
                snprintf(h, sizeof h, "%s %d/%d", transport_name[t], side, side);
                printf(" %10s", h);
            }
        printf("\n");
        for (int s = 0; s < NSIZES; s++) {
            printf("  %8zu", sizes[s]);
            for (int t = 0; t < NTRANSPORTS; t++)
                for (int side = 1; side <= 2; side++) {
                    double m = sum[(t * 2 + side - 1) * NSIZES + s].median;
                    if (isnan(m))
                        printf(" %10s", "-");
                    else if (unit == 0)
                        printf(" %10.3f", m / 1e6);
                    else
                        printf(" %10.0f", m * (double)sizes[s] / 1e6);
                }
            printf("\n");
        }
        printf("\n");
    }
    int s64 = 1; /* sizes[1] is 64 B */
    double q64 = sum[(T_QUEUE * 2) * NSIZES + s64].median, p64 = sum[(T_PIPE * 2) * NSIZES + s64].median;
    double q8 = sum[(T_QUEUE * 2) * NSIZES].median, p8 = sum[(T_PIPE * 2) * NSIZES].median;
    printf("64 B, 1/1: queue %.2f M msgs/s, pipe %.2f M msgs/s: the queue is %.2fx the pipe\n", q64 / 1e6,
           p64 / 1e6, q64 / p64);
    printf(" 8 B, 1/1: queue %.2f M msgs/s, pipe %.2f M msgs/s: the queue is %.2fx the pipe\n", q8 / 1e6,
           p8 / 1e6, q8 / p8);
    printf("every run delivered each message exactly once\n");
    free(rate);
    CHECK_SYS(munmap(ctl, sizeof *ctl));
    return 0;
}
