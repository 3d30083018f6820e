/* page_server.c: the slow loopback server of gil_fetch.c (page_server.h).
 *
 * Each pass of the loop sends the replies that are due, then sleeps in ppoll until the
 * next one is due, a connection or a request arrives, or the stop pipe is written.
 */
#include "page_server.h"
#include "gil.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* page n's bytes */
static unsigned char page_byte(long n, size_t i)
{
    return (unsigned char)(gil_work((uint64_t)n * 1000003u + i / 8) >> (8 * (i % 8)));
}

static void conn_close(struct page_server *s, int i)
{
    CHECK_SYS(close(s->conns[i].fd));
    s->conns[i] = s->conns[--s->nconn];
}

static void *server_main(void *arg)
{
    struct page_server *s = arg;
    struct pollfd pf[PAGE_SERVER_MAXCONN + 2];
    for (;;) {
        int64_t now = now_ns(), next = -1;
        /* send what is due */
        for (int i = 0; i < s->nconn; i++) {
            struct page_conn *c = &s->conns[i];
            if (c->due == 0)
                continue;
            if (c->due <= now) {
                char head[64];
                int n = snprintf(head, sizeof head, "PAGE %ld %zu\n", c->page, s->page_len);
                if (write_all(c->fd, head, (size_t)n) == -1 ||
                    write_all(c->fd, s->pages[c->page], s->page_len) == -1)
                    die("server: write");
                c->due = 0;
                c->len = 0;
            } else if (next < 0 || c->due < next) {
                next = c->due;
            }
        }
        int n = 0;
        pf[n++] = (struct pollfd){ .fd = s->stop_fd[0], .events = POLLIN };
        pf[n++] = (struct pollfd){ .fd = s->listen_fd, .events = POLLIN };
        for (int i = 0; i < s->nconn; i++)
            pf[n++] = (struct pollfd){ .fd = s->conns[i].fd, .events = POLLIN };
        struct timespec ts = ns_to_ts(next < 0 ? 0 : next - now);
        if (ppoll(pf, (nfds_t)n, next < 0 ? NULL : &ts, NULL) == -1)
            die("server: ppoll");
        if (pf[0].revents)
            break; /* told to stop */
        if (pf[1].revents & POLLIN) {
            int fd = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC);
            if (fd == -1)
                die("server: accept4");
            if (s->nconn == PAGE_SERVER_MAXCONN)
                fatal("server: more than %d connections", PAGE_SERVER_MAXCONN);
            s->conns[s->nconn++] = (struct page_conn){ .fd = fd };
        }
        /* requests and closes, from the last connection down (conn_close moves the last) */
        for (int i = n - 3; i >= 0; i--) {
            if (!pf[i + 2].revents)
                continue;
            struct page_conn *c = &s->conns[i];
            ssize_t got = read(c->fd, c->req + c->len, sizeof c->req - 1 - c->len);
            if (got <= 0) { /* the client closed (or reset) its end */
                conn_close(s, i);
                continue;
            }
            c->len += (size_t)got;
            c->req[c->len] = '\0';
            if (strchr(c->req, '\n')) {
                if (sscanf(c->req, "GET %ld", &c->page) != 1 || c->page < 0 || c->page >= s->npages)
                    fatal("server: bad request \"%s\"", c->req);
                c->due = now_ns() + s->delay;
            }
        }
    }
    while (s->nconn > 0)
        conn_close(s, s->nconn - 1);
    return NULL;
}

void page_server_start(struct page_server *s, long npages, size_t page_len, int64_t delay)
{
    memset(s, 0, sizeof *s);
    s->delay = delay;
    s->page_len = page_len;
    s->npages = npages;
    s->pages = malloc((size_t)npages * sizeof *s->pages);
    if (!s->pages)
        die("malloc");
    for (long n = 0; n < npages; n++) {
        if (!(s->pages[n] = malloc(page_len)))
            die("malloc");
        for (size_t i = 0; i < page_len; i++)
            s->pages[n][i] = page_byte(n, i);
    }
    CHECK_SYS(s->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = 0, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    CHECK_SYS(bind(s->listen_fd, (struct sockaddr *)&a, sizeof a));
    CHECK_SYS(listen(s->listen_fd, PAGE_SERVER_MAXCONN));
    socklen_t len = sizeof a;
    CHECK_SYS(getsockname(s->listen_fd, (struct sockaddr *)&a, &len));
    s->port = ntohs(a.sin_port);
    CHECK_SYS(pipe2(s->stop_fd, O_CLOEXEC));
    CHECK_PT(pthread_create(&s->th, NULL, server_main, s));
}

void page_server_stop(struct page_server *s)
{
    CHECK_SYS(write(s->stop_fd[1], "x", 1));
    CHECK_PT(pthread_join(s->th, NULL));
    CHECK_SYS(close(s->stop_fd[0]));
    CHECK_SYS(close(s->stop_fd[1]));
    CHECK_SYS(close(s->listen_fd));
    for (long n = 0; n < s->npages; n++)
        free(s->pages[n]);
    free(s->pages);
}
