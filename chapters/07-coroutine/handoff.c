/* handoff.c: two threads taking turns, two processes bouncing a byte (handoff.h). */
#include "handoff.h"

#include <fcntl.h>
#include <unistd.h>

/* ---- two threads taking turns ---- */

static void *thread_side(void *arg)
{
    struct turns *t = arg;
    if (t->cpu >= 0)
        pin_to_cpu(t->cpu);
    CHECK_PT(pthread_mutex_lock(&t->mu));
    for (;;) {
        while (t->turn != 1 && !t->stop)
            CHECK_PT(pthread_cond_wait(&t->cv, &t->mu));
        if (t->stop)
            break;
        t->turn = 0;
        CHECK_PT(pthread_cond_signal(&t->cv));
    }
    CHECK_PT(pthread_mutex_unlock(&t->mu));
    return NULL;
}

void turns_start(struct turns *t, int cpu)
{
    *t = (struct turns){ .cpu = cpu };
    CHECK_PT(pthread_mutex_init(&t->mu, NULL));
    CHECK_PT(pthread_cond_init(&t->cv, NULL));
    CHECK_PT(pthread_create(&t->th, NULL, thread_side, t));
}

void turns_rounds(struct turns *t, long n)
{
    CHECK_PT(pthread_mutex_lock(&t->mu));
    for (long i = 0; i < n; i++) {
        t->turn = 1;
        CHECK_PT(pthread_cond_signal(&t->cv));
        while (t->turn != 0)
            CHECK_PT(pthread_cond_wait(&t->cv, &t->mu));
    }
    CHECK_PT(pthread_mutex_unlock(&t->mu));
}

void turns_stop(struct turns *t)
{
    CHECK_PT(pthread_mutex_lock(&t->mu));
    t->stop = true;
    CHECK_PT(pthread_cond_signal(&t->cv));
    CHECK_PT(pthread_mutex_unlock(&t->mu));
    CHECK_PT(pthread_join(t->th, NULL));
    CHECK_PT(pthread_cond_destroy(&t->cv));
    CHECK_PT(pthread_mutex_destroy(&t->mu));
}

/* ---- two processes bouncing a byte ---- */

static struct bounce *g_alive; /* partners started and not yet stopped */

void bounce_start(struct bounce *b, int cpu)
{
    int there[2], back[2];
    CHECK_SYS(pipe2(there, O_CLOEXEC));
    CHECK_SYS(pipe2(back, O_CLOEXEC));
    b->pid = fork_child();
    if (b->pid == 0) {
        if (cpu >= 0)
            pin_to_cpu(cpu);
        for (struct bounce *o = g_alive; o; o = o->next) /* not ours to hold */
            close(o->to), close(o->from);
        close(there[1]);
        close(back[0]);
        char c;
        ssize_t n;
        while ((n = read(there[0], &c, 1)) == 1)
            if (write(back[1], &c, 1) != 1)
                die_child("write(pipe)");
        _exit(n == 0 ? 0 : 1); /* 0: the parent closed its end */
    }
    CHECK_SYS(close(there[0]));
    CHECK_SYS(close(back[1]));
    b->to = there[1];
    b->from = back[0];
    b->next = g_alive;
    g_alive = b;
}

void bounce_rounds(struct bounce *b, long n)
{
    char c = 'x';
    for (long i = 0; i < n; i++)
        if (write(b->to, &c, 1) != 1 || read(b->from, &c, 1) != 1)
            die("ping-pong over a pipe");
}

void bounce_stop(struct bounce *b)
{
    for (struct bounce **p = &g_alive; *p; p = &(*p)->next)
        if (*p == b) {
            *p = b->next;
            break;
        }
    CHECK_SYS(close(b->to));
    CHECK_SYS(close(b->from));
    int status;
    if (child_wait(b->pid, 5 * NS_PER_S, &status) != 0 || exitcode_of(status) != 0)
        fatal("the pipe partner did not end cleanly");
}
