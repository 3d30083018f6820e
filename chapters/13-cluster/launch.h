/* launch.h: start an MPI job from a plain program, with a deadline, and leave nothing.
 *
 * An MPI program is started by a launcher: `mpiexec -n 4 ./prog` runs four copies of
 * prog, the *ranks*. MPICH's launcher (hydra) does it in three layers:
 *
 *     mpiexec -> hydra_pmi_proxy (one per host) -> rank 0, rank 1, ... (each in a
 *                                                   process group of its own)
 *
 * The chapter's programs can be run directly: started outside mpiexec, a program calls
 * launch_self(), which runs `mpiexec -n N <the same program> <the same arguments>` and
 * waits for it; started by mpiexec (launch_in_job()), it is a rank and does the work.
 *
 * launch_run() is the part that makes it safe, for any command that starts a tree of
 * processes:
 *  - a deadline: a job that hangs (a rank that stopped, a lost message) is killed when
 *    the time is up, and the caller is told so;
 *  - the whole tree: the caller becomes a "child subreaper" (prctl(2),
 *    PR_SET_CHILD_SUBREAPER), so a process orphaned below it (a rank whose proxy died)
 *    is re-parented to the caller instead of to init, and can be killed and reaped;
 *  - signals: SIGINT, SIGTERM, SIGHUP and SIGCHLD are blocked while it waits and read
 *    from a signalfd, so an interrupt is one more event of the wait loop, beside the
 *    deadline and a child's end; on an interrupt the job is killed, then the signal is
 *    raised again, and the caller dies of it as it would have;
 *  - MPICH's leftovers: a job killed inside MPI_Init can leave MPICH's shared memory
 *    file (/dev/shm/mpich_shar_tmp...) behind; after a job that did not end cleanly,
 *    such a file that appeared meanwhile and that no process holds is removed
 *    (leftovers.c).
 * Call it when the caller has no other children (they would be reaped, or killed).
 */
#ifndef WORKBOOK_LAUNCH_H
#define WORKBOOK_LAUNCH_H

#include "common.h"

struct launch_end {
    int status;       /* the command's wait status (when it ended by itself) */
    bool timed_out;   /* the deadline came first; the command was killed */
    int killed;       /* processes of the tree killed at the end (0 when it ended cleanly) */
    int64_t start_ns; /* now_ns() just before the fork */
    int64_t wall_ns;  /* from the fork to the end of the command */
    char *out;        /* capture: the command's stdout, NUL-terminated (free it) */
    size_t nout;
};

/* Runs argv (argv[0] found on PATH) with stdin from /dev/null and at most timeout_ns
 * (< 0: no limit). With capture, its stdout is collected in end->out, else it goes to
 * ours. Returns when the command and every process it started are gone. */
void launch_run(char *const argv[], int64_t timeout_ns, bool capture, struct launch_end *end);

/* Are we a rank started by an MPI launcher? (MPICH's hydra, and Slurm, set PMI_RANK;
 * PMIx launchers set PMIX_RANK.) */
bool launch_in_job(void);

/* cli_parse for MPI programs: every rank checks the options and reaches the same
 * verdict, but only rank 0 speaks (--help, errors); the others exit the same way,
 * silently. check (may be NULL) runs after cli_parse, under the same rule: checks
 * across options that end in cli_error. Outside a job it is cli_parse + check. */
void launch_parse(int argc, char **argv, const char *about, const struct cli_opt *opts, struct cli *cli,
                  void (*check)(void));

/* Runs `mpiexec -n ranks [mpiexec_opts] <this program> argv[1..]` through launch_run.
 * mpiexec_opts is NULL or a NULL-terminated list. When $WB_VALGRIND holds a valgrind
 * command (tests/valgrind.sh sets it), every rank runs under it. */
void launch_self(int ranks, const char *const *mpiexec_opts, char **argv, int64_t timeout_ns, bool capture,
                 struct launch_end *end);

/* For a program whose launcher only runs the job: launch_self, its output going to
 * ours, then one line "<label>: mpiexec: <how it ended>". Returns the status to exit
 * with: mpiexec's, or 1 when it was killed or timed out. */
int launch_job(const char *label, int ranks, char **argv, int64_t timeout_ns);

/* One line about how the job ended: "exit 0", "killed by SIGKILL", "timed out". */
const char *launch_describe(const struct launch_end *end, char *buf, size_t len);

#endif
