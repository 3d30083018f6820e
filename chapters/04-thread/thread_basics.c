/* thread_basics.c: threads with arguments and names, the current thread, enumerate,
 * join, a shared global, and run order left to the scheduler.
 *
 * Mirrors: the lesson's two forms of threading.Thread:
 *   Thread(target=aaa, name='aaa_thread', args=(6,))           positional arguments
 *   Thread(target=bbb, name='bbb_thread', kwargs={'num2': 6})  keyword arguments
 *   class MyThread(Thread): def run(self): ...                 a subclass, five of them
 * with threading.current_thread(), threading.enumerate() and join().
 *
 * What it shows:
 *   1. A thread's argument is one pointer. Positional arguments become a struct
 *      filled in order; keyword arguments a struct filled by field name (a designated
 *      initializer), which reads like kwargs and leaves the other fields zero.
 *   2. Names are the kernel's too: pthread_setname_np sets the name `ps -L -p PID`
 *      prints, and the program lists /proc/self/task/<tid>/comm to show it.
 *   3. enumerate() before, during and after: MainThread alone, then three, then one.
 *   4. Threads share the process's globals: aaa_thread appends to a list and the main
 *      thread sees the items appear (chapter 01's child process could not).
 *   5. Part 2, the subclass form: five threads sleep one step and print, three times.
 *      Which one prints first in each round is up to the scheduler: the program
 *      records the order of every round and prints it. It differs from round to round
 *      and from run to run; nothing here makes it stable, on purpose.
 *
 * Run:  ./thread_basics              (steps of 0.5 s, as in the lesson)
 *       ./thread_basics --step 50ms
 *       ps -L -p $(pgrep -n thread_basics)   (in another terminal, while it runs)
 * Look for: the thread names in the kernel's list, lst growing while aaa_thread runs,
 * and the round orders of part 2.
 * See also: thread_daemon.c (what ends a thread), ../01-process/process_basics.c.
 */
#include "thread.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int64_t g_step = 500 * NS_PER_MS;

/* ---- part 1: the lesson's aaa and bbb, and its global list ---- */

static pthread_mutex_t g_lst_lock = PTHREAD_MUTEX_INITIALIZER;
static int g_lst[100];
static int g_nlst;

/* "[0, 1, 2]" into buf, read under the list's lock */
static const char *lst_text(char *buf, size_t len)
{
    CHECK_PT(pthread_mutex_lock(&g_lst_lock));
    size_t n = (size_t)snprintf(buf, len, "[");
    for (int i = 0; i < g_nlst && n < len; i++)
        n += (size_t)snprintf(buf + n, len - n, "%s%d", i ? ", " : "", g_lst[i]);
    if (n < len)
        snprintf(buf + n, len - n, "]");
    CHECK_PT(pthread_mutex_unlock(&g_lst_lock));
    return buf;
}

struct aaa_args { /* args=(6,): filled in order */
    int num1;
};

struct bbb_args { /* kwargs={'num2': 6}: filled by name */
    int num2;
    const char *label; /* an optional keyword, left out by the caller: NULL */
};

static void aaa(void *arg)
{
    const struct aaa_args *a = arg;
    char buf[512];
    trace("aaa: current_thread() is %s", thread_current()->name);
    for (int i = 0; i < a->num1; i++) {
        CHECK_PT(pthread_mutex_lock(&g_lst_lock));
        if (g_nlst < (int)ARRAY_LEN(g_lst))
            g_lst[g_nlst++] = i;
        CHECK_PT(pthread_mutex_unlock(&g_lst_lock));
        trace("---aaa--- %d", i);
        sleep_ns(g_step);
    }
    trace("aaa: lst = %s", lst_text(buf, sizeof buf));
}

static void bbb(void *arg)
{
    const struct bbb_args *a = arg;
    char buf[512];
    trace("bbb: current_thread() is %s, label=%s (a keyword the caller left out)",
          thread_current()->name, a->label ? a->label : "NULL");
    for (int i = 0; i < a->num2; i++) {
        trace("    ---bbb--- %d", i); /* indented: two threads read as two columns */
        sleep_ns(g_step);
    }
    trace("    bbb: lst = %s", lst_text(buf, sizeof buf));
}

static void show_enumerate(const char *when)
{
    struct thread_info list[16];
    size_t n = thread_enumerate(list, ARRAY_LEN(list));
    char buf[512];
    size_t k = 0;
    for (size_t i = 0; i < n && i < ARRAY_LEN(list) && k < sizeof buf; i++)
        k += (size_t)snprintf(buf + k, sizeof buf - k, "%s%s(tid %d)", i ? ", " : "", list[i].name,
                              (int)list[i].tid);
    trace("enumerate() %s: %zu live: [%s]", when, n, buf);
}

static int by_number(const void *a, const void *b)
{
    long x = *(const long *)a, y = *(const long *)b;
    return (x > y) - (x < y);
}

