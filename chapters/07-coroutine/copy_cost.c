/* copy_cost.c: copied stacks (greenlet's way): what a switch costs as the frames to
 * copy grow, and what a suspended task weighs, against coroutines with stacks of
 * their own.
 *
 * Mirrors: greenlet, which keeps no stack per greenlet: on a switch it copies the live
 * part of the C stack to the heap and copies the other greenlet's part back (libaco's
 * "shared stack" does the same). A suspended greenlet costs what its frames use, and
 * a switch costs the copy.
 *
 * Part 1: two coroutines A and B, each suspended in a frame holding K bytes of locals
 * (8 B to 64 KiB). Main resumes A, then B, then A... Each resume of a copied coroutine
 * first copies the other one's frames (a little over K bytes) to the heap and its own
 * back, then switches; the round trip in and out is timed (median of --samples), with
 * the same two coroutines on stacks of their own beside it: no copy at all. (Past
 * 512 bytes the rounds shrink as K grows, so every size copies about as much.)
 *
 * Part 2: --tasks coroutines suspended in such a frame at once, in a fresh child
 * process; the resident memory grown, per task. A copied one holds a heap buffer of its frames (coro_saved_bytes);
 * a stackful one the pages of its stack it touched, at least one 4 KiB page.
 *
 * Run:  ./copy_cost [--samples 11] [--rounds 20000] [--tasks 2000] [--data FILE]
 * Look for: the copied round trip growing with K (the copies) while the stackful one
 * stays flat; equal at a few hundred bytes of frames, ten or a hundred times slower at
 * 64 KiB; memory the other way round: a copied task of small frames weighs a few
 * hundred bytes, a stackful one a page or more.
 * See also: coro.c (copied stacks), many_sleepers.c (a million copied tasks).
 */
#include "common.h"
#include "coro.h"
#include "sleepers.h" /* rss_kib */

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static const long g_sizes[] = { 8, 64, 512, 2048, 8192, 32768, 65536 };
enum { NSIZES = ARRAY_LEN(g_sizes) };

/* a frame with k bytes of locals, touched at both ends; suspended in it for ever */
__attribute__((noinline)) static void hold_frame(long k)
{
    char pad[k];
    pad[0] = 1;
    pad[k - 1] = 1;
    __asm__ volatile("" : : "r"(pad) : "memory");
    for (;;)
        coro_switch(coro_main(), NULL);
}

static void *holder(void *arg)
{
    hold_frame((long)arg);
    return NULL;
}

/* ns per round trip into one of a, b and back, alternating */
static double round_trip_ns(struct coro *a, struct coro *b, long rounds)
{
    int64_t t0 = now_ns();
    for (long i = 0; i < rounds; i++) {
        coro_switch(a, NULL);
        coro_switch(b, NULL);
    }
    return (double)(now_ns() - t0) / (2.0 * (double)rounds);
}

static struct coro *make(long k, unsigned flags)
{
    struct coro *c = coro_create(holder, 128 * 1024, flags);
    if (!c)
        die("coro_create");
    coro_switch(c, (void *)k); /* it runs into its frame and stops there */
    return c;
}

/* resident KiB per task for n tasks suspended in a k-byte frame, weighed in a fresh
 * child process (so no memory freed by an earlier size is reused, unseen) */
