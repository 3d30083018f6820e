/* yield_pingpong.c: two generator workers taking turns, the lesson's `yield` in C.
 *
 * Mirrors: the lesson's work1() and work2(), generators that print their name and
 * yield inside `while True`, and main() calling next(w1), next(w2) in a loop:
 *
 *     def work1():                        static bool work_next(struct worker *w)
 *         while True:                     {   GEN_BEGIN(&w->gen);
 *             print("----work1---")           for (w->turn = 1; ...; w->turn++) {
 *             yield                               trace("----%s---", w->name);
 *             time.sleep(0.5)                     GEN_YIELD(&w->gen);
 *                                                 sleep_ns(pause);  }
 *                                             GEN_END(&w->gen);  }
 *
 * What it shows: a generator is a function that returns at each yield and picks up
 * after it on the next call (generator.h explains the line-number switch). Nothing
 * runs by itself: main's loop decides who goes next, so the two alternate strictly,
 * work1, work2, work1, ... on one thread (one pid, one name in every trace line).
 * The loop counter lives in the worker's struct, not in a local variable, because
 * each call to work_next gets a fresh stack frame: that struct is the generator's
 * frame, which Python keeps for you on the heap. The lesson's loop runs forever;
 * here each worker stops after --rounds turns (Python: StopIteration), and the last
 * lines restart one (a new work1() in Python) to show it begins again at the top.
 *
 * Run:  ./yield_pingpong [--rounds 5] [--pause 500ms]
 * Look for: strict alternation, the pause falling *after* each line (the sleep comes
 * after the yield, so it runs when the generator is resumed), and "finished".
 * See also: greenlet_demo.c (the same ping-pong with stackful coroutines).
 */
#include "common.h"
#include "generator.h"

static int64_t g_pause = 500 * NS_PER_MS;

struct worker {
    struct gen gen;      /* where it stopped: its frame, kept between calls */
    const char *name;
    const char *indent;  /* work2 prints in a second column */
    long turn, rounds;   /* must survive the yields, so they live here */
};

/* one step of the generator: true when it yielded, false when it has finished */
static bool work_next(struct worker *w)
{
    GEN_BEGIN(&w->gen);
    for (w->turn = 1; w->turn <= w->rounds; w->turn++) {
        trace("%s----%s--- (turn %ld)", w->indent, w->name, w->turn);
        GEN_YIELD(&w->gen);
        sleep_ns(g_pause); /* runs when main resumes us: after the other one's turn */
    }
    GEN_END(&w->gen);
}

int main(int argc, char **argv)
{
    long rounds = 5;
    const struct cli_opt opts[] = {
        { "rounds", CLI_INT, &rounds, "turns each worker takes before it finishes", 1, 1000, "3", NULL },
        { "pause", CLI_DURATION, &g_pause, "sleep after each yield, as the lesson's time.sleep(0.5)",
          0, 10 * NS_PER_S, "1ms", NULL },
        { 0 },
    };
    struct cli cli = { 0 };
    cli_parse(argc, argv, "Two generators alternate: Python's yield, with a line-number switch in C.",
              opts, &cli);

    trace_start();
    struct worker w1 = { .name = "work1", .indent = "", .rounds = rounds };
    struct worker w2 = { .name = "work2", .indent = "                ", .rounds = rounds };
    trace("main: w1 = work1(); w2 = work2()   (nothing runs yet: %zu bytes of state each)", sizeof w1);
    long calls = 0;
    for (;;) { /* Python: while True: next(w1); next(w2) */
        bool more1 = work_next(&w1);
        bool more2 = work_next(&w2);
        calls += 2;
        if (!more1 && !more2)
            break;
    }
    trace("main: both generators finished (StopIteration) after %ld calls of next()", calls);

    gen_restart(&w1.gen); /* Python: w1 = work1() again */
    w1.rounds = 1;
    trace("main: restarted work1, it begins at the top:");
    while (work_next(&w1))
        ;
    trace("main: work1 finished again: %s", gen_finished(&w1.gen) ? "yes" : "no");
    return 0;
}