/* what `ps -L -p <pid>` would list: every task of this process and its name */
static void show_kernel_view(void)
{
    DIR *d = opendir("/proc/self/task");
    if (!d)
        die("opendir /proc/self/task");
    long tids[64];
    size_t n = 0;
    for (struct dirent *e; (e = readdir(d)) && n < ARRAY_LEN(tids);)
        if (e->d_name[0] != '.')
            tids[n++] = atol(e->d_name);
    CHECK_SYS(closedir(d));
    qsort(tids, n, sizeof tids[0], by_number);
    trace("the kernel's list of this process's threads (ps -L -p %d shows the same):", (int)getpid());
    for (size_t i = 0; i < n; i++) {
        char path[64], comm[32] = "?";
        snprintf(path, sizeof path, "/proc/self/task/%ld/comm", tids[i]);
        FILE *f = fopen(path, "r");
        if (f) { /* a thread may end between readdir and here */
            if (fgets(comm, sizeof comm, f))
                comm[strcspn(comm, "\n")] = '\0';
            fclose(f);
        }
        trace("    tid %-7ld comm %s", tids[i], comm);
    }
}

/* ---- part 2: the subclass form ---- */

enum { MAX_MY = 16, MAX_ROUNDS = 10 };

/* class MyThread(threading.Thread): the base struct first, then the subclass's fields */
struct my_thread {
    struct thread base;
    char name[THREAD_NAME_MAX];
    int number;
    int rounds;
};

static pthread_mutex_t g_order_lock = PTHREAD_MUTEX_INITIALIZER;
static int g_order[MAX_ROUNDS][MAX_MY]; /* g_order[round][k]: who printed k-th */
static int g_norder[MAX_ROUNDS];

/* MyThread.run(self) */
static void my_run(void *arg)
{
    struct my_thread *self = arg; /* the target gets its own object back */
    for (int i = 0; i < self->rounds; i++) {
        sleep_ns(g_step);
        CHECK_PT(pthread_mutex_lock(&g_order_lock)); /* so the record matches the print */
        trace("I'm %s @ %d", self->base.name, i);
        g_order[i][g_norder[i]++] = self->number;
        CHECK_PT(pthread_mutex_unlock(&g_order_lock));
    }
}

int main(int argc, char **argv)
{
    long nmy = 5, rounds = 3, count = 6;
    const struct cli_opt opts[] = {
        { "step", CLI_DURATION, &g_step, "pause between a thread's steps", NS_PER_MS, 10 * NS_PER_S, "20ms", NULL },
        { "count", CLI_INT, &count, "how far aaa and bbb count", 1, 100, "6", NULL },
        { "threads", CLI_INT, &nmy, "MyThread objects in part 2", 1, MAX_MY, "5", NULL },
        { "rounds", CLI_INT, &rounds, "rounds each MyThread prints", 1, MAX_ROUNDS, "3", NULL },
        { 0 },
    };
    struct cli cli = { 0 };
    cli_parse(argc, argv,
              "Threads with arguments and names, current_thread, enumerate and join; a\n"
              "shared global; and a run order that changes from round to round.", opts, &cli);

    trace_start();
    char buf[512];
    trace("part 1: Thread(target=...) with args and kwargs");
    trace("main: current_thread() is %s, pid %d", thread_current()->name, (int)getpid());
    show_enumerate("before start");

    struct aaa_args pos = { (int)count }; /* args=(6,): by position */
    struct thread aaa_thread = { .name = "aaa_thread", .target = aaa, .arg = &pos };
    struct bbb_args kw = { .num2 = (int)count }; /* kwargs={'num2': 6}: by name */
    struct thread bbb_thread = { .name = "bbb_thread", .target = bbb, .arg = &kw };
    thread_start(&aaa_thread);
    thread_start(&bbb_thread);
    show_enumerate("after start");
    show_kernel_view();

    sleep_ns(g_step + g_step / 2);
    trace("main, %.2fs later: lst = %s (aaa_thread's appends, seen here: one memory)",
          (double)(g_step + g_step / 2) / 1e9, lst_text(buf, sizeof buf));
    thread_join(&aaa_thread);
    thread_join(&bbb_thread);
    trace("main: joined both; is_alive: aaa_thread=%s, bbb_thread=%s; lst = %s",
          thread_is_alive(&aaa_thread) ? "yes" : "no", thread_is_alive(&bbb_thread) ? "yes" : "no",
          lst_text(buf, sizeof buf));
    show_enumerate("after join");

    trace("part 2: %ld MyThread objects (a subclass with run()), %ld rounds each", nmy, rounds);
    struct my_thread my[MAX_MY];
    for (int i = 0; i < nmy; i++) {
        my[i] = (struct my_thread){ .number = i + 1, .rounds = (int)rounds };
        snprintf(my[i].name, sizeof my[i].name, "Thread-%d", (i + 1) % 100);
        my[i].base = (struct thread){ .name = my[i].name, .target = my_run, .arg = &my[i] };
    }
    for (int i = 0; i < nmy; i++)
        thread_start(&my[i].base);
    for (int i = 0; i < nmy; i++)
        thread_join(&my[i].base);

    int differ = 0;
    for (int r = 0; r < rounds; r++) {
        size_t k = 0;
        for (int i = 0; i < g_norder[r]; i++)
            k += (size_t)snprintf(buf + k, sizeof buf - k, "%sThread-%d", i ? ", " : "", g_order[r][i]);
        if (r > 0 && memcmp(g_order[r], g_order[0], sizeof g_order[0]) != 0)
            differ++;
        trace("round %d: printed in the order %s", r, buf);
    }
    trace("%d of %ld later rounds differ from round 0: the scheduler picks, run it again and see",
          differ, rounds - 1);
    thread_shutdown(); /* nothing is left to join; Python's interpreter does this at exit */
    return 0;
}
