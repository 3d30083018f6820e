/* solutions/polite_dealer.c: exercise 2: a dealer that sleeps while it waits.
 *
 * mpi_map's dealer waits for the next request in MPI_Recv, and MPICH waits by polling:
 * rank 0 keeps a core busy while it computes nothing. Here rank 0 posts the receive
 * (MPI_Irecv) and looks at it (MPI_Test) once every --nap, sleeping in between. One job
 * runs the same dynamic map twice, with MPICH's dealer (cluster.c) and with this one;
 * rank 0 prints each map's time and its own CPU time in it, and both totals are checked
 * against the one-process total.
 *
 * Run:  ./solutions/polite_dealer [--ranks 3] [--nap 50us]
 * Look for: with more ranks than cores, the polite dealer gives its core to the workers
 * and the map gets faster; its CPU time falls to a few percent of the map's time; with
 * a core per rank, it gains nothing, and each request can wait up to one nap longer.
 */
#include "cluster.h"
#include "launch.h"

#include <stdlib.h>

static int64_t g_nap = 50 * NS_PER_US;

static uint64_t polite_deal(const struct job *job, int size)
{
    uint64_t total = 0;
    long next = 0;
    for (int working = size - 1; working > 0;) {
        uint64_t msg[2];
        MPI_Request req;
        MPI_Status st;
        int done = 0;
        CHECK_MPI(MPI_Irecv(msg, 2, MPI_UINT64_T, MPI_ANY_SOURCE, MAP_ASK, MPI_COMM_WORLD, &req));
        for (;;) {
            CHECK_MPI(MPI_Test(&req, &done, &st));
            if (done)
                break;
            sleep_ns(g_nap); /* the core is free for a worker meanwhile */
        }
        if (msg[0] > 0)
            total += msg[1];
        if (!map_send_next(job, st.MPI_SOURCE, &next))
            working--;
    }
    return total;
}

static int64_t cpu_ns(void)
{
    struct timespec ts;
    CHECK_SYS(clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts));
    return ts_to_ns(ts);
}

int main(int argc, char **argv)
{
    long ranks = 3, work = 120, tasks = 48;
    int64_t timeout = 60 * NS_PER_S;
    const struct cli_opt opts[] = {
        { "ranks", CLI_INT, &ranks, "ranks to start (mpiexec -n) when run outside mpiexec", 2, 64, NULL, NULL },
        { "work", CLI_INT, &work, "the job, in millions of hashes", 1, 100000, "8", NULL },
        { "tasks", CLI_INT, &tasks, "tasks the dealer deals out", 1, 10000, NULL, NULL },
        { "nap", CLI_DURATION, &g_nap, "the polite dealer's sleep between looks", NS_PER_US, 100 * NS_PER_MS, NULL,
          NULL },
        { "timeout", CLI_DURATION, &timeout, "how long the job may take", NS_PER_S, 3600 * NS_PER_S, NULL, NULL },
        { 0 },
    };
    struct cli cli = { 0 };
    launch_parse(argc, argv, "mpi_map's dynamic map with MPICH's polling dealer and with one that sleeps.", opts,
                 &cli, NULL);
    if (!launch_in_job())
        return launch_job("polite_dealer", (int)ranks, argv, timeout);

    int rank, size;
    mpi_start(&argc, &argv, &rank, &size);
    if (size < 2)
        fatal("a dealer needs at least one worker: run it with 2 ranks or more");
    struct job job = { (uint64_t)work * 1000000, tasks };
    struct rank_work me;
    uint64_t totals[2];
    for (int way = 0; way < 2; way++) {
        CHECK_MPI(MPI_Barrier(MPI_COMM_WORLD));
        int64_t t0 = now_ns(), c0 = cpu_ns();
        if (way == 0)
            totals[0] = map_dynamic(&job, &me, NULL);
        else if (rank == 0)
            totals[1] = polite_deal(&job, size);
        else
            map_worker(&me, NULL);
        if (rank == 0)
            printf("%-38s the map took %.3f s; rank 0 used %.3f s of CPU\n",
                   way == 0 ? "MPICH's dealer (MPI_Recv polls):" : "the polite dealer (Irecv, Test, nap):",
                   (double)(now_ns() - t0) / 1e9, (double)(cpu_ns() - c0) / 1e9);
    }
    int status = 0;
    if (rank == 0) {
        uint64_t one = job_sum(0, job.n);
        status = totals[0] == one && totals[1] == one ? 0 : 1;
        printf("%d ranks, nap %.0f µs: %s\n", size, (double)g_nap / 1e3,
               status == 0 ? "both totals equal the one-process total" : "a total is WRONG");
    }
    fflush(stdout);
    CHECK_MPI(MPI_Finalize());
    return status;
}
