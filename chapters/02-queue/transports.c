/* transports.c: our queue, a POSIX message queue and a pipe behind one interface
 * (transports.h), for queue_bench.c. */
#include "transports.h"

#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <unistd.h>

const char *const transport_name[NTRANSPORTS] = { "queue", "mq", "pipe" };
enum { QUEUE_BYTES = 1 << 20 };

static long g_mq_maxmsg = 10, g_mq_msgsize_max = 8192;
static char g_mq_name[64];

static void remove_mq(void)
{
    mq_unlink(g_mq_name);
}

static long read_proc_long(const char *path, long fallback)
{
    FILE *f = fopen(path, "r");
    long v = fallback;
    if (f) {
        if (fscanf(f, "%ld", &v) != 1)
            v = fallback;
        fclose(f);
    }
    return v;
}

void transports_init(void)
{
    long msg_max = read_proc_long("/proc/sys/fs/mqueue/msg_max", 10);
    g_mq_maxmsg = msg_max < 10 ? msg_max : 10;
    g_mq_msgsize_max = read_proc_long("/proc/sys/fs/mqueue/msgsize_max", 8192);
    snprintf(g_mq_name, sizeof g_mq_name, "/wb-bench-%d", (int)getpid());
    on_termination(remove_mq);
}

long transports_mq_maxmsg(void)
{
    return g_mq_maxmsg;
}

bool transport_supports(int transport, size_t size, int side)
{
    if (transport == T_MQ)
        return (long)size <= g_mq_msgsize_max;
    if (transport == T_PIPE)
        return side == 1 || size <= PIPE_BUF;
    return true;
}

void channel_open(struct channel *ch, int transport, size_t size, long capacity)
{
    *ch = (struct channel){ .transport = transport, .size = size };
    if (transport == T_QUEUE) {
        /* the ring kept to 1 MiB, so that it stays in the caches: with 4 MiB, 16 and
         * 64 KiB messages went at half the speed */
        long cap = QUEUE_BYTES / (long)(size + 64);
        cap = cap < 16 ? 16 : cap > capacity ? capacity : cap;
        ch->q = queue_new(cap, size);
    } else if (transport == T_MQ) {
        struct mq_attr a = { .mq_maxmsg = g_mq_maxmsg, .mq_msgsize = (long)size };
        ch->mq = mq_open(g_mq_name, O_RDWR | O_CREAT | O_EXCL, 0600, &a);
        if (ch->mq == (mqd_t)-1)
            die("mq_open(%s, maxmsg %ld, msgsize %zu)", g_mq_name, g_mq_maxmsg, size);
        CHECK_SYS(mq_unlink(g_mq_name)); /* the descriptors keep it alive; no name left */
    } else {
        CHECK_SYS(pipe(ch->pipefd));
    }
}

void channel_producer(struct channel *ch)
{
    if (ch->transport == T_PIPE)
        CHECK_SYS(close(ch->pipefd[0]));
}

void channel_consumer(struct channel *ch)
{
    if (ch->transport == T_PIPE)
        CHECK_SYS(close(ch->pipefd[1]));
}

void channel_forked(struct channel *ch)
{
    if (ch->transport == T_PIPE) { /* only the children hold the pipe: EOF when producers end */
        CHECK_SYS(close(ch->pipefd[0]));
        CHECK_SYS(close(ch->pipefd[1]));
    }
}

void channel_send(struct channel *ch, const void *msg)
{
    if (ch->transport == T_QUEUE) {
        if (queue_put(ch->q, msg, ch->size, QUEUE_FOREVER) != QUEUE_OK)
            die_child("queue_put");
    } else if (ch->transport == T_MQ) {
        if (mq_send(ch->mq, msg, ch->size, 0) == -1)
            die_child("mq_send");
    } else if (write_all(ch->pipefd[1], msg, ch->size) == -1) {
        die_child("write(pipe)");
    }
}

size_t channel_recv(struct channel *ch, void *buf)
{
    size_t len;
    if (ch->transport == T_QUEUE) {
        int rc = queue_get(ch->q, buf, ch->size, &len, QUEUE_FOREVER);
        if (rc == QUEUE_CLOSED)
            return 0;
        if (rc != QUEUE_OK)
            die_child("queue_get: %s", queue_status_name(rc));
    } else if (ch->transport == T_MQ) {
        ssize_t n = mq_receive(ch->mq, buf, ch->size, NULL);
        if (n == -1)
            die_child("mq_receive");
        len = (size_t)n; /* 0: the end-of-stream marker */
    } else {
        ssize_t n = read_all(ch->pipefd[0], buf, ch->size); /* exactly size, or 0 at EOF */
        if (n == -1)
            die_child("read(pipe)");
        if (n != 0 && (size_t)n != ch->size)
            die_child("a torn message at end-of-file");
        len = (size_t)n;
    }
    if (len != 0 && len != ch->size)
        die_child("a message of %zu bytes, expected %zu", len, ch->size);
    return len;
}

void channel_end(struct channel *ch, int consumers)
{
    if (ch->transport == T_QUEUE) {
        queue_close(ch->q);
    } else if (ch->transport == T_MQ) {
        for (int c = 0; c < consumers; c++) {
            struct timespec d = deadline_after(CLOCK_REALTIME, 10 * NS_PER_S);
            if (mq_timedsend(ch->mq, "", 0, 0, &d) == -1)
                die("mq_timedsend(end of stream)");
        }
    }
}

void channel_close(struct channel *ch)
{
    if (ch->transport == T_QUEUE)
        queue_detach(ch->q);
    else if (ch->transport == T_MQ)
        CHECK_SYS(mq_close(ch->mq));
}
