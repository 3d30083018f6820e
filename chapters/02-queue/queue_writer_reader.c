/* queue_writer_reader.c: a writer process and a reader process sharing a queue, and
 * why the reader must not steer by empty().
 *
 * Mirrors: the lesson's write(q) / read(q) pair: the writer puts 'A', 'B', 'C' with
 * random pauses; the reader loops "while True: if not q.empty(): q.get() else: break".
 *
 * Four runs of the same writer (it puts A, B, C, pausing between half and all of
 * --pause after each put; fixed seed):
 *   1. the lesson's code as written: the parent joins the writer *before* starting the
 *      reader, so the reader finds all three. It works only because the two never run
 *      at the same time;
 *   2. the same reader while the writer still runs: at the writer's first pause the
 *      queue is empty and the reader quits, early, with A or nothing;
 *   3. a reader that keeps asking empty() instead of quitting: it gets all three, but it
 *      spins (millions of calls, a whole core) and cannot tell when to stop; we stop
 *      it after 4 x --pause;
 *   4. the right way: the reader blocks in get() and the writer says "no more" with
 *      queue_close(); the reader ends the moment the writer is done, having used almost
 *      no CPU. This run uses a named queue, and the reader is a new program (exec of
 *      this file with --attach NAME) that finds the queue by its name: two processes
 *      that share no memory but the queue. Its trace clock starts at its own exec.
 * In runs 2 and 3 the interleaving is left to the scheduler (the reader starts a
 * quarter of --pause after the writer), so the count in run 2 may vary.
 *
 * Run:  ./queue_writer_reader              (pauses up to 1 s, like random.random())
 *       ./queue_writer_reader --pause 100ms
 *       ./queue_writer_reader --only 4      (just the right way)
 * Look for: "quit early: got 1 of 3", the spinning reader's call count and CPU time,
 * and the blocking reader's "QUEUE_CLOSED" right after the writer's close().
 * See also: queue_demo.c, and queue.c on why qsize(), empty() and full() are hints.
 */
#include "queue.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int64_t g_pause = NS_PER_S;
static long g_seed = 1;

/* a pause between lo and hi fractions of --pause */
static int64_t random_pause(uint64_t *state, double lo, double hi)
{
    double u = random_unit(state); /* [0, 1), common.h */
    return (int64_t)((double)g_pause * (lo + (hi - lo) * u));
}

static double cpu_seconds(void)
{
    struct timespec ts;
    CHECK_SYS(clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts));
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void writer(struct queue *q, bool close_after)
{
    trace_name("writer");
    uint64_t rng = (uint64_t)g_seed;
    for (const char *v = "ABC"; *v; v++) {
        trace("put %c to queue...", *v);
        if (queue_put(q, v, 1, QUEUE_FOREVER) != QUEUE_OK)
            die_child("put %c", *v);
        sleep_ns(random_pause(&rng, 0.5, 1.0));
    }
    if (close_after) {
        queue_close(q);
        trace("close(): no more messages");
    }
}

/* the lesson's reader: reads while empty() says there is something, then stops */
static void lesson_reader(struct queue *q)
{
    trace_name("reader");
    uint64_t rng = (uint64_t)g_seed + 100;
    int got = 0;
    for (;;) {
        if (!queue_empty(q)) {
            char v;
            size_t len;
            if (queue_get(q, &v, 1, &len, QUEUE_FOREVER) != QUEUE_OK)
                die_child("get");
            got++;
            trace("get %c from queue.", v);
            sleep_ns(random_pause(&rng, 0.0, 0.25));
        } else {
            break;
        }
    }
    trace("empty() said True: stopping with %d of 3%s", got, got < 3 ? " (quit early)" : "");
    printf("%s: got %d of 3\n", got < 3 ? "quit early" : "all read", got);
}

/* keeps polling empty() until a time limit: the only way it can stop */
static void spinning_reader(struct queue *q)
{
    trace_name("spinner");
    int64_t limit = now_ns() + 4 * g_pause;
    double cpu = cpu_seconds();
    long calls = 0, got = 0;
    int64_t last = now_ns();
    while (now_ns() < limit) {
        calls++;
        if (!queue_empty(q)) {
            char v;
            size_t len;
            if (queue_get_nowait(q, &v, 1, &len) == QUEUE_OK) {
                got++;
                last = now_ns();
                trace("get %c after %ld calls to empty()", v, calls);
            }
        }
    }
    double spun = (double)(now_ns() - last) / 1e9;
    trace("stopped by the time limit: %ld of 3, then %.2fs more of asking in vain", got, spun);
    printf("spinner: %ld calls to empty(), %.2f s of CPU, got %ld of 3\n", calls, cpu_seconds() - cpu, got);
}

