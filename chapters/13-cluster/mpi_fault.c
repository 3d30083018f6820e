/* mpi_fault.c: one rank of an MPI job dies, or hangs; one worker of chapter 03's pool dies.
 *
 * Mirrors: a Pool.map whose worker is killed, against an mpi4py job whose rank is killed
 * (the cluster's version: a machine that crashes, or freezes, in the middle of a job).
 *
 * The job is mpi_map's dynamic map: rank 0 deals --tasks tasks of chapter 03's job to
 * the other ranks and prints each result as it comes in ("task/rank"). Three parts:
 *   kill  rank --victim kills itself (SIGKILL) when it takes its first task of the
 *         job's second third. MPI's model is one job: MPICH's launcher sees a rank die
 *         and ends every other rank; mpiexec passes on the signal's number as its exit
 *         code. The results rank 0 had are gone with it.
 *   stop  the same rank stops instead (SIGSTOP: a machine that hangs). Nothing has died,
 *         so nothing is noticed: rank 0 waits for the task's result for ever, and only
 *         the deadline around mpiexec (--timeout; launch.c) ends the job.
 *   pool  the same job on chapter 03's pool, whose worker is killed in the same task:
 *         the pool reports that task (POOL_DIED, with the pid and the signal), forks a
 *         new worker, and the task is submitted again; the total is right.
 * Each MPI part is a job of its own, started as `mpiexec -n RANKS ./mpi_fault ... --part
 * kill` (or stop); at its end no process of it is left (launch.c kills and reaps what
 * remains). The exit status is 0 when every part behaved as described.
 *
 * Run:  ./mpi_fault [--ranks 3] [--victim 2] [--timeout 3s] [--part all]
 * Look for: "BAD TERMINATION" from mpiexec and exit 9 in part 1; the deadline in part 2;
 * POOL_DIED, then the right total, in part 3.
 * See also: chapters/03-pool/pool_faults.c, which kills a pool worker from outside.
 */
#include "launch.h"
#include "pool_job.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

enum { ALL, KILL, STOP, POOL };
static int g_part = ALL;
static long g_victim = 2, g_tasks = 48;
static bool g_struck;

/* ---- as a rank ---- */

static void strike(long task)
{
    g_struck = true;
    fprintf(stderr, "  rank %ld (pid %d): %s, in task %ld\n", g_victim, (int)getpid(),
            g_part == KILL ? "SIGKILL to myself" : "SIGSTOP to myself", task);
    raise(g_part == KILL ? SIGKILL : SIGSTOP);
}

static void task_taken(long task, long nth)
{
    int rank;
    (void)nth;
    CHECK_MPI(MPI_Comm_rank(MPI_COMM_WORLD, &rank));
    if (rank == g_victim && !g_struck && task >= g_tasks / 3)
        strike(task);
}

static void result_in(long task, int from, uint64_t sum, long results)
{
    (void)sum;
    printf("%s %ld/%d", results > 1 && results % 16 == 1 ? "\n " : "", task, from);
    fflush(stdout);
}

static int as_rank(const struct job *job)
{
    int rank, size;
    mpi_start(NULL, NULL, &rank, &size);
    if (rank == 0)
        printf("rank 0: results as they come in (task/rank):\n ");
    fflush(stdout);
    struct map_hooks hooks = { task_taken, result_in };
    struct rank_work me;
    uint64_t total = map_dynamic(job, &me, &hooks);
    if (rank == g_victim && !g_struck) /* it got no task that late: strike anyway */
        strike(-1);
    if (rank == 0)
        printf("\nrank 0: all %ld results are in: total %#llx\n", job->tasks, (unsigned long long)total);
    fflush(stdout);
    CHECK_MPI(MPI_Finalize());
    return 0;
}

/* ---- the MPI parts, from outside ---- */

static bool mpi_part(int part, long ranks, int argc, char **argv, int64_t timeout)
{
    char **args = calloc((size_t)argc + 3, sizeof *args);
    if (!args)
        die("calloc");
    memcpy(args, argv, (size_t)argc * sizeof *args);
    args[argc] = "--part";
    args[argc + 1] = part == KILL ? "kill" : "stop";
    printf("\npart %d: an MPI job of %ld ranks; rank %ld %s in the first task it takes from task %ld on\n",
           part == KILL ? 1 : 2, ranks, g_victim, part == KILL ? "is killed (SIGKILL)" : "stops (SIGSTOP, as a machine that hangs)",
           g_tasks / 3);
    struct launch_end end;
    /* the job that is killed ends by itself: the deadline there is only a safety net */
    launch_self((int)ranks, NULL, args, part == KILL && timeout < 60 * NS_PER_S ? 60 * NS_PER_S : timeout, true,
                &end);
    free(args);
    for (char *line = end.out, *nl; line && *line; line = nl ? nl + 1 : line + strlen(line)) {
        nl = strchr(line, '\n');
        printf("  | %.*s\n", nl ? (int)(nl - line) : (int)strlen(line), line);
    }
    /* rank 0's results: one "task/rank" each, up to the end or mpiexec's own report */
    long got = 0;
    const char *from = strstr(end.out, "(task/rank):"), *to = strstr(end.out, "=====");
    for (const char *c = from ? from + 12 : ""; *c && (!to || c < to); c++)
        got += *c == '/';
    bool complete = strstr(end.out, "results are in:") != NULL;
    free(end.out);
    char how[160];
    printf("mpi_fault: mpiexec: %s\n", launch_describe(&end, how, sizeof how));
    if (part == KILL && !end.timed_out && !(WIFEXITED(end.status) && WEXITSTATUS(end.status) == 0)) {
        printf("the whole job ended with the one rank: rank 0 had %ld of %ld results%s\n", got, g_tasks,
               complete ? ", all of them (the rank died late)" : ", and no total");
        return true;
    }
    if (part == STOP && end.timed_out) {
        printf("nothing died, so MPI noticed nothing: rank 0 would have waited for ever for the stopped rank's\n"
               "result (it had %ld of %ld); the deadline ended the job, and every process of it is gone\n", got, g_tasks);
        return true;
    }
    printf("UNEXPECTED: this is not what part %d shows\n", part == KILL ? 1 : 2);
    return false;
}

