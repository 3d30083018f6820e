/* generator.h: stackless generators in C, with the line-number switch.
 *
 * A Python generator is a function that can stop in the middle (yield) and later
 * carry on from there (next). C has no such function, but it can fake one:
 *
 *   - the generator is an ordinary function that *returns* at each yield and is
 *     called again for the next value;
 *   - before returning it notes where it was: the line number of the yield;
 *   - the next call starts with a switch on that number, whose case labels sit just
 *     after each yield, so control jumps straight back to where it left.
 *
 * That is the whole trick (Simon Tatham's "coroutines in C", Duff's device, Adam
 * Dunkels' protothreads). In use:
 *
 *     struct counter { struct gen gen; int i, n; };      // the generator's state
 *
 *     static bool counter_next(struct counter *c, int *out)
 *     {
 *         GEN_BEGIN(&c->gen);
 *         for (c->i = 0; c->i < c->n; c->i++) {
 *             *out = c->i;
 *             GEN_YIELD(&c->gen);                        // returns true
 *         }
 *         GEN_END(&c->gen);                              // returns false: done
 *     }
 *
 *     struct counter c = { .n = 3 };                     // Python: c = counter(3)
 *     int v;
 *     while (counter_next(&c, &v))                       // for v in c:
 *         printf("%d\n", v);
 *
 * Why locals do not survive a yield. GEN_YIELD really returns: the function's stack
 * frame is gone, and the next call gets a fresh one, with fresh (uninitialized)
 * locals. So anything that must live across a yield, such as the loop counter above,
 * has to be kept in the state struct (c->i, not a local int i). This is the price of
 * being "stackless": the generator owns no stack, only the struct you give it, which
 * is also why it costs a few bytes and a function call to resume (switch_cost.c).
 *
 * Python does the same thing for you. A generator object holds a frame object on the
 * heap (gi_frame): its local variables and the index of the next bytecode
 * instruction (f_lasti). next() pushes that frame on the interpreter's frame chain and
 * continues at f_lasti; yield pops it off again, locals intact. The C state struct is
 * a hand-made frame, and the line number is a hand-made f_lasti.
 *
 * The limits of the trick, all from the switch underneath:
 *   - yield only in the generator function itself, never in a function it calls (the
 *     yield would return from that one instead): a stackless generator cannot yield
 *     from below. Stackful coroutines (coro.h) can;
 *   - no switch statement of your own around a GEN_YIELD (its case labels would be
 *     taken by the inner switch);
 *   - one GEN_YIELD per source line (the line number is the label);
 *   - a local declared before a yield and used after it holds garbage (above).
 */
#ifndef WORKBOOK_GENERATOR_H
#define WORKBOOK_GENERATOR_H

#include <stdbool.h>

struct gen {
    int line; /* where to resume: 0 = at the start, -1 = finished, else a yield's line */
};

/* Python: g = f() makes a fresh generator. Here: zero the state, or gen_restart(). */
static inline void gen_restart(struct gen *g)
{
    g->line = 0;
}

static inline bool gen_finished(const struct gen *g)
{
    return g->line == -1;
}

/* Opens the body: jump to where the last call left off. */
#define GEN_BEGIN(g)                                                                   \
    switch ((g)->line) {                                                               \
    case 0:

/* Yield: remember this line, return true; the next call resumes right after. */
#define GEN_YIELD(g)                                                                   \
    do {                                                                               \
        (g)->line = __LINE__;                                                          \
        return true;                                                                   \
    case __LINE__:;                                                                    \
    } while (0)

/* Closes the body: the generator is finished (StopIteration), now and on every later
 * call, until gen_restart(). */
#define GEN_END(g)                                                                     \
    }                                                                                  \
    (g)->line = -1;                                                                    \
    return false

/* The least a generator can do: count the calls that resume it. The benchmarks use it
 * (switch_cost.c, create_cost.c) through a function of their own marked noinline, so
 * that what they time is a real call and return. */
struct gen_ticker {
    struct gen gen;
    long n;
};

static inline bool gen_ticker_next(struct gen_ticker *t)
{
    GEN_BEGIN(&t->gen);
    for (;;) {
        t->n++;
        GEN_YIELD(&t->gen);
    }
    GEN_END(&t->gen);
}

#endif
