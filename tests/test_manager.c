/* test_manager.c: the tests of chapters/10-shared/manager.c.
 *
 * Round trips return what was stored (queue in FIFO order, dict, list, lengths, items
 * of 0 and 65536 bytes); errors come back as errors (Empty in the time asked, Full,
 * KeyError, IndexError, a method the object lacks, an item too long for the buffer,
 * which stays in the queue); a blocked get in another process gets a later put; a
 * proxy used after fork and from two threads at once opens a connection per process
 * and per thread (replies never cross); a client killed in a blocked get takes no
 * item with it; a killed server makes every call fail with MGR_DEAD, also a get that
 * was blocked with no timeout; a stopped server makes calls give up with MGR_TIMEOUT
 * after the bound; shutdown reaps the server. Children report through their exit
 * status; assertions run in the parent.
 */
#include "../chapters/10-shared/manager.h"
#include "testutil.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define MS(x) ((int64_t)(x) * NS_PER_MS)
#define T10 (10 * NS_PER_S) /* "for ever" in a test: long, but bounded */

static void test_round_trips(void **state)
{
    (void)state;
    struct manager *m = manager_start(0);
    struct mgr_proxy q = manager_proxy(m, MGR_QUEUE), d = manager_proxy(m, MGR_DICT), l = manager_proxy(m, MGR_LIST);
    static char big[MGR_MAX_ITEM], back[MGR_MAX_ITEM];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (char)(i * 7);
    size_t len;
    long n;
    /* the queue: FIFO, an empty item, the largest item */
    for (int i = 0; i < 5; i++)
        assert_int_equal(mgr_put(&q, &i, sizeof i, T10), MGR_OK);
    assert_int_equal(mgr_put(&q, "", 0, MGR_NOWAIT), MGR_OK);
    assert_int_equal(mgr_put(&q, big, sizeof big, MGR_NOWAIT), MGR_OK);
    assert_int_equal(mgr_len(&q, &n), MGR_OK);
    assert_int_equal(n, 7);
    for (int i = 0; i < 5; i++) {
        int v = -1;
        assert_int_equal(mgr_get(&q, &v, sizeof v, &len, T10), MGR_OK);
        assert_int_equal(len, sizeof v);
        assert_int_equal(v, i);
    }
    assert_int_equal(mgr_get(&q, back, sizeof back, &len, MGR_NOWAIT), MGR_OK);
    assert_int_equal(len, 0);
    assert_int_equal(mgr_get(&q, back, sizeof back, &len, MGR_NOWAIT), MGR_OK);
    assert_int_equal(len, sizeof big);
    assert_memory_equal(back, big, sizeof big);
    /* the dict: set, overwrite, get, keys in the order first set */
    assert_int_equal(mgr_dict_set(&d, "b", "one", 3), MGR_OK);
    assert_int_equal(mgr_dict_set(&d, "a", "two", 3), MGR_OK);
    assert_int_equal(mgr_dict_set(&d, "b", "three", 5), MGR_OK);
    assert_int_equal(mgr_dict_get(&d, "b", back, sizeof back, &len), MGR_OK);
    assert_int_equal(len, 5);
    assert_memory_equal(back, "three", 5);
    assert_int_equal(mgr_len(&d, &n), MGR_OK);
    assert_int_equal(n, 2);
    assert_int_equal(mgr_dict_keys(&d, back, sizeof back, &len), MGR_OK);
    assert_int_equal(len, 4);
    assert_memory_equal(back, "b\0a\0", 4);
    /* the list: append, index from both ends */
    for (int i = 0; i < 3; i++)
        assert_int_equal(mgr_list_append(&l, &i, sizeof i), MGR_OK);
    int v;
    assert_int_equal(mgr_list_get(&l, 1, &v, sizeof v, &len), MGR_OK);
    assert_int_equal(v, 1);
    assert_int_equal(mgr_list_get(&l, -1, &v, sizeof v, &len), MGR_OK);
    assert_int_equal(v, 2);
    assert_int_equal(mgr_len(&l, &n), MGR_OK);
    assert_int_equal(n, 3);
    assert_int_equal(manager_shutdown(m), 0);
}

