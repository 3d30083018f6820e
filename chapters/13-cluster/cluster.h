/* cluster.h: chapter 03's Pool.map, on MPI: the job, a static map and a dynamic map.
 *
 * Every rank runs the same program; rank 0 of MPI_COMM_WORLD plays the pool's parent
 * (it hands out the work and adds up the results). The job is chapter 03's CPU-bound
 * one (pool_bench, part 2): add up mix64(i) for i in [0, n), cut into tasks.
 *
 *   Python                                      C, MPI
 *   from mpi4py import MPI                      MPI_Init (mpi_start below)
 *   comm.Get_rank(), comm.Get_size()            MPI_Comm_rank, MPI_Comm_size
 *   comm.scatter(slices, root=0)                MPI_Scatter: one slice to each rank
 *   comm.gather(part, root=0)                   MPI_Gather: one sum from each rank
 *   comm.send(task, dest=w), comm.recv(source=  MPI_Send, MPI_Recv (MPI_ANY_SOURCE:
 *     MPI.ANY_SOURCE, status=st)                  from whichever worker asks first)
 *   Pool.map(f, slices, chunksize=1)            map_dynamic
 *
 * map_static: the job in `size` equal slices, one per rank, rank 0's included, then one
 *   sum back from each: two collective calls and no other message, but every rank
 *   gets the same share, and the slowest one sets the time.
 * map_dynamic: rank 0 deals the tasks one at a time to whichever worker asks next (a
 *   pool's task queue, written out as messages): a worker that is slower just takes
 *   fewer tasks. It costs a round trip per task, and rank 0 works on none: it waits in
 *   MPI_Recv, and MPICH waits by polling, so the dealer keeps a core busy.
 */
#ifndef WORKBOOK_CLUSTER_H
#define WORKBOOK_CLUSTER_H

#include "common.h"

#include <mpi.h>

/* Every MPI call is checked. mpi_start makes MPI_COMM_WORLD return errors (instead of
 * its default, which aborts the job), and CHECK_MPI reports the call with MPI's own
 * message, then ends the whole job with MPI_Abort. */
#define CHECK_MPI(call)                                                                \
    do {                                                                               \
        int mpi_rc_ = (call);                                                          \
        if (mpi_rc_ != MPI_SUCCESS)                                                    \
            mpi_fail(mpi_rc_, #call);                                                  \
    } while (0)
noreturn void mpi_fail(int rc, const char *call);

/* MPI_Init, errors returned, and this rank's number and the job's size. */
void mpi_start(int *argc, char ***argv, int *rank, int *size);

/* The job: the sum of mix64(i) over [0, n), in `tasks` tasks. */
struct job {
    uint64_t n;
    long tasks;
};
uint64_t job_sum(uint64_t from, uint64_t to);
/* the k-th of `parts` near-equal slices of [0, n), as [*from, *to) */
void job_slice(uint64_t n, long k, long parts, uint64_t *from, uint64_t *to);

/* What one rank did in a map. */
struct rank_work {
    long tasks;      /* tasks (slices) it computed */
    int64_t work_ns; /* time spent computing them */
    int64_t wall_ns; /* time in the map call, waiting included */
    int64_t cpu_ns;  /* CPU time of the process during the call */
};

/* For the fault demonstrations; NULL for none. */
struct map_hooks {
    /* in a worker, when a task arrives (nth: 1 for the worker's first task) */
    void (*task_taken)(long task, long nth);
    /* in rank 0, for each result (results: how many have come in, this one too) */
    void (*result_in)(long task, int from_rank, uint64_t sum, long results);
};

/* The messages of the dynamic map, all arrays of uint64_t (MPI converts them between
 * machines of different byte order; a struct sent as MPI_BYTE would not be):
 *   worker -> 0, MAP_ASK:   { 0, 0 } the first time, then { task + 1, sum }: the
 *                           result of its last task, and a request for the next
 *   0 -> worker, MAP_TASK:  { task, from, to }
 *   0 -> worker, MAP_STOP:  nothing: no tasks left */
enum { MAP_ASK = 1, MAP_TASK, MAP_STOP };

/* Collective: every rank calls them. They return the job's total on rank 0 (0 on the
 * others) and fill in *me. With one rank, map_dynamic does every task itself. */
uint64_t map_static(const struct job *job, struct rank_work *me);
uint64_t map_dynamic(const struct job *job, struct rank_work *me, const struct map_hooks *hooks);
/* The two halves of map_dynamic, for other dealers (the exercises' solutions):
 * map_worker is a worker's side (ranks 1..): ask, compute, until MAP_STOP, adding to
 * me->tasks and me->work_ns. map_send_next is the dealer's answer to a worker that
 * asked: task *next (then *next moves on) and true, or MAP_STOP and false when
 * *next is past the last task. */
void map_worker(struct rank_work *me, const struct map_hooks *hooks);
bool map_send_next(const struct job *job, int worker, long *next);

#endif
