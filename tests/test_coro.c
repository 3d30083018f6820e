/* test_coro.c: the stackful coroutines of chapters/07-coroutine/coro.c: switch order,
 * values both ways, return to the parent (and to a grandparent when the parent has
 * finished), FPU modes kept per coroutine or shared with the thread, deep recursion,
 * the guard page (in a child process), stacks given back, coroutines in several
 * threads.
 * tests/test_coro_uc.c runs all of it again on the ucontext switch; tests/test_coro_simple.c
 * runs the cases that apply to the minimal coroutines of coro_simple.c (CORO_SIMPLE: no
 * guard page, no cache, no flags). */
#include "common.h"
#include "testutil.h"
#include "../chapters/07-coroutine/coro.h"

#include <errno.h>
#include <fenv.h>
#include <stdint.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#if defined(__has_include)
#if __has_include(<valgrind/memcheck.h>)
#include <valgrind/memcheck.h>
#define CORO_MEMCHECK 1
#endif
#endif

#if defined(CORO_SIMPLE) && !defined(__x86_64__)
#define CORO_UCONTEXT 1 /* coro_simple.c's switch off x86-64 */
#endif
#ifdef CORO_UCONTEXT
#define EXPECTED_BACKEND "ucontext"
#elif defined(__aarch64__)
#define EXPECTED_BACKEND "aarch64 assembly"
#else
#define EXPECTED_BACKEND "x86-64 assembly"
#endif

static void test_backend(void **state)
{
    (void)state;
    assert_string_equal(coro_backend(), EXPECTED_BACKEND);
}

/* ---- order and values ---- */

static char g_log[64];
static struct coro *g_a, *g_b;

static void logc(char c)
{
    size_t n = strlen(g_log);
    assert_true(n + 1 < sizeof g_log);
    g_log[n] = c;
}

static void *ping(void *arg)
{
    for (int i = 0; i < 3; i++) {
        logc('A');
        coro_switch(g_b, arg);
    }
    return NULL;
}

static void *pong(void *arg)
{
    for (;;) {
        logc('B');
        arg = coro_switch(g_a, arg);
    }
    return NULL;
}

static void test_switch_order(void **state)
{
    (void)state;
    memset(g_log, 0, sizeof g_log);
    g_a = coro_create(ping, 0, 0);
    g_b = coro_create(pong, 0, 0);
    assert_non_null(g_a);
    assert_non_null(g_b);
    logc('m');
    coro_switch(g_a, NULL);
    logc('m');
    assert_string_equal(g_log, "mABABABm");
    assert_true(coro_done(g_a));
    assert_false(coro_done(g_b)); /* suspended in its loop: freed as it stands */
    coro_free(g_a);
    coro_free(g_b);
}

static void *adder(void *arg)
{
    long sum = (long)arg; /* the first switch's value is the argument */
    for (;;) {
        long v = (long)coro_switch(coro_parent(coro_current()), (void *)sum);
        if (v == 0)
            return (void *)(sum * 1000);
        sum += v;
    }
}

static void test_values_both_ways(void **state)
{
    (void)state;
    struct coro *c = coro_create(adder, 0, 0);
    assert_false(coro_started(c));
    assert_int_equal((long)coro_switch(c, (void *)5), 5);
    assert_true(coro_started(c));
    assert_int_equal((long)coro_switch(c, (void *)3), 8);
    assert_int_equal((long)coro_switch(c, (void *)2), 10);
    assert_false(coro_done(c));
    assert_int_equal((long)coro_switch(c, (void *)0), 10000); /* its return value */
    assert_true(coro_done(c));
    coro_free(c);
}

static void *who_am_i(void *arg)
{
    struct coro **seen = arg;
    seen[0] = coro_current();
    seen[1] = coro_parent(coro_current());
    assert_int_equal((long)coro_switch(coro_current(), (void *)7), 7); /* to itself */
    return NULL;
}

static void test_current_and_main(void **state)
{
    (void)state;
    assert_ptr_equal(coro_current(), coro_main());
    assert_null(coro_parent(coro_main()));
    struct coro *seen[2] = { 0 };
    struct coro *c = coro_create(who_am_i, 0, 0);
    coro_switch(c, seen);
    assert_ptr_equal(seen[0], c);
    assert_ptr_equal(seen[1], coro_main());
    assert_ptr_equal(coro_current(), coro_main());
    assert_int_equal((long)coro_switch(coro_main(), (void *)9), 9);
    coro_free(c);
}