static void test_errors(void **state)
{
    (void)state;
    struct manager *m = manager_start(2);
    struct mgr_proxy q = manager_proxy(m, MGR_QUEUE), d = manager_proxy(m, MGR_DICT), l = manager_proxy(m, MGR_LIST);
    char buf[16];
    size_t len;
    assert_int_equal(mgr_get(&q, buf, sizeof buf, &len, MGR_NOWAIT), MGR_EMPTY);
    assert_non_null(strstr(mgr_last_error(), "Empty"));
    int64_t t = now_ns();
    assert_int_equal(mgr_get(&q, buf, sizeof buf, &len, MS(150)), MGR_EMPTY);
    t = now_ns() - t;
    assert_true(t >= MS(150) && t < 5 * NS_PER_S);
    assert_int_equal(mgr_dict_get(&d, "missing", buf, sizeof buf, &len), MGR_KEYERROR);
    assert_non_null(strstr(mgr_last_error(), "\"missing\""));
    assert_int_equal(mgr_list_get(&l, 0, buf, sizeof buf, &len), MGR_INDEXERROR);
    assert_int_equal(mgr_list_get(&l, -1, buf, sizeof buf, &len), MGR_INDEXERROR);
    assert_int_equal(mgr_dict_get(&q, "x", buf, sizeof buf, &len), MGR_BADREQ); /* the queue has no dict methods */
    assert_int_equal(mgr_put(&d, "x", 1, MGR_NOWAIT), MGR_BADREQ);
    assert_int_equal(mgr_list_append(&d, "x", 1), MGR_BADREQ);
    /* maxsize 2: the third put is Full, at once or after its timeout */
    assert_int_equal(mgr_put(&q, "0123456789abcdefXYZ", 19, MGR_NOWAIT), MGR_OK);
    assert_int_equal(mgr_put(&q, "b", 1, MGR_NOWAIT), MGR_OK);
    assert_int_equal(mgr_put(&q, "c", 1, MGR_NOWAIT), MGR_FULL);
    t = now_ns();
    assert_int_equal(mgr_put(&q, "c", 1, MS(100)), MGR_FULL);
    assert_true(now_ns() - t >= MS(100));
    /* an item longer than the buffer: TOOBIG with its length, and it stays first */
    assert_int_equal(mgr_get(&q, buf, sizeof buf, &len, MGR_NOWAIT), MGR_TOOBIG);
    assert_int_equal(len, 19);
    char big[32];
    assert_int_equal(mgr_get(&q, big, sizeof big, &len, MGR_NOWAIT), MGR_OK);
    assert_int_equal(len, 19);
    assert_memory_equal(big, "0123456789abcdefXYZ", 19);
    /* a request over the limit is refused before it is sent */
    static char huge[MGR_MAX_ITEM + 1];
    assert_int_equal(mgr_put(&q, huge, sizeof huge, MGR_NOWAIT), MGR_TOOBIG);
    long n;
    assert_int_equal(mgr_len(&q, &n), MGR_OK);
    assert_int_equal(n, 1);
    assert_string_equal(mgr_status_name(MGR_DEAD), "MGR_DEAD");
    assert_int_equal(manager_shutdown(m), 0);
}

static void test_blocked_get_and_put_across_processes(void **state)
{
    (void)state;
    struct manager *m = manager_start(1);
    struct mgr_proxy q = manager_proxy(m, MGR_QUEUE);
    long n;
    assert_int_equal(mgr_len(&q, &n), MGR_OK); /* the parent is connected before the fork */
    pid_t getter = fork_child();
    if (getter == 0) { /* blocks until the parent puts, 200 ms from now */
        char c;
        size_t len;
        _exit(mgr_get(&q, &c, 1, &len, MGR_FOREVER) == MGR_OK && c == 'g' ? 0 : 1);
    }
    sleep_ns(MS(200));
    assert_int_equal(mgr_put(&q, "g", 1, T10), MGR_OK);
    assert_int_equal(join_child(getter), 0);
    /* a put blocked on a full queue (maxsize 1) goes in when another process gets */
    assert_int_equal(mgr_put(&q, "1", 1, MGR_NOWAIT), MGR_OK);
    pid_t putter = fork_child();
    if (putter == 0)
        _exit(mgr_put(&q, "2", 1, 10 * NS_PER_S) == MGR_OK ? 0 : 1);
    sleep_ns(MS(100));
    char c;
    size_t len;
    assert_int_equal(mgr_get(&q, &c, 1, &len, T10), MGR_OK);
    assert_int_equal(c, '1');
    assert_int_equal(join_child(putter), 0);
    assert_int_equal(mgr_get(&q, &c, 1, &len, MGR_NOWAIT), MGR_OK);
    assert_int_equal(c, '2');
    assert_int_equal(manager_shutdown(m), 0);
}

/* many calls whose answers are checked: crossed replies would show */
static int hammer(const struct mgr_proxy *d, const char *who, int rounds)
{
    for (int i = 0; i < rounds; i++) {
        char key[32], val[32], back[32];
        size_t len;
        snprintf(key, sizeof key, "%s-%d", who, i % 8);
        int vl = snprintf(val, sizeof val, "%s says %d", who, i);
        if (mgr_dict_set(d, key, val, (size_t)vl) != MGR_OK ||
            mgr_dict_get(d, key, back, sizeof back, &len) != MGR_OK || len != (size_t)vl ||
            memcmp(back, val, len) != 0)
            return 1;
    }
    return 0;
}

struct hammer_arg {
    const struct mgr_proxy *d;
    const char *who;
    int rc;
};

static void *hammer_thread(void *arg)
{
    struct hammer_arg *a = arg;
    a->rc = hammer(a->d, a->who, 300);
    mgr_disconnect();
    return NULL;
}

