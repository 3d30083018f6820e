/* coro.c: stackful coroutines: a stack each, and a switch between stacks.
 *
 * Read coro_simple.c first: the same idea whole (an mmap'd stack each, a saved stack
 * pointer, the switch), in a fifth of the space. This file makes it survive what the
 * minimal one does not, and adds what the chapter measures:
 *   - a stack overflow: a guard page below each stack turns a coroutine that runs off
 *     its end into a SIGSEGV, where coro_simple.c lets it overwrite the stack below in
 *     silence (coro_overflow_simple and coro_overflow; "The stack" below says what a
 *     guard page does not catch);
 *   - the price of a birth: a cache of finished stacks, so that coro_create makes no
 *     system call (create_cost.c);
 *   - greenlet's copied stacks (CORO_COPY_STACK), FPU modes of a coroutine's own
 *     (CORO_OWN_FPU), a user pointer (the hub's), and checks: sizes too large to map,
 *     a cycle of parents, freeing the running coroutine;
 *   - the checkers: every switch is announced to AddressSanitizer and ThreadSanitizer
 *     ("Telling the sanitizers" below); valgrind learns each stack, as in coro_simple.c.
 *
 * A coroutine is three things: a stack (mmap'd, with a guard page below it), a saved
 * stack pointer, and a little bookkeeping (parent, the value in flight, finished or
 * not). Switching is done either by a hand-written routine below, one for x86-64 and
 * one for aarch64, or, as the portable fallback, by swapcontext(3). Which one is fixed
 * when this file is compiled: define CORO_UCONTEXT for the fallback (coro_ucontext.c
 * does; `make CORO=ucontext` builds the chapter with it); other CPUs get it anyway.
 * Both hand-written switches do everything this file offers (copied stacks, own FPU
 * modes, the stack cache, the sanitizer and valgrind hooks); the fallback has no copied
 * stacks (ENOTSUP).
 *
 * ---- The stack ------------------------------------------------------------------
 * A stack is an anonymous private mapping. Only the pages a coroutine touches take
 * memory (MAP_NORESERVE: no commit charge for the rest), so a 64 KiB stack usually
 * costs one 4 KiB page of RAM. Below it sits one page with no access at all (the
 * guard page): a coroutine that runs off the bottom of its stack faults there with
 * SIGSEGV instead of silently writing over whatever memory lies below. The price of
 * the guard is not memory but a second kernel memory area (VMA): a guarded stack is
 * two VMAs, and Linux allows vm.max_map_count (65530 by default) per process. So
 * 100,000 guarded stacks cannot exist at once; CORO_NO_GUARD stacks can (adjacent
 * mappings with equal permissions merge into one VMA). Threads pay the same: glibc
 * puts a guard page under every thread stack.
 *
 * What the guard catches, and what it does not. It catches a stack that grows down
 * into it: deep recursion, and any frame, however large, of code built with
 * -fstack-clash-protection (mk/rules.mk gives it to everything here): such a frame
 * touches each of its pages in turn as it grows, so the first touch past the bottom
 * lands in the guard. It does not catch a frame of more than a page in code built
 * without that flag (a library, say): the frame is made by one move of rsp, and its
 * first write can land beyond the guard, in the memory below, which is often another
 * coroutine's stack (tests/test_coro.c shows a 16 KiB array doing it when the flag is
 * off). Nor does it catch a write through a pointer that strays into another stack, a
 * CORO_NO_GUARD stack running over, or a signal handler that runs out of room on a
 * coroutine's stack (see below: give handlers an alternate stack).
 *
 * ---- The switch, x86-64 ---------------------------------------------------------
 * wb_coro_swap(&from->sp, to->sp, value) is called like any C function. That is the
 * whole trick: the System V ABI already says which registers a called function may
 * destroy (the caller saved what it needed: rax, rcx, rdx, rsi, rdi, r8-r11, all of
 * xmm0-15 with their AVX upper halves, the x87 register stack, the status flags). So
 * the switch saves only what a callee must give back unchanged:
 *
 *   rbx, rbp, r12, r13, r14, r15   the callee-saved general registers: pushed on the
 *                                  current stack, popped from the other one;
 *   rsp                            the stack pointer: stored in from->sp, loaded from
 *                                  to->sp. This one move *is* the switch;
 *   rip                            not touched directly: `ret` pops the return address
 *                                  that the other side's call to wb_coro_swap pushed;
 *   rax                            not saved but set: it carries `value` across, so
 *                                  the other side's wb_coro_swap call returns it;
 *   fs base (TLS)                  not switched: all coroutines of a thread share its
 *                                  thread-local storage, errno included. A coroutine
 *                                  must read errno before it next switches.
 *
 * Stack of a suspended coroutine, from its saved sp upwards:
 *
 *   sp + 0    r15
 *   sp + 8    r14
 *   sp + 16   r13
 *   sp + 24   r12
 *   sp + 32   rbx
 *   sp + 40   rbp
 *   sp + 48   return address: where its call to wb_coro_swap returns to
 *
 * A new coroutine's stack is built by hand in that same shape (init_frame), so the
 * first switch to it "returns" into wb_coro_start with r12 = the coroutine and r13 =
 * the C function to call; rbp = 0 ends the chain of frame pointers there, and the
 * stack is aligned so that the callee sees rsp + 8 on a 16-byte boundary, as the ABI
 * promises every function: the `ret` leaves rsp on a 16-byte boundary, and the `call`
 * in wb_coro_start pushes 8 bytes.
 *
 * The red zone (the 128 bytes below rsp that a leaf function may use without moving
 * rsp) needs nothing: the switch is reached by a call, and a caller keeps nothing
 * below its rsp across a call (the call's own push lands there). The pushes above
 * write below the caller's rsp, into space that belongs to the callee. The direction
 * flag is clear at every call, as the ABI requires, so it needs no saving either.
 *
 * The FPU and SSE control words (MXCSR's control bits: SSE rounding and exception
 * masks, flush-to-zero; the x87 control word: precision, rounding and exception masks)
 * are callee-saved by the ABI too (MXCSR's status bits and the x87 status word are
 * not): a coroutine that calls fesetround() should not change the rounding of the one
 * it switches to. Saving and loading them (stmxcsr, fnstcw, ldmxcsr, fldcw) costs
 * about 3 ns here, a third again as much as the rest of the switch, for something
 * almost no code ever changes. So, like libaco
 * (its ACO_CONFIG_SHARE_FPU_MXCSR_ENV) and Go, coroutines share the thread's modes
 * by default, as they share its signal mask; a coroutine created with CORO_OWN_FPU
 * keeps modes of its own, saved and loaded in C around the swap only when one side
 * of the switch asked for it (switch_cost.c measures both). swapcontext always saves
 * them (and the whole x87/SSE environment).
 *
 * What the switch does not save, and why that is fine or not:
 *   - the signal mask. It belongs to the thread, and all coroutines of a thread share
 *     it. swapcontext saves and restores it, which costs a rt_sigprocmask system call
 *     on every switch: that is most of why it is 20 to 50 times slower (switch_cost.c
 *     measures it). Block a signal in one coroutine and it is blocked in all.
 *   - signal handlers run on whatever stack is current, so a handler may run on a
 *     coroutine's small stack: give handlers an alternate stack (sigaltstack) if they
 *     need room, and note that a stack overflow's SIGSEGV needs one to be handled at
 *     all (tests/test_coro.c does that).
 *   - the CPU's shadow stack (Intel CET). With shadow stacks on, every `call` also
 *     pushes its return address on a second stack that programs cannot write, and
 *     every `ret` must match it; the `ret` in wb_coro_swap returns to an address
 *     pushed on *another* stack and would fault. A switch that knew about shadow
 *     stacks would give each coroutine one of its own (map_shadow_stack(2)) and swap
 *     them with the restore-token instructions (rstorssp, saveprevssp), as glibc's
 *     swapcontext does; we cannot test that here (no CET on this machine), so we do
 *     the other, honest thing: this object is built as NOT shadow-stack compatible.
 *     mk/rules.mk compiles it (NO_SHSTK) with -fcf-protection=branch, so its
 *     .note.gnu.property says IBT but not SHSTK; the linker ANDs the notes of all
 *     objects, the program is not marked SHSTK, and the kernel and glibc leave shadow
 *     stacks off for it even where the compiler marks everything else (Ubuntu's gcc).
 *     Check with `readelf -n coro.o`. IBT (indirect-branch tracking) is no problem:
 *     the switch reaches wb_coro_start by `ret`, and coro_entry, called through a
 *     register, starts with the endbr64 the compiler gives every function whose
 *     address is taken.
 *
 * ---- The switch, aarch64 --------------------------------------------------------
 * The same idea under AAPCS64, the procedure call standard of 64-bit Arm (Linux,
 * Raspberry Pi OS, Graviton, Linux VMs on Apple silicon). wb_coro_swap(&from->sp,
 * to->sp, value) gets its arguments in x0, x1, x2 and is reached by an ordinary call
 * (`bl`), so the caller has already given up everything a callee may destroy: x0-x18
 * (arguments, results and temporaries; x16 and x17 are the linker's scratch pair, and
 * x18 is one more temporary on Linux), v0-v7 and v16-v31 whole, the upper 64 bits of
 * v8-v15, the condition flags (NZCV) and FPSR (the sticky exception flags). What it
 * must hand back unchanged, it saves:
 *
 *   x19 ... x28   the ten callee-saved general registers: stored in pairs (stp) on
 *                 the current stack, loaded in pairs (ldp) from the other one;
 *   x29 (fp)      the frame pointer, callee-saved like them. A new coroutine starts
 *                 with 0 in it: a debugger or profiler walking the chain of frame
 *                 records stops there, as at the bottom of a thread;
 *   x30 (lr)      the link register. Here `bl` leaves the return address in a
 *                 register, not on the stack as x86's `call` does, so the switch
 *                 stores x30 with the others and loads the other side's, and its
 *                 closing `ret` jumps to that: to where the other coroutine called
 *                 wb_coro_swap (or, the first time, to wb_coro_start);
 *   d8 ... d15    the low 64 bits of v8-v15. AAPCS64 makes only those halves
 *                 callee-saved (a double kept in d8 lives across a call, a 128-bit
 *                 vector in v8 does not), so eight 64-bit stores are exactly enough.
 *                 With SVE the rule is the same for z8-z15: a caller that keeps
 *                 whole vectors across an ordinary call saves them itself;
 *   sp            the stack pointer: stored in from->sp, loaded from to->sp, the one
 *                 move that is the switch. sp must be a multiple of 16 whenever it
 *                 addresses memory (Linux has the CPU check it), so the saved block
 *                 is 160 bytes, a multiple of 16;
 *   x0            not saved but set: it carries `value`, which becomes the return
 *                 value of the other side's call;
 *   tpidr_el0     the thread pointer (TLS), not switched, as fs is not on x86-64:
 *                 errno and every thread-local belong to the thread, shared by its
 *                 coroutines.
 *
 * Stack of a suspended coroutine, from its saved sp upwards (8 bytes a slot):
 *
 *   sp + 0 ... 72     x19, x20, ..., x28
 *   sp + 80           x29
 *   sp + 88           x30: where its call to wb_coro_swap returns to
 *   sp + 96 ... 152   d8, d9, ..., d15
 *
 * Linux on aarch64 has no red zone: a signal handler may write anywhere below sp. So
 * the first store moves sp down by the whole block first (a pre-indexed stp), and
 * every other store lands above the new sp; the last load moves it back up
 * (post-indexed ldp).
 *
 * A new coroutine's block is written by init_frame in the same shape: x19 = the
 * coroutine, x20 = the C function to call, x29 = 0, x30 = wb_coro_start, the rest 0.
 * The first switch to it loads that block, leaving sp at the 16-aligned top of the
 * stack, and `ret`s into wb_coro_start, which calls coro_entry(x19, value) through
 * x20 (`blr`).
 *
 * FPCR (rounding mode, flush-to-zero, default-NaN, trap enables) plays the part of
 * MXCSR and the x87 control word. AAPCS64 does not make it callee-saved: it treats
 * its mode bits as global state of the program, which only functions made for the
 * purpose (fesetround and its kin) change. So sharing it among a thread's coroutines,
 * the default here, is what the ABI itself assumes; a CORO_OWN_FPU coroutine keeps
 * its own, read and written (mrs, msr) around the swap as on x86-64. FPSR, like
 * MXCSR's flags, is shared.
 *
 * Branch protection, aarch64's counterpart of CET (the note above). Three features,
 * each compiled in with -mbranch-protection=..., each checked by the CPU:
 *   - PAC (pointer authentication, "pac-ret"): a function signs its return address
 *     in x30 on entry (paciasp, with sp as the modifier) and checks it before it
 *     returns (autiasp), so a return address overwritten on the stack faults instead
 *     of being followed. wb_coro_swap signs nothing: it saves the x30 it was called
 *     with and `ret`s to the one it loads. The C functions around it (coro_switch,
 *     transfer) sign and check their own, and each of their frames is resumed on the
 *     same stack at the same sp it was signed with: a stack never moves, and a copied
 *     coroutine's frames are copied back to the very addresses they left. `make
 *     test-aarch64` builds with -mbranch-protection=standard and runs the tests on
 *     qemu's emulated CPU, which has PAC: a wrong sp or a stale frame would fault
 *     there. What PAC does not cover: a suspended coroutine's x30 waits in its block
 *     unsigned, as rip does on x86-64 without shadow stacks.
 *   - BTI (branch target identification): in code pages marked guarded, an indirect
 *     branch (br, blr) must land on a `bti` instruction (paciasp counts as one); `ret`
 *     is not checked. wb_coro_swap begins with `bti c` (written `hint #34`, a no-op
 *     on CPUs without BTI), should a compiler ever call it through a register;
 *     wb_coro_start is reached by `ret` and needs none; coro_entry, called through
 *     x20, gets its landing pad from the compiler, as every function whose address
 *     is taken does. (Pages are guarded only when every object of the program is
 *     marked BTI; Debian 12's C start files are not, so there BTI stays off: `readelf
 *     -n` on a program shows no "AArch64 feature" line.)
 *   - GCS (guarded control stack; Armv9.4, Linux 6.13, glibc 2.41): aarch64's shadow
 *     stack, which checks every `ret` as CET's does, with the same result for this
 *     switch: its `ret` returns to an address pushed on another stack. We do what we
 *     do for CET: mk/rules.mk compiles this object with -mbranch-protection=pac-ret+bti
 *     (BTI and PAC, never GCS), so its .note.gnu.property lacks the GCS mark and so
 *     does the program (the linker ANDs them). glibc then leaves GCS off for it (the
 *     tunable glibc.cpu.aarch64_gcs is 0 by default, and 2 skips unmarked programs),
 *     or, in its strict mode (1), refuses to start it: a clear failure, not a fault at
 *     the first switch. Only mode 3, which ignores the marks, would let it fault. Not
 *     tested: neither this machine nor qemu 7.2 has GCS.
 *
 * ---- Telling the sanitizers -----------------------------------------------------
 * AddressSanitizer keeps a shadow of every stack and TSan a shadow call stack per
 * thread; a switch they are not told about looks to them like a wild jump. So under
 * ASan every switch is wrapped in __sanitizer_start_switch_fiber (before: here is the
 * next stack) and __sanitizer_finish_switch_fiber (after: we arrived; it tells us the
 * stack we came from, which is how we learn where the main stack is). With
 * detect_stack_use_after_return (the default in recent clang), ASan keeps a function's
 * address-taken locals in a "fake stack" on the heap, one per coroutine: the switch
 * saves the leaving coroutine's (asan_fake) and hands the arriving one's back. A
 * coroutine leaving for good passes NULL so its fake stack is freed; one dropped while
 * suspended (coro_free, hub_close) never leaves, so coro_free frees its fake stack by
 * acting out that last switch (drop_fake_stack). Under TSan each coroutine
 * gets a fiber (__tsan_create_fiber), and __tsan_switch_to_fiber comes right before
 * the switch. valgrind learns of each stack through VALGRIND_STACK_REGISTER, and its
 * memcheck what part of the shared stack of copied coroutines is live ("copied
 * stacks" below), when its headers are installed (they are optional: the build needs
 * only libc).
 */
