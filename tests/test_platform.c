/* test_platform.c: the build's check of the system (mk/platform.sh, mk/platform.mk).
 *
 * A system too old for the workbook must get a clear message naming what is missing
 * and why, and make must stop before it compiles anything. We cannot boot an old
 * system here, so the check is told to pretend (WB_FAKE_GLIBC, WB_FAKE_LINUX, which it
 * reads for this test only); and this system itself must pass, quietly, leaving the
 * stamp that makes later builds skip the check. Run from the top of the tree (run.sh
 * does).
 */
#include "common.h"
#include "testutil.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* runs argv (a command under env(1), without the make variables of the make that ran
 * us: an inner make must not join its job server) and returns what it printed */
static struct captured *run(char *const argv[])
{
    struct captured *c = malloc(sizeof *c);
    assert_non_null(c);
    capture_exec(argv, 60 * NS_PER_S, c);
    return c;
}

#define ENV "/usr/bin/env", "-u", "MAKEFLAGS", "-u", "MFLAGS", "-u", "MAKELEVEL"

static void test_old_glibc_refused(void **state)
{
    (void)state;
    char *argv[] = { ENV, "WB_FAKE_GLIBC=2.28", "sh", "mk/platform.sh", "cc", NULL };
    struct captured *c = run(argv);
    assert_int_equal(exitcode_of(c->status), 1);
    if (!strstr(c->err, "this workbook needs glibc >= 2.35 (epoll_pwait2") ||
        !strstr(c->err, "; you have 2.28") || !strstr(c->err, "Requirements"))
        fail_msg("no clear message for glibc 2.28:\n%s", c->err);
    assert_null(strstr(c->err, "Linux")); /* the kernel here is new enough */
    free(c);
}

static void test_old_linux_refused(void **state)
{
    (void)state;
    char *argv[] = { ENV, "WB_FAKE_LINUX=4.19", "sh", "mk/platform.sh", "cc", NULL };
    struct captured *c = run(argv);
    assert_int_equal(exitcode_of(c->status), 1);
    if (!strstr(c->err, "this workbook needs Linux >= 5.3 (pidfd_open") ||
        !strstr(c->err, "; you have 4.19"))
        fail_msg("no clear message for Linux 4.19:\n%s", c->err);
    free(c);
}

/* make stops at once with the message, even where a stamp from an earlier good check
 * exists, and compiles nothing (no compiler line, no compiler error) */
static void test_make_stops_before_compiling(void **state)
{
    (void)state;
    char *argv[] = { ENV, "WB_FAKE_GLIBC=2.31", "make", "-C", "chapters/01-process", "V=1", NULL };
    struct captured *c = run(argv);
    assert_int_equal(exitcode_of(c->status), 2);
    if (!strstr(c->err, "needs glibc >= 2.35") || !strstr(c->err, "you have 2.31") ||
        !strstr(c->err, "too old for the workbook"))
        fail_msg("make did not stop with the message:\n%s", c->err);
    if (strstr(c->out, " -c -o ") || strstr(c->err, "error:"))
        fail_msg("make compiled something first:\n%s\n%s", c->out, c->err);
    free(c);
}

/* this system passes: no message, and the stamp says what was found */
static void test_this_system_passes(void **state)
{
    (void)state;
    char stamp[64];
    snprintf(stamp, sizeof stamp, "/tmp/wb-test-platform-%d.ok", (int)getpid());
    char *argv[] = { ENV, "sh", "mk/platform.sh", "cc", stamp, NULL };
    struct captured *c = run(argv);
    assert_int_equal(exitcode_of(c->status), 0);
    assert_string_equal(c->err, "");
    FILE *f = fopen(stamp, "r");
    assert_non_null(f);
    int gmaj = 0, gmin = 0, lmaj = 0, lmin = 0;
    int n = fscanf(f, "glibc %d.%d, Linux %d.%d", &gmaj, &gmin, &lmaj, &lmin);
    fclose(f);
    CHECK_SYS(unlink(stamp));
    assert_int_equal(n, 4);
    assert_true(gmaj * 1000 + gmin >= 2035);
    assert_true(lmaj * 1000 + lmin >= 5003);
    /* pretending leaves no stamp: a later real build must check for itself */
    char *fake[] = { ENV, "WB_FAKE_LINUX=9.0", "sh", "mk/platform.sh", "cc", stamp, NULL };
    free(c);
    c = run(fake);
    assert_int_equal(exitcode_of(c->status), 0);
    assert_int_equal(access(stamp, F_OK), -1);
    free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_old_glibc_refused),
        cmocka_unit_test(test_old_linux_refused),
        cmocka_unit_test(test_make_stops_before_compiling),
        cmocka_unit_test(test_this_system_passes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