static double weigh(long n, long k, unsigned flags)
{
    double *kib = mmap(NULL, sizeof *kib, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (kib == MAP_FAILED)
        die("mmap");
    pid_t pid = fork_child();
    if (pid == 0) {
        struct coro **c = calloc((size_t)n, sizeof *c);
        if (!c)
            die_child("calloc");
        long rss0 = rss_kib();
        for (long i = 0; i < n; i++)
            c[i] = make(k, flags);
        if (flags & CORO_COPY_STACK)
            coro_switch(c[0], NULL); /* the last one made is saved away too */
        *kib = (double)(rss_kib() - rss0) / (double)n;
        _exit(0);
    }
    int status;
    if (child_wait(pid, 120 * NS_PER_S, &status) != 0 || exitcode_of(status) != 0)
        fatal("the weighing child failed");
    double v = *kib;
    CHECK_SYS(munmap(kib, sizeof *kib));
    return v < 0 ? 0 : v;
}

int main(int argc, char **argv)
{
    long samples = 11, rounds = 20000, tasks = 2000;
    const struct cli_opt opts[] = {
        { "samples", CLI_INT, &samples, "samples per size (the median is reported)", 3, 1001, "3", NULL },
        { "rounds", CLI_INT, &rounds, "round trips per sample", 100, 10000000, "300", NULL },
        { "tasks", CLI_INT, &tasks, "suspended tasks weighed per size", 10, 100000, "100", NULL },
        { 0 },
    };
    struct cli cli = { .measures = true };
    cli_parse(argc, argv,
              "Copied stacks: the switch cost against the bytes copied, and the memory of a\n"
              "suspended task, beside coroutines with stacks of their own.", opts, &cli);
    FILE *data = data_open(cli.data, "copy_cost: copied stacks against stacks of their own");
    printf("copy_cost: %s%s\n", machine_string(),
#if defined(WB_ASAN) || defined(WB_TSAN)
           " (sanitizer build: the timings mean little)"
#else
           ""
#endif
    );
    if (strcmp(coro_backend(), "ucontext") == 0) {
        printf("this build's switch is the ucontext one: it has no copied stacks\n");
        data_close(data);
        return 0;
    }

    printf("\nround trip into a coroutine suspended in a frame of K bytes, and back "
           "(median of %ld samples)\n", samples);
    printf("  %8s %12s %14s %14s %10s\n", "K bytes", "saved bytes", "copied (ns)", "own stack (ns)", "ratio");
    static const char *const cols1[] = {
        "k (bytes): locals in the suspended frame", "saved (bytes): heap buffer per copied task",
        "copied (ns): round trip, median", "p10 (ns)", "p90 (ns)", "own (ns): round trip on stacks of their own",
        NULL,
    };
    data_block(data, "round trip", cols1);
    double *ns = calloc((size_t)samples, sizeof *ns), *own = calloc((size_t)samples, sizeof *own);
    if (!ns || !own)
        die("calloc");
    for (int i = 0; i < NSIZES; i++) {
        long k = g_sizes[i];
        struct coro *a = make(k, CORO_COPY_STACK), *b = make(k, CORO_COPY_STACK);
        struct coro *sa = make(k, 0), *sb = make(k, 0);
        long n = rounds * 512 / (k > 512 ? k : 512); /* as many bytes copied at every size */
        n = n < 50 ? 50 : n;
        round_trip_ns(a, b, n / 10 + 1); /* warm-up */
        round_trip_ns(sa, sb, n / 10 + 1);
        for (long s = 0; s < samples; s++) { /* the two take turns, sample by sample */
            ns[s] = round_trip_ns(a, b, n);
            own[s] = round_trip_ns(sa, sb, n);
        }
        size_t saved = coro_saved_bytes(a);
        struct summary c = summarize(ns, (size_t)samples), o = summarize(own, (size_t)samples);
        printf("  %8ld %12zu %14.1f %14.1f %9.1fx\n", k, saved, c.median, o.median, c.median / o.median);
        fflush(stdout);
        data_row(data, "%ld %zu %.2f %.2f %.2f %.2f\n", k, saved, c.median, c.p10, c.p90, o.median);
        coro_free(a);
        coro_free(b);
        coro_free(sa);
        coro_free(sb);
    }

    printf("\nmemory per suspended task (%ld tasks, resident memory grown)\n", tasks);
    printf("  %8s %14s %14s\n", "K bytes", "copied (KiB)", "own stack (KiB)");
    static const char *const cols2[] = {
        "k (bytes): locals in the suspended frame", "copied (KiB): resident memory per copied task",
        "own (KiB): per task with a 128 KiB stack of its own", NULL,
    };
    data_block(data, "memory per suspended task", cols2);
    for (int i = 0; i < NSIZES; i++) {
        long k = g_sizes[i];
        double c = weigh(tasks, k, CORO_COPY_STACK), o = weigh(tasks, k, 0);
        printf("  %8ld %14.2f %14.2f\n", k, c, o);
        fflush(stdout);
        data_row(data, "%ld %.3f %.3f\n", k, c, o);
    }
    free(ns);
    free(own);
    data_close(data);
    return 0;
}
