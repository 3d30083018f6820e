/* manager_demo.c: Manager().Queue() inside a Pool, a dict and a list, and what a
 * manager's death does to the processes that use it.
 *
 * Mirrors: the lesson's pool with q = Manager().Queue(): a writer task puts the letters
 * of "itcast", a reader task gets them; and Manager().dict(), Manager().list().
 *
 * Part 1: the pool (chapter 03's) is made *first*, the manager after it: the workers
 * never inherited anything from the manager. The tasks get the proxies as their
 * argument bytes (Python pickles a proxy into its token: address, object id) and each
 * worker connects to the server on its first call. The reader is submitted first and
 * blocks in get() until the writer, in the other worker, puts something. Both tasks
 * note their pid in the dict and append a line to the list; the parent reads both.
 * Part 2: errors come back as errors: get_nowait() on the empty queue, a missing key,
 * an index past the end, a dict method called on the queue.
 * Part 3: the server stops answering (SIGSTOP): a call gives up after the proxy's bound
 * (--bound) with MGR_TIMEOUT, instead of hanging. SIGCONT, and it answers again.
 * Part 4: the server dies (SIGKILL) while a pool task is blocked in q.get() with no
 * timeout: the get returns MGR_DEAD at once, and so does every later call.
 *
 * Run:  ./manager_demo [--bound 500ms] [--step 100ms]
 * Look for: the reader's letters in order from another pid; the error names; the
 * stopped server's MGR_TIMEOUT after the bound; MGR_DEAD within a few milliseconds of
 * the kill.
 * See also: manager_min.c (the idea in one page), manager.c, ../03-pool/pool_queue.c
 * (the same tasks on a queue the workers inherit).
 */
#include "manager.h"
#include "../03-pool/pool.h"

#include <signal.h>
#include <sys/wait.h>
#include <string.h>
#include <unistd.h>

static int64_t g_patience = 2 * NS_PER_S;

struct proxies {
    struct mgr_proxy q, d, l;
};

static void note(const struct proxies *p, const char *who, const char *what)
{
    char pid[16];
    snprintf(pid, sizeof pid, "%d", (int)getpid());
    if (mgr_dict_set(&p->d, who, pid, strlen(pid)) != MGR_OK || mgr_list_append(&p->l, what, strlen(what)) != MGR_OK)
        trace("%s: %s", who, mgr_last_error());
}

static int writer(const void *arg, size_t len, void *out, size_t cap, size_t *out_len)
{
    struct proxies p;
    (void)len, (void)out, (void)cap;
    memcpy(&p, arg, sizeof p); /* the proxies arrive as bytes, like a pickled token */
    trace("writer started (pid %d), parent is (%d)", (int)getpid(), (int)getppid());
    for (const char *c = "itcast"; *c; c++)
        if (mgr_put(&p.q, c, 1, g_patience) != MGR_OK) {
            trace("writer: %s", mgr_last_error());
            return 1;
        }
    note(&p, "writer", "writer put 6 letters");
    *out_len = 0;
    return 0;
}

static int reader(const void *arg, size_t len, void *out, size_t cap, size_t *out_len)
{
    struct proxies p;
    (void)len;
    memcpy(&p, arg, sizeof p);
    trace("reader started (pid %d), parent is (%d)", (int)getpid(), (int)getppid());
    char *s = out;
    size_t n = 0;
    for (int i = 0; i < 6; i++) { /* the lesson reads qsize() items; we know there are 6 */
        char c;
        size_t clen;
        int rc = mgr_get(&p.q, &c, 1, &clen, g_patience);
        if (rc != MGR_OK) {
            trace("reader: get() -> %s: %s", mgr_status_name(rc), mgr_last_error());
            return 2;
        }
        trace("reader got from the queue: %c", c);
        if (n + 1 < cap)
            s[n++] = c;
    }
    note(&p, "reader", "reader got 6 letters");
    *out_len = n;
    return 0;
}

/* part 4's task: wait in get() with no timeout; report the status and how long */
static int wait_forever(const void *arg, size_t len, void *out, size_t cap, size_t *out_len)
{
    struct proxies p;
    (void)len;
    memcpy(&p, arg, sizeof p);
    char c;
    size_t clen;
    int rc = mgr_get(&p.q, &c, 1, &clen, MGR_FOREVER);
    int64_t t = now_ns();
    snprintf(out, cap, "%s at %lld: %s", mgr_status_name(rc), (long long)t, mgr_last_error());
    *out_len = strlen(out) + 1;
    return 0;
}

static void show(const char *what, int rc)
{
    trace("%-34s -> %s%s%s", what, mgr_status_name(rc), rc == MGR_OK ? "" : ": ", rc == MGR_OK ? "" : mgr_last_error());
}

