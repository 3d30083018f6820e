/* pool_queue.c: two tasks of one pool talking through a queue made before the pool.
 *
 * Mirrors: the lesson's Manager().Queue inside a Pool: a writer task puts the letters
 * of "itcast" and a reader task gets them.
 *
 * Why the lesson needs Manager().Queue: a multiprocessing.Queue cannot be an argument
 * of a pool task. Python pickles task arguments into the pool's pipe, and a Queue
 * refuses ("RuntimeError: Queue objects should only be shared between processes
 * through inheritance"): its pipe and locks must be inherited at fork. A Manager queue
 * is instead a proxy to a queue in a separate server process; every put and get is a
 * round trip to that process over a socket.
 *
 * Here the queue is made first and the pool after, so every worker inherits the
 * mapping at the same address: the task's argument is just the queue's pointer. No
 * server process, no pickling. Two more differences from the lesson:
 *   - the reader is submitted *first* and nothing sleeps: it blocks in get() until the
 *     writer, running at the same time in the other worker, puts something (the lesson
 *     sleeps 1 s so the writer finishes before the reader looks at qsize());
 *   - the reader stops on end-of-stream (the writer closes the queue), not on a count
 *     from qsize(), which is only a hint.
 * With --workers 1 the reader occupies the only worker and the writer waits behind it:
 * the reader's get gives up after --patience and says so. (A task that waits for
 * another task of its own pool needs the pool to have room for both.)
 *
 * Run:  ./pool_queue [--workers 2]
 * Look for: the writer and reader on different pids, both children of the same parent,
 * and the reader's letters in order.
 * See also: ../02-queue/queue_writer_reader.c (the same pair with plain processes).
 */
#include "pool.h"
#include "../02-queue/queue.h"

#include <string.h>
#include <unistd.h>

static int64_t g_patience = 2 * NS_PER_S;

static int writer(const void *arg, size_t len, void *out, size_t cap, size_t *out_len)
{
    struct queue *q;
    (void)len;
    (void)out;
    (void)cap;
    memcpy(&q, arg, sizeof q); /* a pointer from the parent: valid, the mapping is inherited */
    trace("writer started (pid %d), parent is (%d)", (int)getpid(), (int)getppid());
    for (const char *c = "itcast"; *c; c++)
        if (queue_put(q, c, 1, g_patience) != QUEUE_OK)
            return 1;
    queue_close(q);
    trace("writer: put 6 letters, then close()");
    *out_len = 0;
    return 0;
}

static int reader(const void *arg, size_t len, void *out, size_t cap, size_t *out_len)
{
    struct queue *q;
    (void)len;
    memcpy(&q, arg, sizeof q);
    trace("reader started (pid %d), parent is (%d)", (int)getpid(), (int)getppid());
    char *s = out;
    size_t n = 0;
    int rc;
    char c;
    size_t clen;
    while ((rc = queue_get(q, &c, 1, &clen, g_patience)) == QUEUE_OK) {
        trace("reader got from the queue: %c", c);
        if (n + 1 < cap)
            s[n++] = c;
    }
    if (rc == QUEUE_EMPTY) {
        char tbuf[32];
        trace("reader: nothing for %s: giving up (is the writer stuck behind me?)",
              format_duration(g_patience, tbuf, sizeof tbuf));
        return 2;
    }
    trace("reader: get() -> %s, the writer is done", queue_status_name(rc));
    *out_len = n;
    return 0;
}

int main(int argc, char **argv)
{
    long workers = 2;
    const struct cli_opt opts[] = {
        { "workers", CLI_INT, &workers, "processes in the pool", 1, 16, NULL, NULL },
        { "patience", CLI_DURATION, &g_patience, "how long the reader waits for each letter", NS_PER_MS,
          60 * NS_PER_S, "300ms", NULL },
        { 0 },
    };
    struct cli cli = { 0 };
    cli_parse(argc, argv, "A writer task and a reader task of one pool share a queue made before the pool.",
              opts, &cli);

    trace_start();
    trace("(%d) start", (int)getpid());
    struct queue *q = queue_new(16, 8); /* first the queue ... */
    struct pool *p = pool_new((int)workers, 256); /* ... then the pool: its workers inherit it */
    trace("queue at %p, made before Pool(%ld): every worker has it at the same address", (void *)q, workers);
    pool_task r = pool_apply_async(p, reader, &q, sizeof q); /* the reader first, no sleep */
    pool_task w = pool_apply_async(p, writer, &q, sizeof q);
    pool_close(p);
    pool_join(p);

    char got[64] = "";
    struct pool_result rw, rr;
    pool_get(p, w, 0, NULL, 0, &rw);
    int rc = pool_get(p, r, 0, got, sizeof got - 1, &rr);
    if (rc == POOL_OK)
        got[rr.len] = '\0';
    trace("writer ran on pid %d: %s; reader ran on pid %d: %s \"%s\"", (int)rw.pid, pool_status_name(rw.status),
          (int)rr.pid, pool_status_name(rr.status), got);
    if (rr.status != POOL_OK)
        trace("the reader failed (code %d): with %ld worker(s) the writer could only start once the reader "
              "had given up", rr.code, workers);
    trace("(%d) End", (int)getpid());
    pool_free(p);
    queue_detach(q);
    return rc == POOL_OK && rw.status == POOL_OK && strcmp(got, "itcast") == 0 ? 0 : 1;
}