/* ---- finishing returns to the parent ---- */

static void *child_fn(void *arg)
{
    (void)arg;
    return "child done";
}

static void *parent_fn(void *arg)
{
    (void)arg;
    struct coro *c = coro_create(child_fn, 0, 0); /* its parent: this coroutine */
    void *v = coro_switch(c, NULL);
    assert_true(coro_done(c));
    coro_free(c);
    assert_string_equal(v, "child done");
    return "parent done";
}

static void test_finish_returns_to_parent(void **state)
{
    (void)state;
    struct coro *p = coro_create(parent_fn, 0, 0);
    void *v = coro_switch(p, NULL);
    assert_string_equal(v, "parent done");
    assert_true(coro_done(p));
    coro_free(p);
}

static struct coro *g_orphan;

static void *orphan_fn(void *arg)
{
    (void)arg;
    coro_switch(coro_parent(coro_current()), "orphan waits");
    return "orphan done"; /* its parent has finished by now: the value goes to main */
}

static void *short_parent(void *arg)
{
    (void)arg;
    g_orphan = coro_create(orphan_fn, 0, 0);
    assert_string_equal(coro_switch(g_orphan, NULL), "orphan waits");
    return "short parent done";
}

static void test_finished_parent_passes_to_grandparent(void **state)
{
    (void)state;
    struct coro *p = coro_create(short_parent, 0, 0);
    assert_string_equal(coro_switch(p, NULL), "short parent done");
    assert_true(coro_done(p));
    assert_false(coro_done(g_orphan));
    assert_string_equal(coro_switch(g_orphan, NULL), "orphan done");
    coro_free(g_orphan);
    coro_free(p);
}

static void *return_arg(void *arg)
{
    return arg;
}

static void test_set_parent(void **state)
{
    (void)state;
    /* a coroutine made in main, re-parented under another: its result goes there */
    struct coro *c = coro_create(return_arg, 0, 0);
    struct coro *p = coro_create(parent_fn, 0, 0);
    coro_set_parent(c, p);
    assert_ptr_equal(coro_parent(c), p);
    coro_set_parent(c, coro_main());
    assert_ptr_equal(coro_switch(c, "x"), "x");
    coro_free(c);
    coro_free(p); /* never started */
}

/* ---- machine state: a CORO_OWN_FPU coroutine keeps its own rounding mode ---- */

#ifndef CORO_SIMPLE

static void *rounding(void *arg)
{
    (void)arg;
    assert_int_equal(fesetround(FE_UPWARD), 0);
    coro_switch(coro_main(), NULL);
    int mine = fegetround(); /* must still be ours after main ran */
    fesetround(FE_TONEAREST);
    return (void *)(long)mine;
}

static void test_fpu_modes_per_coroutine(void **state)
{
    (void)state;
    assert_int_equal(fegetround(), FE_TONEAREST);
    struct coro *c = coro_create(rounding, 0, CORO_OWN_FPU);
    coro_switch(c, NULL);
    assert_int_equal(fegetround(), FE_TONEAREST); /* the coroutine's mode stayed there */
    assert_int_equal(fesetround(FE_DOWNWARD), 0);
    long theirs = (long)coro_switch(c, NULL);
    assert_int_equal(theirs, FE_UPWARD);
    assert_int_equal(fegetround(), FE_DOWNWARD);
    fesetround(FE_TONEAREST);
    coro_free(c);
}
#endif

/* without CORO_OWN_FPU the hand-written switch leaves the FPU modes alone: the
 * coroutine sees the thread's rounding mode as main left it. swapcontext always saves
 * and loads them, so on the ucontext switch each coroutine keeps its own. */
static void *peek_rounding(void *arg)
{
    (void)arg;
    for (;;)
        coro_switch(coro_main(), (void *)(long)fegetround());
    return NULL;
}

static void test_fpu_modes_shared_by_default(void **state)
{
    (void)state;
    struct coro *c = coro_create(peek_rounding, 0, 0);
    assert_non_null(c);
    assert_int_equal((long)coro_switch(c, NULL), FE_TONEAREST);
    assert_int_equal(fesetround(FE_UPWARD), 0);
    long seen = (long)coro_switch(c, NULL);
    assert_int_equal(fegetround(), FE_UPWARD); /* main's own mode, whichever the switch */
    fesetround(FE_TONEAREST);
#ifdef CORO_UCONTEXT
    assert_int_equal(seen, FE_TONEAREST); /* its own, saved by swapcontext */
#else
    assert_int_equal(seen, FE_UPWARD);    /* the thread's, shared */
#endif
    coro_free(c);
}

