/* echo_client.c: many connections on one hub, every reply checked (echo_client.h). */
#include "echo_client.h"
#include "hub.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

struct client {
    int id, fd;
    struct sockaddr_in addr;
    const struct echo_load *load;
    long replies, wrong;
    int err;
};

static void *client(void *arg)
{
    struct client *cl = arg;
    size_t max = (size_t)cl->load->size;
    char *out = malloc(max), *in = malloc(max);
    if (!out || !in)
        die("malloc");
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd == -1)
        die("socket");
    cl->fd = fd;
    if (co_connect(fd, (struct sockaddr *)&cl->addr, sizeof cl->addr) == -1) {
        cl->err = errno;
        goto done;
    }
    for (long m = 0; m < cl->load->messages; m++) {
        uint64_t seed = mix64((uint64_t)cl->id << 32 | (uint64_t)m);
        size_t len = 1 + (size_t)(seed % (uint64_t)max);
        for (size_t i = 0; i < len; i++)
            out[i] = (char)mix64(seed + i);
        if (co_write(fd, out, len) != (ssize_t)len) {
            cl->err = errno;
            break;
        }
        size_t got = 0;
        while (got < len) {
            ssize_t n = co_read(fd, in + got, len - got);
            if (n <= 0) {
                cl->err = n == 0 ? ECONNRESET : errno;
                goto done;
            }
            got += (size_t)n;
        }
        cl->replies++;
        cl->wrong += memcmp(in, out, len) != 0;
    }
done:
    cl->fd = -1;
    CHECK_SYS(co_close(fd));
    free(out);
    free(in);
    return NULL;
}

int echo_clients(struct sockaddr_in addr, const struct echo_load *load)
{
    trace_name("echo_client");
    long n = load->clients;
    struct client *cl = calloc((size_t)n, sizeof *cl);
    struct hub_task **t = calloc((size_t)n, sizeof *t);
    if (!cl || !t)
        die("calloc");
    int64_t t0 = now_ns();
    for (long i = 0; i < n; i++) {
        cl[i] = (struct client){ .id = (int)i, .fd = -1, .addr = addr, .load = load };
        t[i] = hub_spawn(client, &cl[i]);
        if (!t[i])
            die("hub_spawn");
    }
    trace("client: %ld connections, %ld messages each, up to %ld bytes", n, load->messages, load->size);
    int rc = hub_joinall(t, (size_t)n, load->timeout);
    double secs = (double)(now_ns() - t0) / 1e9;
    if (rc != 0) { /* give up: every client still waiting fails with ETIMEDOUT and ends */
        for (long i = 0; i < n; i++)
            if (cl[i].fd >= 0)
                hub_cancel_wait(cl[i].fd, ETIMEDOUT);
        if (hub_joinall(t, (size_t)n, NS_PER_S) != 0)
            fatal("client: a connection did not end after its wait was cancelled");
    }
    long replies = 0, wrong = 0, failed = 0;
    for (long i = 0; i < n; i++) {
        replies += cl[i].replies;
        wrong += cl[i].wrong;
        failed += cl[i].err != 0;
    }
    if (rc != 0)
        trace("client: gave up after %.1f s: %s", secs, strerror(rc));
    trace("client: %ld replies checked byte for byte, %ld wrong, %ld connections failed; "
          "%.3f s, %.0f messages/s",
          replies, wrong, failed, secs, (double)replies / secs);
    hub_close();
    free(cl);
    free(t);
    return rc == 0 && wrong == 0 && failed == 0 && replies == n * load->messages ? 0 : 1;
}