static void test_connection_per_process_and_thread(void **state)
{
    (void)state;
    struct manager *m = manager_start(0);
    struct mgr_proxy d = manager_proxy(m, MGR_DICT);
    assert_int_equal(hammer(&d, "parent", 1), 0); /* connected: the children inherit it */
    pid_t kids[3];
    for (int k = 0; k < 3; k++) {
        kids[k] = fork_child();
        if (kids[k] == 0) {
            char who[16];
            snprintf(who, sizeof who, "child%d", k);
            _exit(hammer(&d, who, 300));
        }
    }
    struct hammer_arg a = { &d, "thread", -1 };
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, hammer_thread, &a), 0);
    assert_int_equal(hammer(&d, "parent", 300), 0);
    assert_int_equal(pthread_join(t, NULL), 0);
    assert_int_equal(a.rc, 0);
    for (int k = 0; k < 3; k++)
        assert_int_equal(join_child(kids[k]), 0);
    long n;
    assert_int_equal(mgr_len(&d, &n), MGR_OK);
    assert_int_equal(n, 5 * 8);
    assert_int_equal(manager_shutdown(m), 0);
}

static void test_dead_client_takes_nothing(void **state)
{
    (void)state;
    struct manager *m = manager_start(0);
    struct mgr_proxy q = manager_proxy(m, MGR_QUEUE);
    pid_t getter = fork_child();
    if (getter == 0) {
        char c;
        size_t len;
        mgr_get(&q, &c, 1, &len, MGR_FOREVER);
        _exit(9);
    }
    sleep_ns(MS(200)); /* it is in its get now (or about to be) */
    assert_int_equal(kill(getter, SIGKILL), 0);
    assert_int_equal(join_child(getter), -SIGKILL);
    assert_int_equal(mgr_put(&q, "k", 1, T10), MGR_OK);
    char c = 0;
    size_t len;
    assert_int_equal(mgr_get(&q, &c, 1, &len, MS(500)), MGR_OK); /* the item is still ours */
    assert_int_equal(c, 'k');
    assert_int_equal(manager_shutdown(m), 0);
}

static void test_killed_server(void **state)
{
    (void)state;
    struct manager *m = manager_start(0);
    struct mgr_proxy q = manager_proxy(m, MGR_QUEUE), l = manager_proxy(m, MGR_LIST);
    pid_t getter = fork_child();
    if (getter == 0) { /* blocked with no timeout: the server's death must end it */
        char c;
        size_t len;
        int rc = mgr_get(&q, &c, 1, &len, MGR_FOREVER);
        _exit(rc == MGR_DEAD && strstr(mgr_last_error(), "gone") ? 0 : 10 + rc);
    }
    long n;
    assert_int_equal(mgr_len(&l, &n), MGR_OK);
    sleep_ns(MS(200));
    int64_t t = now_ns();
    assert_int_equal(kill(m->pid, SIGKILL), 0);
    assert_int_equal(join_child(getter), 0);
    assert_true(now_ns() - t < 2 * NS_PER_S); /* at once, not after some timeout */
    assert_int_equal(mgr_len(&l, &n), MGR_DEAD);   /* the old connection: closed */
    assert_int_equal(mgr_len(&l, &n), MGR_DEAD);   /* a new one: refused */
    assert_non_null(strstr(mgr_last_error(), "cannot connect"));
    assert_int_equal(mgr_put(&q, "x", 1, T10), MGR_DEAD);
    pid_t pid = m->pid;
    assert_int_equal(manager_shutdown(m), -SIGKILL);
    assert_int_equal(kill(pid, 0), -1); /* reaped: no such process */
    assert_int_equal(errno, ESRCH);
}

static void test_stopped_server(void **state)
{
    (void)state;
    struct manager *m = manager_start(0);
    struct mgr_proxy d = manager_proxy(m, MGR_DICT);
    d.bound_ns = MS(200);
    long n;
    assert_int_equal(mgr_len(&d, &n), MGR_OK);
    assert_int_equal(kill(m->pid, SIGSTOP), 0);
    int st;
    assert_int_equal(waitpid(m->pid, &st, WUNTRACED), m->pid);
    assert_true(WIFSTOPPED(st));
    int64_t t = now_ns();
    assert_int_equal(mgr_len(&d, &n), MGR_TIMEOUT);
    t = now_ns() - t;
    assert_true(t >= MS(200) && t < 5 * NS_PER_S);
    assert_non_null(strstr(mgr_last_error(), "no reply"));
    assert_int_equal(kill(m->pid, SIGCONT), 0);
    assert_int_equal(mgr_dict_set(&d, "after", "yes", 3), MGR_OK); /* a new connection */
    assert_int_equal(mgr_len(&d, &n), MGR_OK);
    assert_int_equal(n, 1); /* the timed-out call's late reply was not taken for this one */
    pid_t pid = m->pid;
    assert_int_equal(manager_shutdown(m), 0);
    assert_int_equal(kill(pid, 0), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trips),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_blocked_get_and_put_across_processes),
        cmocka_unit_test(test_connection_per_process_and_thread),
        cmocka_unit_test(test_dead_client_takes_nothing),
        cmocka_unit_test(test_killed_server),
        cmocka_unit_test(test_stopped_server),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