int main(int argc, char **argv)
{
    int64_t bound = 500 * NS_PER_MS, step = 100 * NS_PER_MS;
    const struct cli_opt opts[] = {
        { "bound", CLI_DURATION, &bound, "how long a call waits for the server's reply", NS_PER_MS, 60 * NS_PER_S,
          "100ms", NULL },
        { "step", CLI_DURATION, &step, "pause before the server is stopped and killed", NS_PER_MS, 10 * NS_PER_S,
          "30ms", NULL },
        { 0 },
    };
    struct cli cli = { 0 };
    cli_parse(argc, argv, "Manager().Queue() in a Pool, a dict and a list; a stopped and a killed server.", opts,
              &cli);
    trace_start();
    trace("(%d) start", (int)getpid());
    struct pool *pool = pool_new(2, 512);      /* the pool first ... */
    struct manager *m = manager_start(0);      /* ... the manager after: nothing inherited */
    struct proxies px = { manager_proxy(m, MGR_QUEUE), manager_proxy(m, MGR_DICT), manager_proxy(m, MGR_LIST) };
    trace("Manager(): server pid %d at @%s; Pool(2) was made before it", (int)m->pid, px.q.address);

    pool_task r = pool_apply_async(pool, reader, &px, sizeof px); /* reader first: it blocks in get() */
    pool_task w = pool_apply_async(pool, writer, &px, sizeof px);
    char got[64] = "";
    struct pool_result rr, rw;
    pool_get(pool, w, 30 * NS_PER_S, NULL, 0, &rw);
    int rc = pool_get(pool, r, 30 * NS_PER_S, got, sizeof got - 1, &rr);
    if (rc == POOL_OK)
        got[rr.len] = '\0';
    trace("writer ran on pid %d: %s; reader on pid %d: %s \"%s\"", (int)rw.pid, pool_status_name(rw.status),
          (int)rr.pid, pool_status_name(rr.status), got);
    char keys[256], val[32], item[64];
    size_t klen, vlen, ilen;
    long n = 0;
    if (mgr_dict_keys(&px.d, keys, sizeof keys, &klen) == MGR_OK)
        for (size_t k = 0; k < klen; k += strlen(keys + k) + 1)
            if (mgr_dict_get(&px.d, keys + k, val, sizeof val - 1, &vlen) == MGR_OK) {
                val[vlen] = '\0';
                trace("d[\"%s\"] = %s", keys + k, val);
            }
    mgr_len(&px.l, &n);
    for (long i = 0; i < n; i++)
        if (mgr_list_get(&px.l, i, item, sizeof item - 1, &ilen) == MGR_OK) {
            item[ilen] = '\0';
            trace("l[%ld] = \"%s\"", i, item);
        }

    trace("part 2: errors come back as errors");
    show("q.get_nowait() on an empty queue", mgr_get(&px.q, item, sizeof item, &ilen, MGR_NOWAIT));
    show("d[\"nobody\"]", mgr_dict_get(&px.d, "nobody", item, sizeof item, &ilen));
    show("l[99]", mgr_list_get(&px.l, 99, item, sizeof item, &ilen));
    show("q[\"x\"] (a dict method on the queue)", mgr_dict_get(&px.q, "x", item, sizeof item, &ilen));

    char bt[32];
    trace("part 3: SIGSTOP to the server, then len(l) with a bound of %s", format_duration(bound, bt, sizeof bt));
    CHECK_SYS(kill(m->pid, SIGSTOP));
    int st; /* the signal takes effect a moment later: wait until the server has stopped */
    if (waitpid(m->pid, &st, WUNTRACED) != m->pid || !WIFSTOPPED(st))
        die("waitpid(%d, WUNTRACED)", (int)m->pid);
    struct mgr_proxy lb = px.l;
    lb.bound_ns = bound;
    int64_t t = now_ns();
    rc = mgr_len(&lb, &n);
    trace("len(l) -> %s after %.0f ms: %s", mgr_status_name(rc), (double)(now_ns() - t) / 1e6,
          rc == MGR_OK ? "(answered before it stopped?)" : mgr_last_error());
    CHECK_SYS(kill(m->pid, SIGCONT));
    rc = mgr_len(&lb, &n);
    trace("SIGCONT; len(l) -> %s, %ld (a new connection: the old one was dropped)", mgr_status_name(rc), n);

    trace("part 4: a task waits in q.get() with no timeout; SIGKILL to the server");
    pool_task f = pool_apply_async(pool, wait_forever, &px, sizeof px);
    sleep_ns(step); /* let the task get into its get() */
    t = now_ns();
    CHECK_SYS(kill(m->pid, SIGKILL));
    char res[400] = "";
    struct pool_result fr;
    if (pool_get(pool, f, 10 * NS_PER_S, res, sizeof res - 1, &fr) == POOL_OK) {
        long long when;
        char status[32];
        if (sscanf(res, "%31s at %lld", status, &when) == 2)
            trace("the task's get() -> %s, %.1f ms after the kill: %s", status, (double)(when - t) / 1e6,
                  strchr(res, ':') + 2);
    }
    show("then in the parent: len(q)", mgr_len(&px.q, &n));
    trace("manager_shutdown(): the server's exit code is %d", manager_shutdown(m));
    pool_close(pool);
    pool_join(pool);
    pool_free(pool);
    trace("(%d) End", (int)getpid());
    return rr.status == POOL_OK && strcmp(got, "itcast") == 0 ? 0 : 1;
}