/* uses about depth * 512 bytes of stack */
__attribute__((noinline)) static long recurse(long depth)
{
    volatile char pad[480];
    pad[0] = (char)depth;
    pad[sizeof pad - 1] = 1;
    if (depth <= 0)
        return pad[0];
    return recurse(depth - 1) + pad[sizeof pad - 1];
}

static void *deep(void *arg)
{
    return (void *)recurse((long)arg);
}

static void test_deep_recursion_fits(void **state)
{
    (void)state;
    /* about 128 KiB of frames on a 256 KiB stack (sanitizers make frames bigger) */
    struct coro *c = coro_create(deep, 256 * 1024, 0);
    assert_int_equal((long)coro_switch(c, (void *)250), 250);
    coro_free(c);
}

#ifndef CORO_SIMPLE
static void test_stack_rounding_and_guard(void **state)
{
    (void)state;
    long page = sysconf(_SC_PAGESIZE);
    struct coro *c = coro_create(child_fn, 10000, 0);
    void *lo, *hi, *guard;
    coro_stack_bounds(c, &lo, &hi, &guard);
    assert_int_equal((char *)hi - (char *)lo, (10000 + page - 1) / page * page);
    assert_ptr_equal(guard, (char *)lo - page);
    coro_free(c);
    c = coro_create(child_fn, 0, CORO_NO_GUARD);
    coro_stack_bounds(c, &lo, &hi, &guard);
    assert_int_equal((char *)hi - (char *)lo, CORO_DEFAULT_STACK);
    assert_null(guard);
    assert_string_equal(coro_switch(c, NULL), "child done");
    coro_free(c);
}
#endif

/* sizes so large that rounding them up to pages (or adding the guard page) would wrap
 * round to a small number: refused, never turned into a small stack */
static void test_huge_stack_refused(void **state)
{
    (void)state;
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    const size_t huge[] = { SIZE_MAX, SIZE_MAX - 1, SIZE_MAX - page + 1, SIZE_MAX - 2 * page + 1,
                            SIZE_MAX / 2 + 1 };
    for (size_t i = 0; i < ARRAY_LEN(huge); i++) {
#ifndef CORO_SIMPLE
        static const unsigned flag_sets[] = { 0, CORO_NO_GUARD };
#else
        static const unsigned flag_sets[] = { 0 };
#endif
        for (size_t f = 0; f < ARRAY_LEN(flag_sets); f++) {
            unsigned flags = flag_sets[f];
            errno = 0;
            struct coro *c = coro_create(child_fn, huge[i], flags);
            if (c) {
                void *lo, *hi, *guard;
                coro_stack_bounds(c, &lo, &hi, &guard);
                fail_msg("coro_create(%zu bytes) made a stack of %td bytes", huge[i], (char *)hi - (char *)lo);
            }
#ifdef CORO_SIMPLE /* its errno is mmap's, and valgrind's mmap says EINVAL where Linux says ENOMEM */
            if (errno == EINVAL && under_valgrind())
                continue;
#endif
            assert_int_equal(errno, ENOMEM);
        }
    }
}

static int count_lines(const char *path)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    int n = 0, ch;
    while ((ch = fgetc(f)) != EOF)
        n += ch == '\n';
    fclose(f);
    return n;
}

/* ---- the guard page (coro_simple.c has none: coro_overflow_simple shows what then) ---- */

#ifndef CORO_SIMPLE

enum { HIT_GUARD = 42, HIT_ELSEWHERE = 43, NO_FAULT = 44, NOT_REUSED = 45 };
static char *g_guard_lo, *g_guard_hi;

static void on_segv(int sig, siginfo_t *si, void *ctx)
{
    (void)sig;
    (void)ctx;
    char *a = si->si_addr;
    _exit(a >= g_guard_lo && a < g_guard_hi ? HIT_GUARD : HIT_ELSEWHERE);
}

static void *overflow(void *arg)
{
    (void)arg;
    recurse(1000000); /* 500 MB of frames on a 64 KiB stack */
    return NULL;
}

/* One frame of 16 KiB, four pages: on an 8 KiB stack it reaches past the 4 KiB guard
 * page in one step. Its lowest byte is written first, so without the compiler's
 * stack-clash probes (one touch per page as the frame grows, -fstack-clash-protection)
 * that write skips the guard and lands in whatever lies below it: in this test, the
 * stack of coroutine B. (Not under ASan's instrumentation: it would move the array to
 * its fake stack on the heap, away from the guard.) */