#include "coro.h"
#include "common.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#if !defined(CORO_UCONTEXT) && !defined(__x86_64__) && !(defined(__aarch64__) && defined(__LP64__))
#define CORO_UCONTEXT 1 /* no hand-written switch for this CPU: use the fallback */
#endif
#ifdef CORO_UCONTEXT
#include <ucontext.h>
#endif

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>) && __has_include(<valgrind/memcheck.h>)
#include <valgrind/memcheck.h>
#include <valgrind/valgrind.h>
#define CORO_VALGRIND 1
#endif
#endif

#ifdef WB_ASAN
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif
#ifdef WB_TSAN
#include <sanitizer/tsan_interface.h>
#endif

/* The FPU modes of a CORO_OWN_FPU coroutine, or the thread's shared ones. */
struct fpu_modes {
#ifdef __aarch64__
    uint64_t fpcr;
#else
    uint32_t mxcsr;
    uint16_t x87cw;
#endif
};

struct coro {
#ifdef CORO_UCONTEXT
    ucontext_t uc;             /* registers, signal mask and FPU state while suspended */
#else
    void *sp;                  /* the stack pointer while suspended (layout above) */
#endif
    struct coro *parent;       /* where the value goes when fn returns */
    coro_fn fn;
#ifdef CORO_UCONTEXT
    void *transfer;            /* the value handed over (the fast switch uses rax) */
#endif
    void *user;
    struct coro_stack stack;   /* all zero for a main coroutine */
    bool is_main, started, done;
    bool own_fpu;              /* CORO_OWN_FPU: it keeps FPU modes of its own */
    bool copied;               /* CORO_COPY_STACK: runs on the thread's shared stack */
    char *saved;               /* ... its frames, [sp, top), while another has it */
    size_t saved_len, saved_cap;
#ifndef CORO_UCONTEXT
    struct fpu_modes fpu;      /* ... here, while it is suspended */
#endif
#ifdef WB_ASAN
    void *asan_fake;           /* its fake stack while it is suspended */
    const void *asan_bottom;   /* its stack, as ASan needs it for the switch to it */
    size_t asan_size;
#endif
#ifdef WB_TSAN
    void *tsan_fiber;
#endif
};

