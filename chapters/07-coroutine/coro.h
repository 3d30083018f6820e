/* coro.h: stackful coroutines, greenlet style.
 *
 * A coroutine here is a function with a stack of its own. Switching to it saves where
 * the current one stands (its registers, on its own stack) and resumes the other where
 * it stood. Nothing is copied and the kernel is not asked: it is a function call that
 * returns on another stack. Python's greenlet is the same idea, with the interpreter's
 * frames on top.
 *
 *   Python (greenlet)                     C
 *   g = greenlet(run)                     struct coro *g = coro_create(run, 0, 0);
 *   g.switch(x)  (first: run(x))          void *y = coro_switch(g, x);
 *   greenlet.getcurrent()                 coro_current()
 *   g.parent, g.dead                      coro_parent(g), coro_done(g)
 *   run returns v: the parent gets v      run returns v: the parent's coro_switch returns v
 *
 * Rules: a coroutine belongs to the thread that created it (each thread has its own
 * main coroutine, its original stack); coro_free() a coroutine only when it is not
 * running and after the coroutines whose parent it is. When a coroutine's function
 * returns, the value goes to its parent (or, if the parent has finished, to the
 * nearest ancestor that has not), as greenlet does.
 *
 * Three ways to switch, chosen when coro.c is compiled (see the comments there):
 *   "x86-64 assembly"   16 hand-written instructions (the default on x86-64);
 *   "aarch64 assembly"  26 of them (the default on 64-bit Arm; `make test-aarch64`
 *                       tests it under qemu);
 *   "ucontext"          getcontext/makecontext/swapcontext from libc, the portable
 *                       fallback: define CORO_UCONTEXT (coro_ucontext.c does), or build
 *                       on any other CPU. It has no copied stacks (CORO_COPY_STACK:
 *                       ENOTSUP); everything else works on all three.
 * All pass the same tests (tests/test_coro.c and tests/test_coro_uc.c).
 *
 * coro_simple.c implements part of this API, the part to read first: coro_create
 * (without flags), coro_switch, coro_current, coro_main, coro_parent, coro_set_parent,
 * coro_done, coro_started, coro_free, coro_stack_bounds (no guard) and coro_backend.
 */
#ifndef WORKBOOK_CORO_H
#define WORKBOOK_CORO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* common.h defines WB_ASAN / WB_TSAN in sanitizer builds: a coroutine switch must be
 * announced to both (coro.c). */
#include "common.h"

/* The body of a coroutine: it receives the value of the first switch to it, and what
 * it returns goes to its parent. */
typedef void *(*coro_fn)(void *arg);

enum {
    CORO_DEFAULT_STACK = 64 * 1024, /* bytes of stack when 0 is asked for */
    CORO_CACHE_DEFAULT = 256,       /* stacks a thread keeps for reuse (coro_cache_limit) */
    CORO_NO_GUARD = 1,              /* flag: no guard page under the stack (see coro.c) */
    CORO_OWN_FPU = 2,               /* flag: FPU modes (rounding...) of its own (coro.c) */
    CORO_COPY_STACK = 4,            /* flag: run on the thread's shared stack (below) */
    CORO_SHARED_STACK = 256 * 1024, /* bytes of that shared stack */
};

struct coro;

/* A new coroutine that will run fn on a stack of stack_size bytes (0: the default,
 * rounded up to whole pages), with a guard page below it unless flags has
 * CORO_NO_GUARD. Its parent is the coroutine that creates it. It does not run until
 * the first coro_switch to it. Coroutines share the thread's FPU modes (rounding,
 * precision, exception masks), as they share its signal mask, unless created with
 * CORO_OWN_FPU (the ucontext switch ignores the flag: swapcontext always gives each
 * coroutine modes of its own). Returns NULL with errno set if memory ran out (ENOMEM, also when the
 * kernel's limit on memory mappings is reached, and for a stack_size larger than half
 * the address space, which no machine can map). */
