/* solutions/checkpoint.c: exercise 3: a job that loses a rank, then finishes on a rerun.
 *
 * What MPI users do about a dead rank, at its simplest (checkpoint and restart): rank 0
 * appends each result to a checkpoint file the moment it arrives, and a job starts by
 * reading that file and dealing only the tasks that are not in it. Two jobs run on the
 * same file: in the first, rank --victim kills itself halfway through (as in mpi_fault's
 * part 1) and the launcher ends the whole job; the second deals what is missing and
 * prints the total, which must equal the one-process total.
 *
 * The file is /tmp/wb-checkpoint-<pid> unless --file names one; this program removes its
 * own (also when interrupted). Each line is written with one write(2) on an O_APPEND
 * descriptor, so a rank killed mid-job leaves whole lines: the kernel keeps what was
 * written when a process dies (a machine that loses power is another matter: fsync).
 *
 * Run:  ./solutions/checkpoint [--ranks 3] [--work 120]
 * Look for: "job 1" ending with exit 9 and some results saved; "job 2" dealing only the
 * rest; the same total as one process.
 */
#include "cluster.h"
#include "launch.h"

#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static long g_ranks = 3, g_victim = 2, g_tasks = 48;
static const char *g_file;

static void strike(long task, long nth)
{
    int rank;
    (void)nth;
    CHECK_MPI(MPI_Comm_rank(MPI_COMM_WORLD, &rank));
    if (rank == g_victim && (task < 0 || task >= g_tasks / 2))
        raise(SIGKILL);
}

/* rank 0: the dynamic map's dealer, skipping what the checkpoint already holds; false
 * if the total is wrong */
static bool deal(const struct job *job, int size)
{
    bool *done = calloc((size_t)job->tasks, sizeof *done);
    if (!done)
        die("calloc");
    uint64_t total = 0, sum;
    long saved = 0, task;
    FILE *f = fopen(g_file, "r");
    while (f && fscanf(f, "%ld %" SCNu64 "\n", &task, &sum) == 2)
        if (task >= 0 && task < job->tasks && !done[task]) {
            done[task] = true;
            total += sum;
            saved++;
        }
    if (f)
        fclose(f);
    int fd = open(g_file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd == -1)
        die("open %s", g_file);
    printf("rank 0: the checkpoint holds %ld of %ld results; dealing the other %ld\n", saved, job->tasks,
           job->tasks - saved);
    fflush(stdout);

    long next = 0;
    for (int working = size - 1; working > 0;) {
        uint64_t msg[2];
        MPI_Status st;
        CHECK_MPI(MPI_Recv(msg, 2, MPI_UINT64_T, MPI_ANY_SOURCE, MAP_ASK, MPI_COMM_WORLD, &st));
        if (msg[0] > 0) {
            total += msg[1];
            saved++;
            if (dprintf(fd, "%ld %" PRIu64 "\n", (long)msg[0] - 1, msg[1]) < 0)
                die("write %s", g_file);
        }
        while (next < job->tasks && done[next])
            next++;
        if (!map_send_next(job, st.MPI_SOURCE, &next))
            working--;
    }
    CHECK_SYS(close(fd));
    uint64_t one = job_sum(0, job->n);
    printf("rank 0: all %ld results: total %#llx; one process: %#llx: %s\n", saved, (unsigned long long)total,
           (unsigned long long)one, total == one ? "the same" : "DIFFERENT");
    free(done);
    return total == one;
}

static void check_victim(void)
{
    if (g_victim >= g_ranks)
        cli_error("--victim: %ld is not a rank of a job of --ranks %ld (accepted: 0..%ld)", g_victim, g_ranks,
                  g_ranks - 1);
}

static char g_path[64];

static void remove_file(void) /* on SIGINT/SIGTERM: async-signal-safe */
{
    unlink(g_path);
}

int main(int argc, char **argv)
{
    long work = 120;
    int64_t timeout = 60 * NS_PER_S;
    const struct cli_opt opts[] = {
        { "ranks", CLI_INT, &g_ranks, "ranks of each job (rank 0 deals)", 2, 64, NULL, NULL },
        { "victim", CLI_INT, &g_victim, "the rank that dies in job 1 (0: none)", 0, 63, NULL, NULL },
        { "work", CLI_INT, &work, "the job, in millions of hashes", 1, 100000, "8", NULL },
        { "tasks", CLI_INT, &g_tasks, "tasks rank 0 deals out", 2, 10000, NULL, NULL },
        { "file", CLI_STRING, &g_file, "the checkpoint file, kept at the end (none: a temporary one)", 0, 0, NULL, NULL },
        { "timeout", CLI_DURATION, &timeout, "how long each job may take", NS_PER_S, 3600 * NS_PER_S, NULL, NULL },
        { 0 },
    };
    struct cli cli = { 0 };
    launch_parse(argc, argv, "Checkpoint and restart: a job that loses a rank, and a second job that finishes it.",
                 opts, &cli, check_victim);
    struct job job = { (uint64_t)work * 1000000, g_tasks };
    if (launch_in_job()) {
        int rank, size;
        mpi_start(&argc, &argv, &rank, &size);
        struct rank_work me = { 0 };
        struct map_hooks hooks = { strike, NULL };
        bool right = true;
        if (rank == 0)
            right = deal(&job, size);
        else
            map_worker(&me, &hooks);
        if (g_victim > 0 && rank == g_victim) /* no task that late came its way: die now */
            strike(-1, 0);
        fflush(stdout);
        CHECK_MPI(MPI_Finalize());
        return right ? 0 : 1;
    }

    bool temporary = !g_file;
    if (temporary) {
        snprintf(g_path, sizeof g_path, "/tmp/wb-checkpoint-%d", (int)getpid());
        g_file = g_path;
        on_termination(remove_file);
    }
    /* each job gets the file and its victim at the end of the arguments (the last wins) */
    char **args = calloc((size_t)argc + 5, sizeof *args);
    if (!args)
        die("calloc");
    memcpy(args, argv, (size_t)argc * sizeof *args);
    args[argc] = "--file";
    args[argc + 1] = (char *)g_file;
    args[argc + 2] = "--victim";
    int status = 1;
    for (int n = 1; n <= 2; n++) {
        char victim[16];
        snprintf(victim, sizeof victim, "%ld", n == 1 ? g_victim : 0L);
        args[argc + 3] = victim;
        if (n == 1 && g_victim > 0)
            printf("job %d: %ld ranks; rank %ld dies halfway through\n", n, g_ranks, g_victim);
        else
            printf("job %d: %ld ranks, the same checkpoint file\n", n, g_ranks);
        char label[16];
        snprintf(label, sizeof label, "job %d", n);
        status = launch_job(label, (int)g_ranks, args, timeout);
        printf("\n");
    }
    free(args);
    if (temporary)
        CHECK_SYS(unlink(g_path));
    return status;
}