/* Each thread has its own main coroutine (its original stack) and current one. */
static _Thread_local struct coro t_main;
static _Thread_local struct coro *t_current;
#ifdef WB_ASAN
static _Thread_local struct coro *t_prev; /* the coroutine that switched to us */
#endif

static struct coro *current(void)
{
    if (!t_current) {
        t_main.is_main = t_main.started = true;
#ifdef WB_TSAN
        t_main.tsan_fiber = __tsan_get_current_fiber();
#endif
        t_current = &t_main;
    }
    return t_current;
}

/* ---- the switch ---- */

#ifndef CORO_UCONTEXT
void *wb_coro_swap(void **save_sp, void *load_sp, void *value);
void wb_coro_start(void);

#ifdef __x86_64__
__asm__(
    ".text\n"
    ".globl wb_coro_swap\n"
    ".hidden wb_coro_swap\n"
    ".type wb_coro_swap, @function\n"
    ".p2align 4\n"
    "wb_coro_swap:\n"              /* rdi = &from->sp, rsi = to->sp, rdx = value */
    "    pushq %rbp\n"             /* the callee-saved registers, onto from's stack */
    "    pushq %rbx\n"
    "    pushq %r12\n"
    "    pushq %r13\n"
    "    pushq %r14\n"
    "    pushq %r15\n"
    "    movq %rsp, (%rdi)\n"      /* from->sp = rsp: from is now suspended */
    "    movq %rsi, %rsp\n"        /* rsp = to->sp: we are on to's stack */
    "    movq %rdx, %rax\n"        /* the value: what to's call returns */
    "    popq %r15\n"              /* to's registers, in the reverse order */
    "    popq %r14\n"
    "    popq %r13\n"
    "    popq %r12\n"
    "    popq %rbx\n"
    "    popq %rbp\n"
    "    ret\n"                    /* to where to called wb_coro_swap (or wb_coro_start) */
    ".size wb_coro_swap, .-wb_coro_swap\n"
    "\n"
    ".globl wb_coro_start\n"
    ".hidden wb_coro_start\n"
    ".type wb_coro_start, @function\n"
    ".p2align 4\n"
    "wb_coro_start:\n"             /* first code on a new stack; rsp is 16-aligned */
    "    .cfi_startproc\n"
    "    .cfi_undefined rip\n"     /* debuggers: the call chain starts here */
    "    movq %r12, %rdi\n"        /* the coroutine, put in r12 by init_frame */
    "    movq %rax, %rsi\n"        /* the value of the first switch */
    "    call *%r13\n"             /* coro_entry(c, value); it never returns */
    "    ud2\n"
    "    .cfi_endproc\n"
    ".size wb_coro_start, .-wb_coro_start\n");