__attribute__((noinline, no_sanitize_address)) static void big_frame(void)
{
    char big[16 * 1024];
    big[0] = 1;
    __asm__ volatile("" : : "r"(big) : "memory"); /* the compiler must keep all of it */
}

static void *big_frame_task(void *arg)
{
    (void)arg;
    big_frame();
    return NULL;
}

struct overflow_case {
    coro_fn fn;
    size_t stack;
    bool reuse; /* overflow a stack that the cache gives out a second time */
};

/* runs in a child: a coroutine runs past the bottom of its stack */
static void overflow_child(void *arg)
{
    const struct overflow_case *oc = arg;
    struct coro *c = coro_create(oc->fn, oc->stack, 0);
    if (c && oc->reuse) {
        void *lo0, *hi0, *guard0, *lo1, *hi1, *guard1;
        coro_stack_bounds(c, &lo0, &hi0, &guard0);
        coro_free(c); /* to the cache */
        c = coro_create(oc->fn, oc->stack, 0);
        if (!c)
            die("coro_create");
        coro_stack_bounds(c, &lo1, &hi1, &guard1);
        if (lo1 != lo0 || guard1 != guard0)
            _exit(NOT_REUSED);
    }
    /* a second coroutine, made next: its mapping lands right below c's guard page */
    struct coro *below = coro_create(child_fn, oc->stack, 0);
    if (!c || !below)
        die("coro_create");
    void *lo, *hi, *guard;
    coro_stack_bounds(c, &lo, &hi, &guard);
    g_guard_lo = guard;
    g_guard_hi = lo;
    /* the handler cannot run on the overflowed stack: give it one of its own */
    static char altstack[64 * 1024];
    stack_t ss = { .ss_sp = altstack, .ss_size = sizeof altstack };
    CHECK_SYS(sigaltstack(&ss, NULL));
    struct sigaction sa = { .sa_sigaction = on_segv, .sa_flags = SA_SIGINFO | SA_ONSTACK };
    sigemptyset(&sa.sa_mask);
    CHECK_SYS(sigaction(SIGSEGV, &sa, NULL));
    coro_switch(c, NULL);
    _exit(NO_FAULT); /* it wrote below its stack and nobody noticed */
}

static void expect_guard_fault(const struct overflow_case *oc, bool asan_may_report)
{
    struct captured *c = malloc(sizeof *c);
    assert_non_null(c);
    capture(overflow_child, (void *)oc, 30 * NS_PER_S, c);
    int code = exitcode_of(c->status);
    /* AddressSanitizer may catch a deep recursion first and report it itself */
    if (asan_may_report && code == 1 && strstr(c->err, "AddressSanitizer")) {
        free(c);
        return;
    }
    if (code != HIT_GUARD)
        fail_msg("the child ended with %d, not %d (SIGSEGV in the guard page; %d: a fault "
                 "elsewhere, %d: no fault at all)\n%s", code, HIT_GUARD, HIT_ELSEWHERE, NO_FAULT, c->err);
    free(c);
}

static void test_overflow_hits_guard_page(void **state)
{
    (void)state;
    static const struct overflow_case deep_recursion = { overflow, 64 * 1024, false };
#ifdef WB_ASAN
    expect_guard_fault(&deep_recursion, true);
#else
    expect_guard_fault(&deep_recursion, false);
#endif
}

static void test_big_frame_hits_guard_page(void **state)
{
    (void)state;
#ifdef WB_NO_STACK_CLASH
    skip(); /* this compiler cannot build with -fstack-clash-protection (mk/rules.mk) */
#endif
    static const struct overflow_case big = { big_frame_task, 8 * 1024, false };
    expect_guard_fault(&big, false);
}

/* a stack from the cache keeps its guard page */
static void test_reused_stack_keeps_guard(void **state)
{
    (void)state;
    static const struct overflow_case deep = { overflow, 64 * 1024, true };
    static const struct overflow_case big = { big_frame_task, 8 * 1024, true };
#ifdef WB_ASAN
    expect_guard_fault(&deep, true);
#else
    expect_guard_fault(&deep, false);
#endif
#ifndef WB_NO_STACK_CLASH
    expect_guard_fault(&big, false);
#endif
}

/* ---- the stack cache ---- */