/* ---- the pool part ---- */

static bool pool_part(const struct job *job, int workers)
{
    long doomed = g_tasks / 3;
    printf("\npart 3: chapter 03's pool of %d workers, the same job; the worker running task %ld is killed "
           "(SIGKILL)\n", workers, doomed);
    struct pool *p = pool_new(workers, 256);
    pool_task *h = malloc((size_t)job->tasks * sizeof *h);
    if (!h)
        die("malloc");
    for (long k = 0; k < job->tasks; k++) {
        struct pool_slice s = { 0, 0, k == doomed };
        job_slice(job->n, k, job->tasks, &s.from, &s.to);
        h[k] = pool_apply_async(p, pool_slice_task, &s, sizeof s);
    }
    uint64_t total = 0;
    long retried = 0;
    for (long k = 0; k < job->tasks; k++) {
        uint64_t sum;
        struct pool_result res;
        if (pool_get(p, h[k], 60 * NS_PER_S, &sum, sizeof sum, &res) == POOL_DIED) {
            printf("  task %ld: POOL_DIED: worker %d was killed by SIG%s while running it\n", k, (int)res.pid,
                   res.signal ? sigabbrev_np(res.signal) : "NONE");
            struct pool_slice s = { 0, 0, 0 };
            job_slice(job->n, k, job->tasks, &s.from, &s.to);
            pool_task again = pool_apply_async(p, pool_slice_task, &s, sizeof s);
            pool_get(p, again, 60 * NS_PER_S, &sum, sizeof sum, &res);
            printf("  task %ld submitted again: %s (worker %d)\n", k, pool_status_name(res.status), (int)res.pid);
            retried++;
        }
        if (res.status != POOL_OK)
            fatal("task %ld: %s", k, pool_status_name(res.status));
        total += sum;
    }
    printf("  workers replaced: %ld; tasks retried: %ld\n", pool_replaced(p), retried);
    pool_close(p);
    pool_join(p);
    pool_free(p);
    free(h);
    uint64_t one = job_sum(0, job->n);
    printf("  total %#llx; one process: %#llx: %s\n", (unsigned long long)total, (unsigned long long)one,
           total == one ? "the same" : "DIFFERENT");
    return total == one && retried == 1;
}

static long g_ranks = 3;

static void check_victim(void)
{
    if (g_victim >= g_ranks)
        cli_error("--victim: %ld is not a rank of a job of --ranks %ld (accepted: 1..%ld)", g_victim, g_ranks,
                  g_ranks - 1);
}

int main(int argc, char **argv)
{
    long work = 120;
    int64_t timeout = 3 * NS_PER_S;
    const struct cli_opt opts[] = {
        { "ranks", CLI_INT, &g_ranks, "ranks of each MPI job (rank 0 deals)", 2, 64, NULL, NULL },
        { "victim", CLI_INT, &g_victim, "the rank that dies (below --ranks)", 1, 63, NULL, NULL },
        { "work", CLI_INT, &work, "the job, in millions of hashes", 1, 100000, "8", NULL },
        { "tasks", CLI_INT, &g_tasks, "tasks rank 0 deals out", 3, 10000, NULL, NULL },
        { "timeout", CLI_DURATION, &timeout, "the deadline of part 2's job", 100 * NS_PER_MS, 3600 * NS_PER_S,
          "500ms", NULL },
        { "part", CLI_CHOICE, &g_part, "which part to run", 0, 0, NULL, "all|kill|stop|pool" },
        { 0 },
    };
    struct cli cli = { 0 };
    launch_parse(argc, argv, "A rank that dies or hangs in an MPI job, against a worker that dies in the pool.", opts,
                 &cli, check_victim);
    struct job job = { (uint64_t)work * 1000000, g_tasks };
    if (launch_in_job())
        return as_rank(&job);

    bool ok = true;
    if (g_part == ALL || g_part == KILL)
        ok &= mpi_part(KILL, g_ranks, argc, argv, timeout);
    if (g_part == ALL || g_part == STOP)
        ok &= mpi_part(STOP, g_ranks, argc, argv, timeout);
    if (g_part == ALL || g_part == POOL)
        ok &= pool_part(&job, (int)g_ranks - 1);
    printf("\n%s\n", ok ? "every part went as described" : "SOMETHING WENT DIFFERENTLY (see above)");
    return ok ? 0 : 1;
}
