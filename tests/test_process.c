/* test_process.c: the tests of chapters/01-process/process.c.
 *
 * Default names Process-1, Process-2 and Process-N:M for a child's children;
 * current_process() in the main program and in a child; the daemon flag refused after
 * start, and the at-exit pass acting on the flag as it was at the start; a child's own
 * children joined when its target returns; an argument struct (args / kwargs) seen
 * intact by the child. Children report through their exit status and through a small
 * shared mapping; assertions run in the parent.
 */
#include "../chapters/01-process/process.h"
#include "testutil.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* what the children write back: in a MAP_SHARED page made before they fork */
struct board {
    char name[8][40];
    pid_t parent[8];
    _Atomic int ended;
};
static struct board *g_board;

static struct board *board_new(void)
{
    void *p = mmap(NULL, sizeof(struct board), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        die("mmap");
    return memset(p, 0, sizeof(struct board));
}

/* the target: record current_process() in slot *arg */
static int record(void *arg)
{
    int slot = *(const int *)arg;
    const struct process *me = process_current();
    if (me->pid != getpid())
        return 10;
    snprintf(g_board->name[slot], sizeof g_board->name[slot], "%s", me->name);
    g_board->parent[slot] = me->parent;
    return 0;
}

static int slots[8] = { 0, 1, 2, 3, 4, 5, 6, 7 };

/* starts a child of its own (slot 2), and returns without joining it */
static int record_and_fork(void *arg)
{
    int rc = record(arg);
    /* static: the struct must outlive this function, the at-exit pass joins it later */
    static struct process gc = { .target = record, .arg = &slots[2] };
    process_start(&gc);
    return rc;
}

static void test_default_names(void **state)
{
    (void)state;
    g_board = board_new();
    /* in this process the count may have started already (another test): names are
     * compared with what process_start gave, and with each other */
    struct process a = { .target = record, .arg = &slots[0] };
    struct process b = { .target = record_and_fork, .arg = &slots[1] };
    process_start(&a);
    process_start(&b);
    process_join(&a, 10 * NS_PER_S);
    process_join(&b, 10 * NS_PER_S);
    assert_true(a.finished && b.finished);
    assert_int_equal(a.exitcode, 0);
    assert_int_equal(b.exitcode, 0);
    unsigned na, nb;
    assert_int_equal(sscanf(a.name, "Process-%u", &na), 1);
    assert_int_equal(sscanf(b.name, "Process-%u", &nb), 1);
    assert_int_equal(nb, na + 1);
    /* each child saw its own name and our pid as its parent */
    assert_string_equal(g_board->name[0], a.name);
    assert_string_equal(g_board->name[1], b.name);
    assert_int_equal(g_board->parent[0], getpid());
    assert_int_equal(g_board->parent[1], getpid());
    /* b's child: numbered by b's own count, which starts at 1; b joined it before its
     * end (the at-exit pass of a child), so its record is there */
    char want[40];
    snprintf(want, sizeof want, "%s:1", b.name);
    assert_string_equal(g_board->name[2], want);
    assert_int_equal(g_board->parent[2], b.pid);
    /* a given name is kept */
    struct process c = { .name = "given", .target = record, .arg = &slots[3] };
    process_start(&c);
    process_join(&c, 10 * NS_PER_S);
    assert_string_equal(g_board->name[3], "given");
    assert_int_equal(munmap(g_board, sizeof *g_board), 0);
}

static void test_current_in_main(void **state)
{
    (void)state;
    const struct process *me = process_current();
    assert_string_equal(me->name, "MainProcess");
    assert_int_equal(me->pid, getpid());
    assert_int_equal(me->parent, getppid());
}

static int sleep_then_mark(void *arg)
{
    sleep_ns(*(const int64_t *)arg);
    atomic_fetch_add(&g_board->ended, 1);
    return 0;
}

static void late_daemon(void *arg)
{
    (void)arg;
    static int64_t pause = 300 * NS_PER_MS;
    struct process p = { .target = sleep_then_mark, .arg = &pause };
    process_start(&p);
    if (process_set_daemon(&p, true) != EBUSY)
        _exit(20);
    if (p.daemon)
        _exit(21);
    p.daemon = true; /* a direct write after the start: the at-exit pass ignores it */
    exit(0);         /* runs the at-exit pass: joins p (not a daemon at its start) */
}

static void early_daemon(void *arg)
{
    (void)arg;
    static int64_t pause = 5 * NS_PER_S;
    struct process p = { .target = sleep_then_mark, .arg = &pause };
    if (process_set_daemon(&p, true) != 0)
        _exit(22);
    process_start(&p);
    exit(0); /* the at-exit pass terminates p: it never marks */
}

static void test_daemon_before_start_only(void **state)
{
    (void)state;
    g_board = board_new();
    struct captured c;
    capture(late_daemon, NULL, 10 * NS_PER_S, &c);
    assert_int_equal(exitcode_of(c.status), 0);
    assert_int_equal(atomic_load(&g_board->ended), 1); /* joined, so it ran to its end */
    int64_t t = now_ns();
    capture(early_daemon, NULL, 10 * NS_PER_S, &c);
    assert_int_equal(exitcode_of(c.status), 0);
    assert_true(now_ns() - t < 4 * NS_PER_S); /* it did not wait 5 s for the daemon */
    assert_int_equal(atomic_load(&g_board->ended), 1);
    assert_int_equal(munmap(g_board, sizeof *g_board), 0);
}

struct kw {
    int num;
    const char *label;
    double scale;
};

static int check_kwargs(void *arg)
{
    const struct kw *k = arg;
    return k->num == 5 && strcmp(k->label, "five") == 0 && k->scale == 0.0 ? 0 : 1;
}

static void test_kwargs_struct(void **state)
{
    (void)state;
    /* kwargs={"label": "five", "num": 5}: the unnamed field is zero, as a missing
     * keyword takes its default */
    struct process p = { .target = check_kwargs, .arg = &(struct kw){ .label = "five", .num = 5 } };
    process_start(&p);
    process_join(&p, 10 * NS_PER_S);
    assert_true(p.finished);
    assert_int_equal(p.exitcode, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_names),
        cmocka_unit_test(test_current_in_main),
        cmocka_unit_test(test_daemon_before_start_only),
        cmocka_unit_test(test_kwargs_struct),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