static void test_stack_cache(void **state)
{
    (void)state;
    coro_cache_flush();
    struct coro_cache_stats st = coro_cache_stats();
    assert_int_equal(st.cached, 0);
    assert_int_equal(st.limit, CORO_CACHE_DEFAULT);
    struct coro *a = coro_create(child_fn, 0, 0);
    void *lo, *hi, *guard, *lo2, *hi2, *guard2;
    coro_stack_bounds(a, &lo, &hi, &guard);
    assert_string_equal(coro_switch(a, NULL), "child done");
    coro_free(a);
    assert_int_equal(coro_cache_stats().cached, 1);
    /* the same size and guard: that very stack, with no system call */
    struct coro *b = coro_create(child_fn, 0, 0);
    coro_stack_bounds(b, &lo2, &hi2, &guard2);
    assert_ptr_equal(lo2, lo);
    assert_ptr_equal(hi2, hi);
    assert_ptr_equal(guard2, guard);
    assert_int_equal(coro_cache_stats().hits, st.hits + 1);
    assert_int_equal(coro_cache_stats().cached, 0);
    assert_string_equal(coro_switch(b, NULL), "child done"); /* and it runs */
    /* another size, or no guard: not from the cache */
    coro_free(b);
    struct coro *c = coro_create(child_fn, 128 * 1024, 0), *d = coro_create(child_fn, 0, CORO_NO_GUARD);
    coro_stack_bounds(c, &lo2, &hi2, &guard2);
    assert_ptr_not_equal(lo2, lo);
    coro_stack_bounds(d, &lo2, &hi2, &guard2);
    assert_ptr_not_equal(lo2, lo);
    assert_null(guard2);
    assert_int_equal(coro_cache_stats().cached, 1); /* b's stack still waits there */
    coro_free(c);
    coro_free(d);
    assert_int_equal(coro_cache_stats().cached, 3);
    /* a lower limit unmaps what no longer fits; 0 turns the cache off */
    int maps = count_lines("/proc/self/maps");
    assert_int_equal(coro_cache_limit(1), CORO_CACHE_DEFAULT);
    assert_int_equal(coro_cache_stats().cached, 1);
    assert_true(count_lines("/proc/self/maps") < maps);
    coro_cache_limit(0);
    assert_int_equal(coro_cache_stats().cached, 0);
    a = coro_create(child_fn, 0, 0);
    coro_free(a);
    assert_int_equal(coro_cache_stats().cached, 0);
    coro_cache_limit(CORO_CACHE_DEFAULT);
}

#ifdef WB_ASAN
/* runs in a child: a pointer into a finished coroutine's stack, used after the stack
 * went to the cache */
static void *leak_a_pointer(void *arg)
{
    (void)arg;
    static volatile char *p;
    char local[64];
    p = local;
    __asm__ volatile("" : : "r"(local) : "memory");
    return (void *)p;
}

static void stale_stack_child(void *arg)
{
    (void)arg;
    struct coro *c = coro_create(leak_a_pointer, 0, 0);
    void *lo, *hi, *guard;
    coro_stack_bounds(c, &lo, &hi, &guard);
    coro_switch(c, NULL);
    coro_free(c);                   /* its stack is cached, poisoned */
    volatile char *p = (char *)hi - 256;
    *p = 1;                         /* ASan: use-after-poison */
    _exit(0);
}
#endif

static void test_cached_stack_poisoned(void **state)
{
    (void)state;
#ifdef WB_ASAN
    struct captured *c = malloc(sizeof *c);
    assert_non_null(c);
    capture(stale_stack_child, NULL, 30 * NS_PER_S, c);
    if (exitcode_of(c->status) == 0 || !strstr(c->err, "use-after-poison"))
        fail_msg("no ASan report for a write into a cached stack (exit %d)\n%s", exitcode_of(c->status), c->err);
    free(c);
#else
    skip(); /* only AddressSanitizer sees poisoned memory */
#endif
}
#endif /* CORO_SIMPLE */

/* ---- stacks are given back ---- */

#ifdef CORO_SIMPLE
/* the bytes in this process's private read-write mappings */
static size_t mapped_bytes(void)
{
    FILE *f = fopen("/proc/self/maps", "r");
    assert_non_null(f);
    size_t total = 0;
    unsigned long lo, hi;
    char perms[8];
    while (fscanf(f, "%lx-%lx %7s%*[^\n]", &lo, &hi, perms) == 3)
        if (strcmp(perms, "rw-p") == 0)
            total += hi - lo;
    fclose(f);
    return total;
}
#endif