/* The first frame of a new coroutine, shaped like a suspended one (see the top),
 * written below `top` (a copied coroutine's goes to its save buffer instead). */
static void init_frame(uintptr_t *top, struct coro *c, void (*entry)(struct coro *, void *))
{
    top[-1] = (uintptr_t)wb_coro_start; /* popped by ret: then rsp = top, 16-aligned */
    top[-2] = 0;                        /* rbp */
    top[-3] = 0;                        /* rbx */
    top[-4] = (uintptr_t)c;             /* r12 */
    top[-5] = (uintptr_t)entry;         /* r13 */
    top[-6] = 0;                        /* r14 */
    top[-7] = 0;                        /* r15 */
}
enum { INIT_FRAME_BYTES = 7 * sizeof(uintptr_t) };

static inline void save_fpu(struct fpu_modes *m)
{
    __asm__ volatile("stmxcsr %0\n\tfnstcw %1" : "=m"(m->mxcsr), "=m"(m->x87cw));
}

static inline void load_fpu(const struct fpu_modes *m)
{
    __asm__ volatile("ldmxcsr %0\n\tfldcw %1" : : "m"(m->mxcsr), "m"(m->x87cw));
}

#else /* aarch64: the layout and the rules are at the top of the file */
__asm__(
    ".text\n"
    ".globl wb_coro_swap\n"
    ".hidden wb_coro_swap\n"
    ".type wb_coro_swap, %function\n"
    ".p2align 4\n"
    "wb_coro_swap:\n"                  /* x0 = &from->sp, x1 = to->sp, x2 = value */
    "    hint #34\n"                   /* bti c: a landing pad, if called through a register */
    "    stp x19, x20, [sp, #-160]!\n" /* sp -= 160, then the block, onto from's stack */
    "    stp x21, x22, [sp, #16]\n"
    "    stp x23, x24, [sp, #32]\n"
    "    stp x25, x26, [sp, #48]\n"
    "    stp x27, x28, [sp, #64]\n"
    "    stp x29, x30, [sp, #80]\n"    /* the frame pointer, and where we return to */
    "    stp d8, d9, [sp, #96]\n"
    "    stp d10, d11, [sp, #112]\n"
    "    stp d12, d13, [sp, #128]\n"
    "    stp d14, d15, [sp, #144]\n"
    "    mov x9, sp\n"                 /* (str cannot store sp itself) */
    "    str x9, [x0]\n"               /* from->sp = sp: from is now suspended */
    "    mov sp, x1\n"                 /* sp = to->sp: we are on to's stack */
    "    mov x0, x2\n"                 /* the value: what to's call returns */
    "    ldp d14, d15, [sp, #144]\n"   /* to's block, in the reverse order */
    "    ldp d12, d13, [sp, #128]\n"
    "    ldp d10, d11, [sp, #112]\n"
    "    ldp d8, d9, [sp, #96]\n"
    "    ldp x29, x30, [sp, #80]\n"    /* x30: where to called wb_coro_swap */
    "    ldp x27, x28, [sp, #64]\n"
    "    ldp x25, x26, [sp, #48]\n"
    "    ldp x23, x24, [sp, #32]\n"
    "    ldp x21, x22, [sp, #16]\n"
    "    ldp x19, x20, [sp], #160\n"   /* the last pair, then sp += 160 */
    "    ret\n"                        /* to x30: into to's caller (or wb_coro_start) */
    ".size wb_coro_swap, .-wb_coro_swap\n"
    "\n"
    ".globl wb_coro_start\n"
    ".hidden wb_coro_start\n"
    ".type wb_coro_start, %function\n"
    ".p2align 4\n"
    "wb_coro_start:\n"                 /* first code on a new stack; sp is 16-aligned */
    "    .cfi_startproc\n"
    "    .cfi_undefined x30\n"         /* debuggers: the call chain starts here */
    "    mov x1, x0\n"                 /* the value of the first switch */
    "    mov x0, x19\n"                /* the coroutine, put in x19 by init_frame */
    "    blr x20\n"                    /* coro_entry(c, value); it never returns */
    "    brk #1\n"
    "    .cfi_endproc\n"
    ".size wb_coro_start, .-wb_coro_start\n");

