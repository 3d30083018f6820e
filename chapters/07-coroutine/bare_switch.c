/* bare_switch.c: the bare register swap and raw swapcontext (bare_switch.h).
 *
 * The bare swap returns onto another stack, like coro.c's: mk/rules.mk builds this file
 * as not shadow-stack compatible (NO_SHSTK there). It is coro.c's wb_coro_swap without
 * the move of the value into rax, and coro_simple.c's wb_simple_swap under another
 * name: the same instructions, measured here with nothing around them.
 */
#include "bare_switch.h"
#include "coro.h"

#include <ucontext.h>

#ifdef HAVE_BARE
void wb_bare_swap(void **save_sp, void *load_sp);
__asm__(
    ".text\n"
    ".globl wb_bare_swap\n"
    ".hidden wb_bare_swap\n"
    ".type wb_bare_swap, @function\n"
    ".p2align 4\n"
    "wb_bare_swap:\n"
    "    pushq %rbp\n"
    "    pushq %rbx\n"
    "    pushq %r12\n"
    "    pushq %r13\n"
    "    pushq %r14\n"
    "    pushq %r15\n"
    "    movq %rsp, (%rdi)\n"
    "    movq %rsi, %rsp\n"
    "    popq %r15\n"
    "    popq %r14\n"
    "    popq %r13\n"
    "    popq %r12\n"
    "    popq %rbx\n"
    "    popq %rbp\n"
    "    ret\n"
    ".size wb_bare_swap, .-wb_bare_swap\n");

static void *g_main_sp, *g_bare_sp;
static struct coro_stack g_bare_stack;

static void bare_loop(void)
{
    for (;;)
        wb_bare_swap(&g_bare_sp, g_main_sp);
}

void bare_setup(void)
{
    if (coro_stack_alloc(&g_bare_stack, 16 * 1024, 0) == -1)
        die("coro_stack_alloc");
    uintptr_t *top = (uintptr_t *)((uintptr_t)g_bare_stack.hi & ~(uintptr_t)15);
    top[-1] = 0;                     /* bare_loop's return address: it never returns */
    top[-2] = (uintptr_t)bare_loop;  /* popped by ret; bare_loop sees rsp+8 16-aligned */
    for (int i = 3; i <= 8; i++)
        top[-i] = 0;                 /* rbp, rbx, r12..r15 */
    g_bare_sp = &top[-8];
}

void bare_rounds(long n)
{
    for (long i = 0; i < n; i++)
        wb_bare_swap(&g_main_sp, g_bare_sp);
}

void bare_teardown(void)
{
    coro_stack_free(&g_bare_stack);
}
#endif

#ifdef HAVE_RAW_UCONTEXT
static ucontext_t g_main_uc, g_other_uc;
static struct coro_stack g_uc_stack;

static void uc_loop(void)
{
    for (;;)
        if (swapcontext(&g_other_uc, &g_main_uc) == -1)
            die("swapcontext");
}

/* getcontext returns twice: alone in its function, nothing lives across it */
__attribute__((noinline)) static void get_context(ucontext_t *uc)
{
    if (getcontext(uc) == -1)
        die("getcontext");
}

void raw_uc_setup(void)
{
    if (coro_stack_alloc(&g_uc_stack, CORO_DEFAULT_STACK, 0) == -1)
        die("coro_stack_alloc");
    get_context(&g_other_uc);
    g_other_uc.uc_stack.ss_sp = g_uc_stack.lo;
    g_other_uc.uc_stack.ss_size = (size_t)(g_uc_stack.hi - g_uc_stack.lo);
    g_other_uc.uc_link = NULL;
    makecontext(&g_other_uc, uc_loop, 0);
}

void raw_uc_rounds(long n)
{
    for (long i = 0; i < n; i++)
        if (swapcontext(&g_main_uc, &g_other_uc) == -1)
            die("swapcontext");
}

void raw_uc_teardown(void)
{
    coro_stack_free(&g_uc_stack);
}
#endif