static void *bump(void *arg)
{
    long *n = arg;
    ++*n;
    coro_switch(coro_parent(coro_current()), NULL);
    ++*n;
    return NULL;
}

static void test_stacks_freed(void **state)
{
    (void)state;
#ifndef CORO_SIMPLE
    size_t limit = coro_cache_limit(0); /* every stack goes back to the kernel at once */
#endif
    enum { N = 500 };
    static struct coro *cs[N];
    long n = 0;
    for (int round = 0; round < 2; round++) {
        int before = count_lines("/proc/self/maps");
#ifdef CORO_SIMPLE
        size_t bytes = mapped_bytes();
#endif
        for (int i = 0; i < N; i++) {
            cs[i] = coro_create(bump, 0, 0);
            assert_non_null(cs[i]);
        }
#ifndef CORO_SIMPLE
        /* every guarded stack is two mappings, unless its neighbour merged with it */
        assert_true(count_lines("/proc/self/maps") >= before + N);
#else
        /* without guard pages, neighbouring stacks merge into one mapping: count bytes */
        assert_true(mapped_bytes() >= bytes + (size_t)N * CORO_DEFAULT_STACK);
#endif
        for (int i = 0; i < N; i++)
            coro_switch(cs[i], &n); /* start them all: each stops half-way */
        for (int i = 0; i < N; i += 2)
            coro_switch(cs[i], NULL); /* finish every other one */
        for (int i = 0; i < N; i++)
            coro_free(cs[i]);
#ifndef WB_TSAN /* TSan keeps the memory of each fiber's state for reuse */
        /* (round 0 may leave malloc's own mappings behind; valgrind's own mappings are
         * in the list too, and it adds and merges them as it works) */
        if (round == 1 && !under_valgrind())
            assert_int_equal(count_lines("/proc/self/maps"), before);
#else
        (void)before;
#endif
    }
    assert_int_equal(n, 2 * (N + N / 2));
#ifndef CORO_SIMPLE
    coro_cache_limit(limit);
#endif
}

/* ---- copied stacks ---- */

#if defined(CORO_SIMPLE)
#elif !defined(CORO_UCONTEXT)
/* a local whose address the caller gets: on the shared stack (ASan would move an
 * address-taken local to its fake stack on the heap: not here) */
__attribute__((no_sanitize_address, noinline)) static void *show_local(void *arg)
{
    volatile long mine = (long)arg;
    coro_switch(coro_main(), (void *)&mine);
    return (void *)(long)mine;
}

/* the pitfall: a pointer into a switched-out coroutine's frames */
static void test_copied_pointer_pitfall(void **state)
{
    (void)state;
    struct coro *a = coro_create(show_local, 0, CORO_COPY_STACK);
    struct coro *b = coro_create(show_local, 0, CORO_COPY_STACK);
    assert_non_null(a);
    assert_non_null(b);
    volatile long *pa = coro_switch(a, (void *)111);
    assert_int_equal(*pa, 111);            /* a's frames are on the shared stack */
    volatile long *pb = coro_switch(b, (void *)222);
    assert_ptr_equal(pb, pa);              /* b's local sits at the very same address */
    assert_int_equal(*pa, 222);            /* so a's pointer now reads b's local */
    *pa = 333;                             /* and writes b's */
    assert_int_equal((long)coro_switch(a, NULL), 111); /* a's own copy came back intact */
    assert_int_equal((long)coro_switch(b, NULL), 333);
    assert_true(coro_done(a) && coro_done(b));
    coro_free(a);
    coro_free(b);
}

/* each copied coroutine recurses to its own depth, a local per frame, and yields at
 * the bottom; others run over the same stack between its turns */
__attribute__((noinline)) static long nest(long depth, long seed)
{
    volatile long local[4] = { seed, seed * 3, seed * 7, depth };
    long below = depth > 0 ? nest(depth - 1, seed + 1) : (long)coro_switch(coro_main(), NULL);
    return below + local[0] + local[1] + local[2] + local[3];
}

static long nest_expected(long depth, long seed, long bottom)
{
    long sum = bottom;
    for (long d = depth, k = seed; d >= 0; d--, k++)
        sum += k * 11 + d;
    return sum;
}

static void *nest_task(void *arg)
{
    long depth = (long)arg;
    long total = 0;
    for (long round = 0; round < 3; round++)
        total += nest(depth, depth * 100 + round); /* three trips down and up */
    return (void *)total;
}