/* The first block of a new coroutine, shaped like a suspended one's (see the top),
 * written below `top` (a copied coroutine's goes to its save buffer instead). */
static void init_frame(uintptr_t *top, struct coro *c, void (*entry)(struct coro *, void *))
{
    uintptr_t *sp = top - 20;           /* 160 bytes: then sp is 16-aligned too */
    for (int i = 0; i < 20; i++)
        sp[i] = 0;                      /* x21-x28, d8-d15; x29 = 0 ends the frame chain */
    sp[0] = (uintptr_t)c;               /* x19 */
    sp[1] = (uintptr_t)entry;           /* x20 */
    sp[11] = (uintptr_t)wb_coro_start;  /* x30: where the first switch's ret goes */
}
enum { INIT_FRAME_BYTES = 20 * sizeof(uintptr_t) };

static inline void save_fpu(struct fpu_modes *m)
{
    __asm__ volatile("mrs %0, fpcr" : "=r"(m->fpcr));
}

static inline void load_fpu(const struct fpu_modes *m)
{
    __asm__ volatile("msr fpcr, %0" : : "r"(m->fpcr));
}
#endif

static _Thread_local struct fpu_modes t_shared_fpu;

/* ---- copied stacks (greenlet's way) ----
 * A CORO_COPY_STACK coroutine has no stack of its own: all of a thread's copied
 * coroutines run on one shared stack (t_shared). The one whose frames are on it now
 * is its owner (t_owner). Switching to another copied coroutine first saves the
 * owner's used part, [its sp, top of the stack), to the owner's heap buffer, then
 * copies the new one's saved part back to the very same addresses, and only then
 * swaps registers as usual: every pointer into its frames is valid again, because
 * its frames are back where they were. Saving is lazy: a copied coroutine that
 * switches to the hub (or main) and back finds its frames still there, no copy. A
 * suspended copied coroutine costs what its frames use (often a few hundred bytes),
 * not a stack; a switch costs a copy of both used parts. greenlet does this with the
 * C stack of the thread, saving only the part that the next greenlet will overwrite;
 * libaco calls it a "shared stack".
 *
 * The copying must run on another stack than the shared one: it overwrites the
 * shared stack. A switch from a coroutine with a stack of its own (main, the hub's
 * loop) copies right there. A switch from one copied coroutine to another hops
 * through a small helper coroutine with a stack of its own (t_copier): the first
 * switch leaves the shared stack, the helper moves the frames, the second switch
 * enters the other. greenlet copies inside its switch instead, with the help of a
 * few lines of assembly per CPU; the hop costs one more register swap and keeps the
 * copying in plain C. And the pitfall that comes with copied stacks: a pointer into
 * a copied coroutine's frames (the address of one of its locals) points into another
 * coroutine's frames while it is switched out (tests/test_coro.c shows it).
 *
 * The copy loops are not instrumented by ASan (a stack is full of poisoned redzones,
 * which a checked memcpy would report); instead the whole shared stack is unpoisoned
 * when another coroutine's frames are put on it, so the redzones of the frames
 * restored are lost (a missed report, never a false one).
 *
 * valgrind's memcheck must be told too, or it reports the copy itself and then every
 * use of the frames copied back. It learns what is live on a stack from the stack
 * pointer: when sp moves down a little, the bytes it passes become addressable; when
 * it moves up, the bytes left below become no-access, as a returned function's frame
 * is dead. A jump of sp to another registered stack (VALGRIND_STACK_REGISTER) is a
 * switch, and marks nothing. So when a coroutine with deep frames is put back over the
 * addresses where a shallower one has just returned, those addresses are still
 * no-access to memcheck, although they are ours and hold live frames: "Invalid write"
 * in copy_words, then "Invalid read" when the switch loads the registers, and read(2)
 * into a local buffer "points to unaddressable byte(s)". Nothing is wrong with the
 * memory: the copy writes [to's sp, top of the shared stack), inside our own mapping,
 * from another stack. memcheck's picture is stale, because the frames came back
 * without sp moving down over them. So take_stack redraws it before the copy
 * (memcheck_take_stack), as `to` would have left it had it run down to its sp itself:
 * its frames addressable, everything below them no-access, so that a stray pointer
 * into a switched-out coroutine's deeper frames is reported (tests/test_coro.c). */
static _Thread_local struct coro_stack t_shared;
static _Thread_local struct coro *t_owner;
static _Thread_local size_t t_ncopied;

__attribute__((no_sanitize_address)) static void copy_words(void *dst, const void *src, size_t len)
{
    uint64_t *d = dst;
    const uint64_t *s = src;
    for (size_t i = 0; i < len / 8; i++) /* stack addresses and lengths are 8-aligned */
        d[i] = s[i];
}

static void save_frames(struct coro *c)
{
    size_t len = (size_t)(t_shared.hi - (char *)c->sp);
    if (len > c->saved_cap) {
        char *p = realloc(c->saved, len);
        if (!p)
            die("realloc(a copied coroutine's frames, %zu bytes)", len);
        c->saved = p;
        c->saved_cap = len;
    }
    copy_words(c->saved, c->sp, len);
    c->saved_len = len;
}

#ifdef CORO_VALGRIND
/* The shared stack as memcheck should see it once `to`'s frames are back (see
 * above): its frames addressable, their definedness coming with the copy (memcheck
 * follows it from the stack to the heap and back); below them nothing, except the
 * red zone, which memcheck keeps addressable below any stack pointer: 128 bytes on
 * x86-64, none on aarch64. */
