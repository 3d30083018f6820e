/* test_sharedctypes.c: the tests of chapters/10-shared/sharedctypes.c.
 *
 * A Value and an Array are shared (a child's write is seen by the parent, unlike a
 * global); the lock is process-shared (held by a child, the parent cannot take it) and
 * recursive (get inside get_lock()); get_lock() is NULL with lock=false; additions from
 * four processes are exact under get_lock() and with the atomic add, and never more
 * than the total without a lock; an index out of range is an error. Children report
 * through their exit status; assertions run in the parent.
 */
#include "../chapters/10-shared/sharedctypes.h"
#include "testutil.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>
#include <unistd.h>

static void test_value_is_shared(void **state)
{
    (void)state;
    struct value *v = value_new(41, true), *raw = value_new(0, false);
    assert_int_equal(value_get(v), 41);
    assert_int_equal(value_get(raw), 0);
    assert_non_null(value_get_lock(v));
    assert_null(value_get_lock(raw)); /* RawValue: no lock at all */
    pid_t pid = fork_child();
    if (pid == 0) {
        if (value_get(v) != 41)
            _exit(2);
        value_set(v, 42);
        value_set(raw, 7);
        _exit(0);
    }
    assert_int_equal(join_child(pid), 0);
    assert_int_equal(value_get(v), 42); /* the child's write, seen here */
    assert_int_equal(value_get(raw), 7);
    value_free(v);
    value_free(raw);
}

static void test_lock_shared_and_recursive(void **state)
{
    (void)state;
    struct value *v = value_new(0, true);
    /* recursive: the owner takes it again (get and set inside acquire) */
    value_acquire(v);
    value_set(v, value_get(v) + 1);
    assert_int_equal(pthread_mutex_trylock(value_get_lock(v)), 0); /* a third level */
    assert_int_equal(pthread_mutex_unlock(value_get_lock(v)), 0);
    value_release(v);
    /* process-shared: a child holds it; the parent cannot take it until it lets go */
    int go[2], held[2];
    assert_int_equal(pipe(go), 0);
    assert_int_equal(pipe(held), 0);
    pid_t pid = fork_child();
    if (pid == 0) {
        char c;
        value_acquire(v);
        if (write(held[1], "h", 1) != 1 || read(go[0], &c, 1) != 1)
            _exit(2);
        value_release(v);
        _exit(0);
    }
    char c;
    assert_int_equal(read(held[0], &c, 1), 1);
    assert_int_equal(pthread_mutex_trylock(value_get_lock(v)), EBUSY);
    assert_int_equal(write(go[1], "g", 1), 1);
    assert_int_equal(join_child(pid), 0);
    assert_int_equal(pthread_mutex_trylock(value_get_lock(v)), 0);
    assert_int_equal(pthread_mutex_unlock(value_get_lock(v)), 0);
    assert_int_equal(value_get(v), 1);
    for (int i = 0; i < 2; i++) {
        close(go[i]);
        close(held[i]);
    }
    value_free(v);
}

enum { PROCS = 4, N = 20000 };

/* PROCS children each add 1 N times in `how`; returns the total */
static long add_from_children(int how)
{
    struct value *v = value_new(0, how != 0);
    pid_t pids[PROCS];
    for (int p = 0; p < PROCS; p++) {
        pids[p] = fork_child();
        if (pids[p] == 0) {
            for (int i = 0; i < N; i++)
                if (how == 0 || how == 1) { /* no lock; the lock per access */
                    value_set(v, value_get(v) + 1);
                } else if (how == 2) {
                    value_acquire(v);
                    value_set(v, value_get(v) + 1);
                    value_release(v);
                } else {
                    value_add_atomic(v, 1);
                }
            _exit(0);
        }
    }
    for (int p = 0; p < PROCS; p++)
        assert_int_equal(join_child(pids[p]), 0);
    long total = value_get(v);
    value_free(v);
    return total;
}

static void test_totals(void **state)
{
    (void)state;
    assert_int_equal(add_from_children(2), PROCS * N); /* with get_lock(): exact */
    assert_int_equal(add_from_children(3), PROCS * N); /* atomic add: exact */
    long raw = add_from_children(0), per_access = add_from_children(1);
    /* lost updates can only lose: never more than the total, and not nothing */
    assert_true(raw > 0 && raw <= PROCS * N);
    assert_true(per_access > 0 && per_access <= PROCS * N);
}

static void test_array(void **state)
{
    (void)state;
    for (int lock = 0; lock < 2; lock++) {
        struct array *a = array_new(PROCS * 100, lock);
        assert_int_equal(array_len(a), PROCS * 100);
        assert_true((array_get_lock(a) != NULL) == (lock == 1));
        for (size_t i = 0; i < array_len(a); i++)
            assert_int_equal(array_get(a, i), 0); /* zero-filled */
        pid_t pids[PROCS];
        for (int p = 0; p < PROCS; p++) {
            pids[p] = fork_child();
            if (pids[p] == 0) {
                for (size_t i = (size_t)p * 100; i < (size_t)(p + 1) * 100; i++)
                    array_set(a, i, (long)i * 3);
                _exit(0);
            }
        }
        for (int p = 0; p < PROCS; p++)
            assert_int_equal(join_child(pids[p]), 0);
        for (size_t i = 0; i < array_len(a); i++) {
            assert_int_equal(array_get(a, i), (long)i * 3);
            assert_int_equal(array_obj(a)[i], (long)i * 3);
        }
        array_free(a);
    }
}

static void index_too_far(void *arg)
{
    (void)arg;
    struct array *a = array_new(4, true);
    array_set(a, 4, 1);
}

static void test_index_error(void **state)
{
    (void)state;
    struct captured c;
    capture(index_too_far, NULL, 10 * NS_PER_S, &c);
    assert_int_equal(exitcode_of(c.status), 1);
    assert_non_null(strstr(c.err, "array index 4 out of range (length 4)"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_value_is_shared),
        cmocka_unit_test(test_lock_shared_and_recursive),
        cmocka_unit_test(test_totals),
        cmocka_unit_test(test_array),
        cmocka_unit_test(test_index_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
