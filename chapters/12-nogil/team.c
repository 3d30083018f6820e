/* team.c: n threads released together (see team.h). */
#include "team.h"
#include "../04-thread/thread.h"

#include <pthread.h>

struct member {
    pthread_t th;
    int i;
    team_fn *body;
    void *arg;
    struct start_line *line;
    int64_t start, end;
};

static void *member_main(void *p)
{
    struct member *m = p;
    start_line_wait(m->line);
    m->start = now_ns();
    m->body(m->i, m->arg);
    m->end = now_ns();
    return NULL;
}

int64_t team_run(int n, team_fn *body, void *arg)
{
    if (n < 1 || n > TEAM_MAX)
        fatal("team_run: %d threads (1..%d)", n, TEAM_MAX);
    struct member m[TEAM_MAX];
    struct start_line line;
    start_line_init(&line, n);
    for (int i = 0; i < n; i++) {
        m[i] = (struct member){ .i = i, .body = body, .arg = arg, .line = &line };
        CHECK_PT(pthread_create(&m[i].th, NULL, member_main, &m[i]));
    }
    int64_t first = INT64_MAX, last = 0;
    for (int i = 0; i < n; i++) {
        CHECK_PT(pthread_join(m[i].th, NULL));
        if (m[i].start < first)
            first = m[i].start;
        if (m[i].end > last)
            last = m[i].end;
    }
    return last - first;
}