static void memcheck_take_stack(const struct coro *to)
{
#ifdef __x86_64__
    enum { RED_ZONE = 128 };
#else
    enum { RED_ZONE = 0 };
#endif
    char *sp = to->sp;
    char *live = sp - t_shared.lo > RED_ZONE ? sp - RED_ZONE : t_shared.lo;
    VALGRIND_MAKE_MEM_NOACCESS(t_shared.lo, (size_t)(live - t_shared.lo));
    VALGRIND_MAKE_MEM_UNDEFINED(live, (size_t)(t_shared.hi - live));
}
#endif

/* put `to`'s frames on the shared stack, the owner's away first (called on a stack
 * other than the shared one) */
static void take_stack(struct coro *to)
{
    if (t_owner)
        save_frames(t_owner);
#ifdef WB_ASAN
    ASAN_UNPOISON_MEMORY_REGION(t_shared.lo, (size_t)(t_shared.hi - t_shared.lo));
#endif
#ifdef CORO_VALGRIND
    memcheck_take_stack(to);
#endif
    copy_words(to->sp, to->saved, to->saved_len);
    t_owner = to;
}
#endif

/* Tell the sanitizers a switch is about to happen (from -> to) or has happened. */
static inline void before_switch(struct coro *from, struct coro *to)
{
#ifdef WB_ASAN
    t_prev = from;
    /* NULL: `from` is leaving for good, so ASan may free its fake stack */
    __sanitizer_start_switch_fiber(from->done ? NULL : &from->asan_fake, to->asan_bottom, to->asan_size);
#endif
#ifdef WB_TSAN
    __tsan_switch_to_fiber(to->tsan_fiber, 0);
#endif
    (void)from;
    (void)to;
}

static inline void after_switch(struct coro *self)
{
#ifdef WB_ASAN
    const void *bottom;
    size_t size;
    __sanitizer_finish_switch_fiber(self->asan_fake, &bottom, &size);
    if (t_prev->is_main) { /* the one place to learn where a thread's own stack is */
        t_prev->asan_bottom = bottom;
        t_prev->asan_size = size;
    }
#endif
    (void)self;
}

/* Leave `from` (the running coroutine) for `to`, handing it `value`; returns the
 * value of the switch that comes back here. Without a sanitizer after_switch is
 * empty, so the compiler makes the call to wb_coro_swap a jump (a tail call): its
 * `ret` then goes straight back to whoever called coro_switch on the other side. One
 * return fewer per switch, and that return would be mispredicted (the CPU's
 * return-address stack expects the return to the caller on *this* stack). */
static inline void *transfer(struct coro *from, struct coro *to, void *value)
{
    t_current = to;
    before_switch(from, to);
#ifdef CORO_UCONTEXT
    to->transfer = value;
    if (swapcontext(&from->uc, &to->uc) == -1)
        die("swapcontext");
    value = from->transfer;
#else
    if (__builtin_expect(to->copied && t_owner != to, 0))
        take_stack(to); /* (never from the shared stack: see switch_to) */
    if (__builtin_expect(from->own_fpu | to->own_fpu, 0)) {
        save_fpu(from->own_fpu ? &from->fpu : &t_shared_fpu);
        load_fpu(to->own_fpu ? &to->fpu : &t_shared_fpu);
    }
    value = wb_coro_swap(&from->sp, to->sp, value);
#endif
    after_switch(from);
    return value;
}

#ifndef CORO_UCONTEXT
/* The hop between two copied coroutines (see the top): the helper's loop takes the
 * destination and the value, moves the frames, and switches on. */
struct hop {
    struct coro *to;
    void *value;
};
static _Thread_local struct coro *t_copier;

static void *copier_loop(void *arg)
{
    struct coro *me = current();
    for (;;) {
        struct hop *h = arg; /* on the leaving coroutine's frames: read it before the copy */
        struct coro *to = h->to;
        void *value = h->value;
        arg = transfer(me, to, value); /* transfer copies first: we are on our own stack */
    }
    return NULL;
}

static struct coro *copier(void);
#endif

/* transfer, with the hop when both sides are copied coroutines */
static void *switch_to(struct coro *from, struct coro *to, void *value)
{
#ifndef CORO_UCONTEXT
    if (__builtin_expect(from->copied && to->copied && t_owner != to, 0)) {
        struct hop h = { to, value };
        return transfer(from, copier(), &h);
    }
#endif
    return transfer(from, to, value);
}

/* The first C code a coroutine runs, on its own stack. */
static void coro_entry(struct coro *self, void *value)
{
    after_switch(self);
    self->started = true;
    void *ret = self->fn(value);
    self->done = true;
#ifndef CORO_UCONTEXT
    if (self->copied) /* its frames are dead: nothing to save when the next one comes */
        t_owner = NULL;
#endif
    struct coro *p = self->parent;
    while (p->done) /* a finished parent cannot take it: its nearest live ancestor does */
        p = p->parent;
    switch_to(self, p, ret);
    fatal("coro: a finished coroutine was resumed");
}

#ifdef CORO_UCONTEXT
/* makecontext passes only int arguments, so a pointer would have to be split in two
 * (cloudwu/coroutine does that); we need none: t_current is already the new one. */
static void uc_start(void)
{
    coro_entry(t_current, t_current->transfer);
}

/* getcontext returns twice (like setjmp), so it gets a function of its own, where
 * no variable lives across it for the compiler to worry about. */
__attribute__((noinline)) static void get_context(ucontext_t *uc)
{
    if (getcontext(uc) == -1)
        die("getcontext");
}
#endif

/* ---- the API ---- */

int coro_stack_alloc(struct coro_stack *s, size_t size, unsigned flags)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    if (size > SIZE_MAX / 2) { /* more than any address space; rounding it would wrap */
        errno = ENOMEM;
        return -1;
    }
    size = (size + page - 1) / page * page;
    if (size < 2 * page)
        size = 2 * page;
    size_t guard = (flags & CORO_NO_GUARD) ? 0 : page;
    char *map = mmap(NULL, size + guard, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
    if (map == MAP_FAILED)
        return -1;
    if (guard && mprotect(map, guard, PROT_NONE) == -1) {
        int e = errno;
        CHECK_SYS(munmap(map, size + guard));
        errno = e;
        return -1;
    }
    *s = (struct coro_stack){ .map = map, .map_len = size + guard, .lo = map + guard,
                              .hi = map + guard + size };
#ifdef CORO_VALGRIND
    s->vg_id = VALGRIND_STACK_REGISTER(s->lo, s->hi);
#endif
    return 0;
}