static void test_copied_locals_intact(void **state)
{
    (void)state;
    static const long depths[] = { 0, 1, 5, 50, 300 };
    enum { N = ARRAY_LEN(depths) };
    struct coro *c[N];
    long bottoms[N] = { 0 }, want[N] = { 0 };
    for (int i = 0; i < N; i++) {
        c[i] = coro_create(nest_task, 0, CORO_COPY_STACK);
        assert_non_null(c[i]);
    }
    long turn = 1;
    for (int i = 0; i < N; i++)
        coro_switch(c[i], (void *)depths[i]); /* each goes down to its bottom */
    /* (saved lazily: the last one still has the stack; the one before was saved) */
    bool saved_deep = coro_saved_bytes(c[N - 2]) > coro_saved_bytes(c[0]) + 50 * 32;
    long result[N] = { 0 };
    bool live = true;
    while (live) { /* round robin: resume each at its bottom with a fresh value */
        live = false;
        for (int i = N - 1; i >= 0; i--) {
            if (coro_done(c[i]))
                continue;
            long round = bottoms[i]++;
            want[i] += nest_expected(depths[i], depths[i] * 100 + round, turn);
            void *v = coro_switch(c[i], (void *)turn++);
            if (coro_done(c[i]))
                result[i] = (long)v;
            else
                live = true;
        }
    }
    for (int i = 0; i < N; i++) {
        assert_int_equal(bottoms[i], 3);
        assert_int_equal(result[i], want[i]);
        coro_free(c[i]);
    }
    assert_true(saved_deep); /* the deeper one's frames took more to save */
}

/* What valgrind's memcheck sees of the shared stack (coro.c, "copied stacks"): a
 * coroutine's frames are addressable while they are on it, and once a shallower one's
 * frames have taken their place, the deeper part is no-access, so that memcheck
 * reports a pointer into them. Checked with a memcheck request that answers without
 * reporting (VALGRIND_GET_VBITS: 3 when some byte is not addressable); only under
 * valgrind (tests/valgrind.sh runs this file so). */
#ifdef CORO_MEMCHECK
static void *hold_local(void *arg)
{
    volatile long mine = (long)arg;
    coro_switch(coro_main(), (void *)&mine);
    coro_switch(coro_main(), (void *)&mine);
    return (void *)(long)mine;
}

__attribute__((noinline)) static void *hold_local_deeper(void *arg)
{
    volatile char room[2048]; /* puts hold_local's frame 2 KiB further down */
    room[0] = 1;
    return (char *)hold_local(arg) + room[0] - 1;
}
#endif

static void test_copied_frames_memcheck(void **state)
{
    (void)state;
#ifdef CORO_MEMCHECK
    if (!under_valgrind())
        skip();
    struct coro *a = coro_create(hold_local_deeper, 0, CORO_COPY_STACK);
    struct coro *b = coro_create(hold_local, 0, CORO_COPY_STACK);
    assert_non_null(a);
    assert_non_null(b);
    char bits[sizeof(long)];
    volatile long *pa = coro_switch(a, (void *)111);
    assert_int_equal(VALGRIND_GET_VBITS(pa, bits, sizeof bits), 1); /* a's, addressable */
    volatile long *pb = coro_switch(b, (void *)222);                /* b takes the stack */
    assert_true((char *)pa + 1024 < (char *)pb);                    /* a's local was deeper */
    assert_int_equal(VALGRIND_GET_VBITS(pb, bits, sizeof bits), 1);
    assert_int_equal(VALGRIND_GET_VBITS(pa, bits, sizeof bits), 3); /* below b: no-access */
    assert_ptr_equal(coro_switch(a, NULL), pa);                     /* a's frames are back */
    assert_int_equal(VALGRIND_GET_VBITS(pa, bits, sizeof bits), 1);
    assert_int_equal(*pa, 111);
    assert_int_equal((long)coro_switch(a, NULL), 111);
    assert_ptr_equal(coro_switch(b, NULL), pb);
    assert_int_equal((long)coro_switch(b, NULL), 222);
    coro_free(a);
    coro_free(b);
#else
    skip(); /* valgrind's header was missing at build time */
#endif
}

/* copied coroutines switching straight to each other, greenlet's ping-pong: each
 * switch hops through the helper that moves the frames */
static struct coro *g_ping, *g_pong;

