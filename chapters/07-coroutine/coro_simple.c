/* coro_simple.c: stackful coroutines to read in one sitting: a stack each, and a switch.
 *
 * A coroutine is a stack (mmap'd), a saved stack pointer and a little bookkeeping.
 * The switch, wb_simple_swap, is called like any function: it pushes the registers a
 * called function must give back unchanged (x86-64 System V: rbx, rbp, r12-r15),
 * stores the stack pointer, loads the other coroutine's, pops *its* registers and
 * returns, on the other stack, to where that coroutine once called wb_simple_swap.
 * Everything else (rax, rcx, the vector registers...) the caller gave up by making a
 * call. A new coroutine's stack is written to look like a suspended one, so that the
 * first switch to it "returns" into coro_entry. The value passed travels in t_value.
 * Why 15 hand-written instructions rather than swapcontext(3), as cloudwu/coroutine
 * has it: they are the whole idea, which swapcontext hides in libc (with a system call
 * per switch: switch_cost.c). Other CPUs get swapcontext (the #else).
 *
 * The API is a subset of coro.h (coro_create takes no flags), so a program or a test
 * links this file or coro.c: coro_overflow_simple is coro_overflow on this file, and
 * tests/test_coro_simple.c runs the cases of test_coro.c that apply. What it lacks,
 * and coro.c adds: a guard page below each stack (here a coroutine that runs off the
 * end of its stack writes over the stack below, and nothing notices: coro_overflow);
 * a cache of finished stacks; copied stacks (greenlet's way); FPU modes of its own; a
 * user pointer; checks; telling ASan and TSan of each switch (coro.c's header says
 * what each needs). Deliberate duplicates of coro.c: the register swap, the first
 * frame's layout, and telling valgrind where the stacks are.
 */
#include "coro.h"

#include <stdlib.h>
#include <sys/mman.h>
#if !defined(__x86_64__)
#include <ucontext.h>
#endif
/* valgrind must know where the stacks are, or it takes a switch for a huge stack frame
 * and reports reads of the other stacks; its header is optional */
#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define REGISTER(c) ((c)->vg_id = VALGRIND_STACK_REGISTER((c)->stack, (c)->stack + (c)->size))
#define DEREGISTER(c) VALGRIND_STACK_DEREGISTER((c)->vg_id)
#endif
#endif
#ifndef REGISTER
#define REGISTER(c) ((void)(c))
#define DEREGISTER(c) ((void)(c))
#endif

struct coro {
#if defined(__x86_64__)
    void *sp;              /* its stack pointer, while it is suspended */
#else
    ucontext_t uc;         /* its registers, while it is suspended */
#endif
    struct coro *parent;   /* gets the value fn returns */
    coro_fn fn;
    char *stack;           /* `size` bytes; NULL for a thread's main coroutine */
    size_t size;
    unsigned vg_id;        /* valgrind's name for the stack */
    bool started, done;
};

static _Thread_local struct coro t_main;     /* the thread's own stack */
static _Thread_local struct coro *t_current; /* who runs now (NULL: main) */
static _Thread_local void *t_value;          /* the value a switch hands over */

struct coro *coro_current(void)
{
    return t_current ? t_current : &t_main;
}

/* The first code a coroutine runs, reached by the first switch to it. */
static void coro_entry(void)
{
    struct coro *self = t_current;
    void *ret = self->fn(t_value);
    self->done = true;
    struct coro *p = self->parent;
    while (p->done) /* a finished parent cannot take the value: its nearest live ancestor does */
        p = p->parent;
    coro_switch(p, ret);
    fatal("coro: a finished coroutine was resumed");
}

/* ---- the switch ---- */