void coro_stack_free(struct coro_stack *s)
{
    if (!s->map)
        return;
#ifdef CORO_VALGRIND
    VALGRIND_STACK_DEREGISTER(s->vg_id);
#endif
#ifdef WB_ASAN
    /* a suspended coroutine's frames leave poisoned redzones in the shadow memory;
     * clear them, or the next mapping at this address would inherit them */
    ASAN_UNPOISON_MEMORY_REGION(s->lo, (size_t)(s->hi - s->lo));
#endif
    CHECK_SYS(munmap(s->map, s->map_len));
    memset(s, 0, sizeof *s);
}

/* ---- the stack cache ----
 * A stack costs three system calls (mmap, mprotect for the guard, munmap) and a page
 * fault for its first touch: 10 to 20 µs on the machine these notes were measured on,
 * a thousand times a switch. So coro_free keeps the stacks of finished coroutines, up
 * to a bound per thread (coro_cache_limit), and coro_create takes one of the right
 * size from there first: no system call, and its top page is already in memory. The
 * guard page stays as it was (mprotect'ed once, at the first mmap). A cached stack is
 * nobody's, so the checkers are told: ASan poisons it (a stale pointer into a finished
 * coroutine's stack is then reported, not silently reused) and unpoisons it for the
 * next owner; valgrind's memcheck marks it inaccessible and forgets it as a stack,
 * then registers it again on reuse, its contents undefined. TSan needs nothing: each
 * coroutine is a fiber of its own, and every switch is a synchronising one, so the old
 * owner's last use comes before the new owner's first. The cached stacks of a thread
 * are unmapped when it exits (a pthread key's destructor) or by coro_cache_flush. */

struct stack_cache {
    struct coro_stack *s;
    size_t n, cap, limit;
    uint64_t hits, misses;
    bool limit_set;
};
static _Thread_local struct stack_cache t_cache;
static pthread_key_t g_cache_key;
static pthread_once_t g_cache_once = PTHREAD_ONCE_INIT;

static void unmap_cached(struct coro_stack *s)
{
#ifdef WB_ASAN
    ASAN_UNPOISON_MEMORY_REGION(s->lo, (size_t)(s->hi - s->lo));
#endif
    CHECK_SYS(munmap(s->map, s->map_len));
}

static void cache_destructor(void *arg)
{
    struct stack_cache *sc = arg;
    for (size_t i = 0; i < sc->n; i++)
        unmap_cached(&sc->s[i]);
    free(sc->s);
    *sc = (struct stack_cache){ 0 };
}

static void cache_key_create(void)
{
    CHECK_PT(pthread_key_create(&g_cache_key, cache_destructor));
}

static struct stack_cache *cache(void)
{
    if (!t_cache.limit_set) {
        t_cache.limit = CORO_CACHE_DEFAULT;
        t_cache.limit_set = true;
    }
    return &t_cache;
}

/* a stack of `size` bytes (rounded as coro_stack_alloc does) and the same guard, from
 * the cache: 1, or 0 if there is none */
static int cache_get(struct coro_stack *out, size_t size, unsigned flags)
{
    struct stack_cache *sc = cache();
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size = size < 2 * page ? 2 * page : (size + page - 1) / page * page;
    bool guard = !(flags & CORO_NO_GUARD);
    for (size_t i = sc->n; i-- > 0;) { /* the most recent first: its pages are warm */
        struct coro_stack *s = &sc->s[i];
        if ((size_t)(s->hi - s->lo) == size && (s->lo != s->map) == guard) {
            *out = *s;
            *s = sc->s[--sc->n];
            sc->hits++;
#ifdef WB_ASAN
            ASAN_UNPOISON_MEMORY_REGION(out->lo, size);
#endif
#ifdef CORO_VALGRIND
            VALGRIND_MAKE_MEM_UNDEFINED(out->lo, size);
            out->vg_id = VALGRIND_STACK_REGISTER(out->lo, out->hi);
#endif
            return 1;
        }
    }
    sc->misses++;
    return 0;
}

/* keep a stack nobody uses any more, or unmap it if the cache is full */
static void cache_put(struct coro_stack *s)
{
    struct stack_cache *sc = cache();
    if (sc->n == sc->limit) {
        coro_stack_free(s);
        return;
    }
    if (sc->n == sc->cap) {
        size_t cap = sc->cap ? 2 * sc->cap : 16;
        struct coro_stack *p = realloc(sc->s, cap * sizeof *p);
        if (!p) { /* no room to remember it: give it back instead */
            coro_stack_free(s);
            return;
        }
        if (!sc->s) { /* the first stack this thread caches: unmap them all at its exit */
            CHECK_PT(pthread_once(&g_cache_once, cache_key_create));
            CHECK_PT(pthread_setspecific(g_cache_key, sc));
        }
        sc->s = p;
        sc->cap = cap;
    }
#ifdef CORO_VALGRIND
    VALGRIND_STACK_DEREGISTER(s->vg_id);
    VALGRIND_MAKE_MEM_NOACCESS(s->lo, (size_t)(s->hi - s->lo));
#endif
#ifdef WB_ASAN
    ASAN_POISON_MEMORY_REGION(s->lo, (size_t)(s->hi - s->lo));
#endif
    sc->s[sc->n++] = *s;
    memset(s, 0, sizeof *s);
}

size_t coro_cache_limit(size_t limit)
{
    struct stack_cache *sc = cache();
    size_t old = sc->limit;
    sc->limit = limit;
    while (sc->n > limit)
        unmap_cached(&sc->s[--sc->n]);
    return old;
}

void coro_cache_flush(void)
{
    struct stack_cache *sc = cache();
    while (sc->n > 0)
        unmap_cached(&sc->s[--sc->n]);
}

struct coro_cache_stats coro_cache_stats(void)
{
    struct stack_cache *sc = cache();
    return (struct coro_cache_stats){ .cached = sc->n, .limit = sc->limit, .hits = sc->hits, .misses = sc->misses };
}

