/* test_generator.c: the stackless generators of chapters/07-coroutine/generator.h:
 * sequences, the end (StopIteration), restart, independent instances, and state that
 * survives a yield because it lives in the struct. */
#include "common.h"
#include "../chapters/07-coroutine/generator.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

struct counter {
    struct gen gen;
    int i, n;
};

static bool counter_next(struct counter *c, int *out)
{
    GEN_BEGIN(&c->gen);
    for (c->i = 0; c->i < c->n; c->i++) {
        *out = c->i;
        GEN_YIELD(&c->gen);
    }
    GEN_END(&c->gen);
}

struct fib {
    struct gen gen;
    long a, b;
};

static bool fib_next(struct fib *f, long *out)
{
    GEN_BEGIN(&f->gen);
    f->a = 0;
    f->b = 1;
    for (;;) {
        *out = f->a;
        GEN_YIELD(&f->gen);
        long t = f->a + f->b; /* a local is fine between yields, not across one */
        f->a = f->b;
        f->b = t;
    }
    GEN_END(&f->gen);
}

/* two yields in one loop body, nested loops: resumes exactly where it left */
struct pairs {
    struct gen gen;
    int i, j, n;
};

static bool pairs_next(struct pairs *p, int *out)
{
    GEN_BEGIN(&p->gen);
    for (p->i = 0; p->i < p->n; p->i++) {
        *out = -1; /* a marker before each row */
        GEN_YIELD(&p->gen);
        for (p->j = 0; p->j < p->n; p->j++) {
            *out = 10 * p->i + p->j;
            GEN_YIELD(&p->gen);
        }
    }
    GEN_END(&p->gen);
}

static void test_sequence_and_end(void **state)
{
    (void)state;
    struct counter c = { .n = 5 };
    int v, k = 0;
    while (counter_next(&c, &v)) {
        assert_int_equal(v, k);
        k++;
    }
    assert_int_equal(k, 5);
    assert_true(gen_finished(&c.gen));
    for (int i = 0; i < 3; i++) /* finished stays finished, as StopIteration does */
        assert_false(counter_next(&c, &v));
}

static void test_empty(void **state)
{
    (void)state;
    struct counter c = { .n = 0 };
    int v;
    assert_false(counter_next(&c, &v));
    assert_true(gen_finished(&c.gen));
}

static void test_restart(void **state)
{
    (void)state;
    struct counter c = { .n = 3 };
    int v;
    assert_true(counter_next(&c, &v));
    assert_true(counter_next(&c, &v));
    assert_int_equal(v, 1);
    gen_restart(&c.gen); /* mid-way: back to the top */
    for (int k = 0; k < 3; k++) {
        assert_true(counter_next(&c, &v));
        assert_int_equal(v, k);
    }
    assert_false(counter_next(&c, &v));
    gen_restart(&c.gen); /* after the end, too */
    assert_true(counter_next(&c, &v));
    assert_int_equal(v, 0);
}

static void test_independent_instances(void **state)
{
    (void)state;
    struct counter a = { .n = 4 }, b = { .n = 2 };
    int va, vb;
    assert_true(counter_next(&a, &va));
    assert_true(counter_next(&b, &vb));
    assert_true(counter_next(&a, &va));
    assert_true(counter_next(&b, &vb));
    assert_int_equal(va, 1);
    assert_int_equal(vb, 1);
    assert_false(counter_next(&b, &vb));
    assert_true(counter_next(&a, &va)); /* b's end does not touch a */
    assert_int_equal(va, 2);
}

static void test_fibonacci(void **state)
{
    (void)state;
    static const long want[] = { 0, 1, 1, 2, 3, 5, 8, 13, 21, 34, 55, 89 };
    struct fib f = { 0 };
    long v;
    for (size_t i = 0; i < ARRAY_LEN(want); i++) {
        assert_true(fib_next(&f, &v));
        assert_int_equal(v, want[i]);
    }
    assert_false(gen_finished(&f.gen));
}

static void test_nested_loops(void **state)
{
    (void)state;
    static const int want[] = { -1, 0, 1, 2, -1, 10, 11, 12, -1, 20, 21, 22 };
    struct pairs p = { .n = 3 };
    int v;
    for (size_t i = 0; i < ARRAY_LEN(want); i++) {
        assert_true(pairs_next(&p, &v));
        assert_int_equal(v, want[i]);
    }
    assert_false(pairs_next(&p, &v));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sequence_and_end),
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_restart),
        cmocka_unit_test(test_independent_instances),
        cmocka_unit_test(test_fibonacci),
        cmocka_unit_test(test_nested_loops),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