struct coro *coro_create(coro_fn fn, size_t stack_size, unsigned flags);

/* Copied stacks, greenlet's way: a coroutine created with CORO_COPY_STACK has no
 * stack of its own. It runs on a stack its thread shares among all such coroutines
 * (CORO_SHARED_STACK bytes; stack_size is ignored), and when another one needs that
 * stack, the used part of its frames is copied to the heap and copied back before it
 * runs again. A suspended one costs what its frames use (coro_saved_bytes), a switch
 * costs the copies (and, between two copied ones, one more swap through a helper).
 * The rule: never keep a pointer to its locals while it is switched out: the address
 * then holds another coroutine's frames. Not available on the ucontext switch
 * (coro_create fails with ENOTSUP). */
size_t coro_saved_bytes(const struct coro *c); /* heap bytes holding its frames */

/* Suspends the current coroutine and resumes `to`, handing it `value`: the first
 * switch to a new coroutine passes value as fn's argument; later ones make to's own
 * pending coro_switch return value. Returns when some coroutine switches back here,
 * with the value it passed (or with fn's return value, when a child finishes).
 * Switching to the current coroutine returns value at once; switching to a finished
 * one is a bug and ends the program. */
void *coro_switch(struct coro *to, void *value);

struct coro *coro_current(void);  /* the running coroutine (the main one at first) */
struct coro *coro_main(void);     /* this thread's main coroutine */
struct coro *coro_parent(const struct coro *c);
void coro_set_parent(struct coro *c, struct coro *parent);
bool coro_done(const struct coro *c);     /* its function has returned */
bool coro_started(const struct coro *c);  /* it has run at least once */

/* A pointer of the caller's own, kept with the coroutine (the hub keeps its task). */
void coro_set_user(struct coro *c, void *user);
void *coro_user(const struct coro *c);

/* Frees the coroutine; its stack goes to this thread's stack cache (below), or back to
 * the kernel if the cache is full. Not the running one nor a main one. A suspended
 * coroutine is simply dropped: its function never resumes, nothing on its stack is
 * cleaned up (greenlet would raise GreenletExit in it first). */
void coro_free(struct coro *c);

/* The stack cache. coro_free keeps the stacks of finished coroutines, up to a limit
 * per thread (CORO_CACHE_DEFAULT at first), and coro_create reuses one of the same
 * size and guard before it maps a new one: a birth without system calls. Guard pages
 * stay. coro_cache_limit sets this thread's limit (0: no cache) and returns the old
 * one, unmapping what no longer fits; coro_cache_flush unmaps every cached stack (a
 * thread's are unmapped when it exits). */
size_t coro_cache_limit(size_t limit);
void coro_cache_flush(void);
struct coro_cache_stats {
    size_t cached, limit;  /* stacks kept now, and the most that will be */
    uint64_t hits, misses; /* coro_create calls served from the cache, and not */
};
struct coro_cache_stats coro_cache_stats(void);

/* Where c's stack lies: usable [lo, hi), and the guard page [guard, guard + page)
 * (guard is NULL without one). For the tests and for the curious. */
void coro_stack_bounds(const struct coro *c, void **lo, void **hi, void **guard);

/* "x86-64 assembly", "aarch64 assembly" or "ucontext": which switch this build uses. */
const char *coro_backend(void);

/* The stack allocator itself, for code that switches stacks by other means (the
 * switch_cost benchmark's bare swap and raw ucontext): mmap'd, guard page below unless
 * CORO_NO_GUARD, registered with valgrind. Returns 0, or -1 with errno. */
struct coro_stack {
    char *map;        /* the whole mapping, guard page included */
    size_t map_len;
    char *lo, *hi;    /* the usable stack */
    unsigned vg_id;   /* valgrind's id for it (0 without valgrind) */
};
int coro_stack_alloc(struct coro_stack *s, size_t size, unsigned flags);
void coro_stack_free(struct coro_stack *s);

#endif