struct coro *coro_create(coro_fn fn, size_t stack_size, unsigned flags)
{
    struct coro *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    size_t want = stack_size ? stack_size : CORO_DEFAULT_STACK;
    if (want > SIZE_MAX / 2) { /* more than any address space; rounding it would wrap */
        free(c);
        errno = ENOMEM;
        return NULL;
    }
    if (flags & CORO_COPY_STACK) {
#ifdef CORO_UCONTEXT
        free(c); /* makecontext writes the first frame on the stack: no copying here */
        errno = ENOTSUP;
        return NULL;
#else
        if (!t_shared.map && !cache_get(&t_shared, CORO_SHARED_STACK, 0) &&
            coro_stack_alloc(&t_shared, CORO_SHARED_STACK, 0) == -1) {
            free(c);
            return NULL;
        }
        c->saved = malloc(INIT_FRAME_BYTES);
        if (!c->saved) {
            free(c);
            return NULL;
        }
        t_ncopied++;
        c->copied = true;
        c->stack = t_shared; /* (a copy of the bounds: the thread owns the stack) */
#endif
    } else if (!cache_get(&c->stack, want, flags) && coro_stack_alloc(&c->stack, want, flags) == -1) {
        int e = errno;
        free(c);
        errno = e;
        return NULL;
    }
    c->fn = fn;
    c->parent = current();
#ifdef CORO_UCONTEXT
    get_context(&c->uc);
    c->uc.uc_stack.ss_sp = c->stack.lo;
    c->uc.uc_stack.ss_size = (size_t)(c->stack.hi - c->stack.lo);
    c->uc.uc_link = NULL; /* coro_entry never returns, so no successor is needed */
    makecontext(&c->uc, uc_start, 0);
#else
    uintptr_t *top = (uintptr_t *)((uintptr_t)c->stack.hi & ~(uintptr_t)15);
    c->sp = (char *)top - INIT_FRAME_BYTES;
    if (c->copied) { /* its first frame waits in its save buffer, like a suspended one's */
        init_frame((uintptr_t *)(c->saved + INIT_FRAME_BYTES), c, coro_entry);
        c->saved_len = c->saved_cap = INIT_FRAME_BYTES;
    } else {
        init_frame(top, c, coro_entry);
    }
    if (flags & CORO_OWN_FPU)
        save_fpu(&c->fpu); /* it starts with its creator's modes */
#endif
    c->own_fpu = (flags & CORO_OWN_FPU) != 0;
#ifdef WB_ASAN
    c->asan_bottom = c->stack.lo;
    c->asan_size = (size_t)(c->stack.hi - c->stack.lo);
#endif
#ifdef WB_TSAN
    c->tsan_fiber = __tsan_create_fiber(0);
#endif
    return c;
}

#ifndef CORO_UCONTEXT
static struct coro *copier(void)
{
    if (!t_copier) {
        t_copier = coro_create(copier_loop, 16 * 1024, 0);
        if (!t_copier)
            die("coro_create(the copied stacks' helper)");
        t_copier->parent = &t_main; /* (it never returns) */
    }
    return t_copier;
}
#endif

void *coro_switch(struct coro *to, void *value)
{
    struct coro *from = current();
    if (to == from)
        return value;
    if (to->done)
        fatal("coro_switch: that coroutine has finished");
    return switch_to(from, to, value);
}

struct coro *coro_current(void)
{
    return current();
}

struct coro *coro_main(void)
{
    current();
    return &t_main;
}

struct coro *coro_parent(const struct coro *c)
{
    return c->is_main ? NULL : c->parent;
}

void coro_set_parent(struct coro *c, struct coro *parent)
{
    if (c->is_main)
        fatal("coro_set_parent: a main coroutine has no parent");
    for (struct coro *p = parent; p && !p->is_main; p = p->parent)
        if (p == c)
            fatal("coro_set_parent: that would make a cycle");
    c->parent = parent;
}

bool coro_done(const struct coro *c)
{
    return c->done;
}

bool coro_started(const struct coro *c)
{
    return c->started;
}

void coro_set_user(struct coro *c, void *user)
{
    c->user = user;
}

void *coro_user(const struct coro *c)
{
    return c->user;
}

#ifdef WB_ASAN
/* A coroutine dropped while suspended still owns a fake stack (see the top), and ASan
 * frees a fake stack only when its coroutine leaves for good. So we act that out here,
 * without moving: a switch "to" c that takes up c's fake stack, then a last switch
 * "from" c (NULL: never coming back, which frees it), then back to our own. */
static void drop_fake_stack(struct coro *c)
{
    void *mine;
    const void *bottom;
    size_t size;
    __sanitizer_start_switch_fiber(&mine, c->asan_bottom, c->asan_size);
    __sanitizer_finish_switch_fiber(c->asan_fake, &bottom, &size); /* our own bounds */
    __sanitizer_start_switch_fiber(NULL, bottom, size);
    __sanitizer_finish_switch_fiber(mine, NULL, NULL);
    c->asan_fake = NULL;
}
#endif

void coro_free(struct coro *c)
{
    if (!c)
        return;
    if (c->is_main || c == t_current)
        fatal("coro_free: not the running coroutine, nor a main one");
#ifdef WB_ASAN
    if (c->started && !c->done && c->asan_fake)
        drop_fake_stack(c);
#endif
#ifdef WB_TSAN
    __tsan_destroy_fiber(c->tsan_fiber);
#endif
#ifndef CORO_UCONTEXT
    if (c->copied) {
        if (t_owner == c)
            t_owner = NULL;
        free(c->saved);
        if (--t_ncopied == 0) { /* the last one: the shared stack goes too, and the helper */
            cache_put(&t_shared);
            struct coro *h = t_copier;
            t_copier = NULL;
            coro_free(h);
        }
        free(c);
        return;
    }
#endif
    cache_put(&c->stack);
    free(c);
}

size_t coro_saved_bytes(const struct coro *c)
{
    return c->copied ? c->saved_cap : 0;
}

void coro_stack_bounds(const struct coro *c, void **lo, void **hi, void **guard)
{
    *lo = c->stack.lo;
    *hi = c->stack.hi;
    *guard = c->stack.lo != c->stack.map ? c->stack.map : NULL;
}

const char *coro_backend(void)
{
#if defined(CORO_UCONTEXT)
    return "ucontext";
#elif defined(__aarch64__)
    return "aarch64 assembly";
#else
    return "x86-64 assembly";
#endif
}