static void *ping_copied(void *arg)
{
    long sum = 0;
    for (long i = (long)arg; i < 100; i += 2) {
        volatile long mine = i; /* a local on the shared stack, across the switch */
        sum += (long)coro_switch(g_pong, (void *)(i + 1));
        if (mine != i)
            return (void *)-1L;
    }
    return (void *)sum;
}

static void *pong_copied(void *arg)
{
    for (long v = (long)arg;;) {
        volatile long mine = v * 3;
        v = (long)coro_switch(g_ping, (void *)mine);
        if (mine % 3 != 0)
            return (void *)-1L;
    }
    return NULL;
}

static void test_copied_to_copied(void **state)
{
    (void)state;
    g_ping = coro_create(ping_copied, 0, CORO_COPY_STACK);
    g_pong = coro_create(pong_copied, 0, CORO_COPY_STACK);
    assert_non_null(g_ping);
    assert_non_null(g_pong);
    long sum = (long)coro_switch(g_ping, (void *)0L); /* ping returns it to main, its parent */
    long want = 0;
    for (long i = 0; i < 100; i += 2)
        want += (i + 1) * 3;
    assert_int_equal(sum, want);
    assert_true(coro_done(g_ping));
    assert_false(coro_done(g_pong));
    coro_free(g_ping);
    coro_free(g_pong);
}
#else
static void test_copied_unavailable(void **state)
{
    (void)state;
    errno = 0;
    assert_null(coro_create(child_fn, 0, CORO_COPY_STACK));
    assert_int_equal(errno, ENOTSUP);
}
#endif

/* ---- threads: each has its own main coroutine ---- */

struct pingpong {
    struct coro *main, *co;
    long rounds, total;
};

static void *counting(void *arg)
{
    struct pingpong *p = arg;
    for (long i = 0; i < p->rounds; i++)
        p->total += (long)coro_switch(p->main, (void *)i);
    return NULL;
}

static void *thread_fn(void *arg)
{
    struct pingpong *p = arg;
    p->main = coro_current();
    p->co = coro_create(counting, 0, 0);
    if (!p->co)
        return NULL;
    void *v = coro_switch(p->co, p);
    while (!coro_done(p->co))
        v = coro_switch(p->co, (void *)((long)v + 1));
    coro_free(p->co);
    return NULL;
}

static void test_threads(void **state)
{
    (void)state;
    struct pingpong p[2] = { { .rounds = 20000 }, { .rounds = 30000 } };
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        CHECK_PT(pthread_create(&th[i], NULL, thread_fn, &p[i]));
    for (int i = 0; i < 2; i++)
        CHECK_PT(pthread_join(th[i], NULL));
    assert_ptr_not_equal(p[0].main, p[1].main);
    assert_ptr_not_equal(p[0].main, coro_main());
    for (int i = 0; i < 2; i++) /* sum of i + 1 for i < rounds */
        assert_int_equal(p[i].total, p[i].rounds * (p[i].rounds + 1) / 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_backend),
        cmocka_unit_test(test_switch_order),
        cmocka_unit_test(test_values_both_ways),
        cmocka_unit_test(test_current_and_main),
        cmocka_unit_test(test_finish_returns_to_parent),
        cmocka_unit_test(test_finished_parent_passes_to_grandparent),
        cmocka_unit_test(test_set_parent),
#ifndef CORO_SIMPLE
        cmocka_unit_test(test_fpu_modes_per_coroutine),
#endif
        cmocka_unit_test(test_fpu_modes_shared_by_default),
        cmocka_unit_test(test_deep_recursion_fits),
#ifndef CORO_SIMPLE
        cmocka_unit_test(test_stack_rounding_and_guard),
#endif
        cmocka_unit_test(test_huge_stack_refused),
#ifndef CORO_SIMPLE
        cmocka_unit_test(test_overflow_hits_guard_page),
        cmocka_unit_test(test_big_frame_hits_guard_page),
        cmocka_unit_test(test_reused_stack_keeps_guard),
        cmocka_unit_test(test_stack_cache),
        cmocka_unit_test(test_cached_stack_poisoned),
#endif
        cmocka_unit_test(test_stacks_freed),
#if defined(CORO_SIMPLE)
#elif !defined(CORO_UCONTEXT)
        cmocka_unit_test(test_copied_pointer_pitfall),
        cmocka_unit_test(test_copied_locals_intact),
        cmocka_unit_test(test_copied_to_copied),
        cmocka_unit_test(test_copied_frames_memcheck),
#else
        cmocka_unit_test(test_copied_unavailable),
#endif
        cmocka_unit_test(test_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
