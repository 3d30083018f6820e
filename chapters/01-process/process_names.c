/* process_names.c: kwargs, current_process(), default names, and the daemon flag that
 * must be set before start().
 *
 * Mirrors: the lesson's Process class notes:
 *   Process(target=bbb, kwargs={'num': 5})  keyword arguments for the target;
 *   multiprocessing.current_process()       which Process object am I?
 *   name: "Process-N" by default, N counting from 1;
 *   p.daemon = True                         "must be set before the child starts".
 *
 * What it shows, step by step (each line stamped with time, pid and name):
 *   1. the main program asks current_process(): a record named MainProcess;
 *   2. two children started with no name get Process-1 and Process-2; one is given its
 *      argument the args way (a positional struct), the other the kwargs way (a struct
 *      with designated initializers: the fields are named, as kwargs' keys are);
 *   3. each child asks current_process() and finds its own struct, pid filled in;
 *   4. Process-2 starts a child of its own: Process-2:1, numbered by Process-2's own
 *      count (a child starts counting again at 1, as Python's _bootstrap does);
 *   5. setting daemon after start() is refused (Python: AssertionError, "process has
 *      already started"); setting it before works.
 * The children run one after the other (each is joined before the next starts), so
 * the transcript is the same on every run.
 *
 * Run:  ./process_names
 * Look for: the names, and "refused" for the late daemon.
 * See also: process_basics.c (start, join, terminate), process_daemon.c (what daemon
 * means at exit).
 */
#include "process.h"

#include <errno.h>
#include <unistd.h>

struct bbb_args {
    int num;
    const char *label;
};

static void who_am_i(const char *where)
{
    const struct process *me = process_current();
    trace("%s current_process(): <%s pid=%d parent=%d%s>", where, me->name, (int)me->pid, (int)me->parent,
          me->daemon ? " daemon" : "");
}

/* the target of Process-2:1 and of the daemon examples: say who I am */
static int report(void *arg)
{
    (void)arg;
    who_am_i("child:");
    return 0;
}

/* the target of both children: bbb(num, label) */
static int bbb(void *arg)
{
    const struct bbb_args *a = arg;
    trace("bbb(num=%d, label=\"%s\")", a->num, a->label);
    who_am_i("child:");
    if (a->num == 2) { /* the second child starts one of its own */
        struct process gc = { .target = report };
        process_start(&gc);
        process_join(&gc, -1);
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct cli cli = { 0 };
    cli_parse(argc, argv,
              "Process names (Process-1, Process-2, Process-2:1), current_process(), kwargs,\n"
              "and the daemon flag that must be set before start().", NULL, &cli);
    trace_start();
    who_am_i("main:");

    /* Process(target=bbb, args=(1, "positional")): the fields in order */
    struct process p1 = { .target = bbb, .arg = &(struct bbb_args){ 1, "positional" } };
    /* Process(target=bbb, kwargs={"label": "by name", "num": 2}): the fields by name,
     * in any order; a misspelt name is a compile error (Python: a TypeError at call) */
    struct process p2 = { .target = bbb, .arg = &(struct bbb_args){ .label = "by name", .num = 2 } };
    trace("before start: p1.name=%s, p2.name=%s (no name yet: it is given at start)", p1.name ? p1.name : "NULL",
          p2.name ? p2.name : "NULL");
    process_start(&p1);
    process_join(&p1, -1);
    process_start(&p2);
    process_join(&p2, -1);
    trace("started: %s (pid %d) and %s (pid %d), exit codes %d and %d", p1.name, (int)p1.pid, p2.name,
          (int)p2.pid, p1.exitcode, p2.exitcode);

    /* daemon: before start it is taken, after start refused */
    struct process d = { .name = "late_daemon", .target = report };
    process_start(&d);
    int rc = process_set_daemon(&d, true);
    trace("daemon = true after start(): %s, daemon stays %s (Python: AssertionError, process has already "
          "started)", rc == EBUSY ? "refused with EBUSY" : "accepted?!", d.daemon ? "true" : "false");
    process_join(&d, -1);
    struct process e = { .name = "early_daemon", .target = report };
    rc = process_set_daemon(&e, true);
    trace("daemon = true before start(): %s", rc == 0 ? "accepted" : "refused?!");
    process_start(&e);
    process_join(&e, -1);
    return 0;
}
