/* solutions/idle_memory.c: exercise 3 of chapter 11. choose's idle row puts a
 * coroutine at about half a thread's memory per connection: the page of its own stack
 * that each one touches, against a thread's stack page and glibc's thread descriptor.
 * Run the same connections on coroutines with copied stacks (chapter 07's
 * CORO_COPY_STACK, greenlet's way): each suspended task then keeps only the frames it
 * is suspended in, copied to the heap.
 *
 * The idle workload of choose (--conns connections at once, each answered after
 * --idle) on threads, on the hub with a stack per coroutine, and on the hub with copied
 * stacks, each in a fresh process with its private memory sampled, as choose does.
 *
 * Run:  ./solutions/idle_memory [--conns 2000] [--idle 200ms]
 * Look for: KiB per connection, copied stacks well under the others; the wall times
 * about the same.
 */
#include "executor.h"
#include "load.h"

int main(int argc, char **argv)
{
    long conns = 2000;
    int64_t idle = 200 * NS_PER_MS;
    const struct cli_opt opts[] = {
        { "conns", CLI_INT, &conns, "connections at once", 1, 20000, "64", NULL },
        { "idle", CLI_DURATION, &idle, "the server's delay for each", 0, 10 * NS_PER_S, "20ms", NULL },
        { 0 },
    };
    struct cli cli = { 0 };
    cli_parse(argc, argv, "Memory per idle connection: threads, coroutines with their own stacks, coroutines "
                          "on copied stacks.",
              opts, &cli);
    raise_fd_limit(conns + 256);
    struct server srv;
    on_termination(server_kill_now);
    server_start(&srv);
    struct load l = { .tasks = conns, .io = true, .delay = idle, .cores = default_cores(),
                      .deadline = NO_DEADLINE, .server = srv.addr };
    const struct { const char *name; enum runner r; bool copied; } ways[] = {
        { "threads", R_THREADS, false },
        { "coroutines, a stack each", R_COROS, false },
        { "coroutines, copied stacks", R_COROS, true },
    };
    printf("%ld connections at once, each answered after %.0f ms\n", conns, (double)idle / 1e6);
    for (size_t k = 0; k < ARRAY_LEN(ways); k++) {
        struct cell c;
        l.copied_stacks = ways[k].copied;
        cell_run(ways[k].r, &l, true, &c);
        if (c.done != conns || c.wrong)
            fatal("%s: %ld of %ld done, %ld wrong", ways[k].name, c.done, conns, c.wrong);
        printf("  %-26s %6.2f KiB per connection, %7.1f ms\n", ways[k].name, c.mem_kib / (double)conns,
               (double)c.wall / 1e6);
    }
    server_stop(&srv);
    return 0;
}