/* run 4's reader: a new program that opens the queue by name and blocks in get() */
static int attached_reader(const char *name)
{
    trace_name("reader");
    double cpu = cpu_seconds();
    struct queue *q = queue_open(name, 5 * NS_PER_S);
    if (!q)
        die("queue_open(%s)", name);
    trace("a new program (my clock starts at my exec): opened %s by name", name);
    /* a writer that died without closing cannot hang us: each get waits a bounded time */
    int64_t patience = 2 * g_pause + NS_PER_S;
    int rc, got = 0;
    char v;
    size_t len;
    while ((rc = queue_get(q, &v, 1, &len, patience)) == QUEUE_OK) {
        got++;
        trace("get %c from queue.", v);
    }
    trace("get() -> %s: the writer is done; %d of 3, %.3f s of CPU", queue_status_name(rc), got,
          cpu_seconds() - cpu);
    printf("blocking reader: %s after %d of 3\n", queue_status_name(rc), got);
    queue_detach(q);
    return rc == QUEUE_CLOSED && got == 3 ? 0 : 1;
}

static void join_ok(pid_t pid, const char *who)
{
    int status;
    child_wait(pid, -1, &status);
    if (exitcode_of(status) != 0)
        fatal("%s failed: exit code %d", who, exitcode_of(status));
}

typedef void role_fn(struct queue *q);

static pid_t start(role_fn *role, struct queue *q)
{
    pid_t pid = fork_child();
    if (pid == 0) {
        role(q);
        fflush(stdout);
        _exit(0);
    }
    return pid;
}

static void writer_no_close(struct queue *q)
{
    writer(q, false);
}

static void writer_close(struct queue *q)
{
    writer(q, true);
}

static void header(const char *text)
{
    printf("\n== %s\n", text);
    fflush(stdout);
}

int main(int argc, char **argv)
{
    const char *attach = NULL;
    long only = 0;
    const struct cli_opt opts[] = {
        { "only", CLI_INT, &only, "run only this part (1 to 4; 0: all)", 0, 4, NULL, NULL },
        { "pause", CLI_DURATION, &g_pause, "the writer's longest pause after a put", NS_PER_MS, 10 * NS_PER_S,
          "40ms", NULL },
        { "seed", CLI_INT, &g_seed, "seed of the random pauses", 0, 1000000, NULL, NULL },
        { "attach", CLI_STRING, &attach, "(used by run 4) be the reader of the named queue STR", 0, 0, NULL, NULL },
        { 0 },
    };
    struct cli cli = { 0 };
    cli_parse(argc, argv, "A writer and a reader process sharing a queue: steering by empty() vs\n"
                          "blocking get() with an end of stream.", opts, &cli);
    if (attach)
        return attached_reader(attach);

    trace_start();
    struct queue *q = queue_new(16, 8);
    pid_t w, r;
    if (only == 0 || only == 1) {
        header("1. the lesson's code: join the writer, then start the reader");
        join_ok(start(writer_no_close, q), "writer");
        join_ok(start(lesson_reader, q), "reader");
        printf("   it worked because the writer had finished: the two never ran at the same time\n");
    }
    if (only == 0 || only == 2) {
        header("2. the same reader while the writer is still writing");
        w = start(writer_no_close, q);
        sleep_ns(g_pause / 4);
        r = start(lesson_reader, q);
        join_ok(r, "reader");
        join_ok(w, "writer");
        char v;
        size_t len;
        while (queue_get_nowait(q, &v, 1, &len) == QUEUE_OK) /* what the reader left behind */
            trace("left in the queue, never read: %c", v);
    }
    if (only == 0 || only == 3) {
        header("3. a reader that polls empty() instead of quitting");
        w = start(writer_no_close, q);
        r = start(spinning_reader, q);
        join_ok(w, "writer");
        join_ok(r, "spinner");
    }
    queue_detach(q);
    if (only != 0 && only != 4)
        return 0;

    header("4. the right way: blocking get() and close(), between unrelated programs");
    char name[64];
    snprintf(name, sizeof name, "/wb-queue-%d", (int)getpid());
    q = queue_create(name, 16, 8);
    trace("created the named queue %s (it shows as /dev/shm%s)", name, name);
    w = start(writer_close, q);
    pid_t reader = fork_child();
    if (reader == 0) {
        char pause[32];
        format_duration(g_pause, pause, sizeof pause);
        execl("/proc/self/exe", "queue_writer_reader", "--attach", name, "--pause", pause, (char *)NULL);
        die_child("execl /proc/self/exe");
    }
    join_ok(w, "writer");
    queue_close(q); /* already closed by the writer; had it died, this ends the stream */
    join_ok(reader, "reader");
    queue_detach(q);
    trace("both done; the last one to detach removed %s", name);
    return 0;
}