#if defined(__x86_64__)
#define SWITCH "x86-64 assembly"
void wb_simple_swap(void **save_sp, void *load_sp);
__asm__(".text\n"
        ".globl wb_simple_swap\n"
        ".hidden wb_simple_swap\n"
        ".type wb_simple_swap, @function\n"
        "wb_simple_swap:\n"       /* rdi = &from->sp, rsi = to->sp */
        "    pushq %rbp\n"        /* from's callee-saved registers, onto from's stack */
        "    pushq %rbx\n"
        "    pushq %r12\n"
        "    pushq %r13\n"
        "    pushq %r14\n"
        "    pushq %r15\n"
        "    movq %rsp, (%rdi)\n" /* from->sp = rsp: from is suspended */
        "    movq %rsi, %rsp\n"   /* rsp = to->sp: we stand on to's stack */
        "    popq %r15\n"         /* to's registers, in the reverse order */
        "    popq %r14\n"
        "    popq %r13\n"
        "    popq %r12\n"
        "    popq %rbx\n"
        "    popq %rbp\n"
        "    ret\n"               /* to where `to` called wb_simple_swap */
        ".size wb_simple_swap, .-wb_simple_swap\n");

static void first_frame(struct coro *c) /* as if it had called wb_simple_swap */
{
    uintptr_t *top = (uintptr_t *)((uintptr_t)(c->stack + c->size) & ~(uintptr_t)15);
    top[-1] = 0;                     /* coro_entry's return address: it never returns */
    top[-2] = (uintptr_t)coro_entry; /* popped by ret; coro_entry then sees rsp + 8 16-aligned */
    for (int i = 3; i <= 8; i++)
        top[-i] = 0;                 /* rbp, rbx, r12 .. r15 */
    c->sp = &top[-8];
}

static void swap(struct coro *from, struct coro *to)
{
    wb_simple_swap(&from->sp, to->sp);
}
#else
#define SWITCH "ucontext"
static void first_frame(struct coro *c)
{
    if (getcontext(&c->uc) == -1)
        die("getcontext");
    c->uc.uc_stack = (stack_t){ .ss_sp = c->stack, .ss_size = c->size };
    makecontext(&c->uc, coro_entry, 0); /* (uc_link NULL: coro_entry never returns) */
}

static void swap(struct coro *from, struct coro *to)
{
    if (swapcontext(&from->uc, &to->uc) == -1)
        die("swapcontext");
}
#endif

/* ---- the API ---- */

struct coro *coro_create(coro_fn fn, size_t stack_size, unsigned flags)
{
    if (flags != 0)
        fatal("coro_create: coro_simple.c takes no flags (coro.c does)");
    struct coro *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->size = stack_size ? stack_size : CORO_DEFAULT_STACK;
    c->stack = mmap(NULL, c->size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (c->stack == MAP_FAILED) {
        free(c);
        return NULL; /* (errno from mmap) */
    }
    c->fn = fn;
    c->parent = coro_current();
    first_frame(c);
    REGISTER(c);
    return c;
}

void *coro_switch(struct coro *to, void *value)
{
    struct coro *from = coro_current();
    if (to == from)
        return value;
    if (to->done)
        fatal("coro_switch: that coroutine has finished");
    to->started = true;
    t_value = value;
    t_current = to;
    swap(from, to);
    return t_value; /* someone switched back to us, and this is what they passed */
}

void coro_free(struct coro *c) /* not the running one */
{
    if (c && c->stack) {
        DEREGISTER(c);
        CHECK_SYS(munmap(c->stack, c->size));
    }
    free(c);
}

struct coro *coro_main(void) { return &t_main; }
struct coro *coro_parent(const struct coro *c) { return c == &t_main ? NULL : c->parent; }
void coro_set_parent(struct coro *c, struct coro *parent) { c->parent = parent; }
bool coro_done(const struct coro *c) { return c->done; }
bool coro_started(const struct coro *c) { return c == &t_main || c->started; }
const char *coro_backend(void) { return SWITCH; }

void coro_stack_bounds(const struct coro *c, void **lo, void **hi, void **guard)
{
    *lo = c->stack;
    *hi = c->stack + c->size;
    *guard = NULL; /* none: that is the point (coro_overflow) */
}
