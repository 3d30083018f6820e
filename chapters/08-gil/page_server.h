/* page_server.h: a slow web server on loopback, for gil_fetch.c.
 *
 * One plain C thread (outside the GIL: it stands for another machine) listens on
 * 127.0.0.1 at a port the kernel picks. A client connects, sends "GET n\n", and gets
 * "PAGE n len\n" and the len bytes of page n, a fixed delay after its request. The
 * thread serves every connection at once with ppoll(2), each reply due at its request
 * time + delay, so N requests in flight take one delay, not N: the waits of the
 * fetchers overlap on the server's side as they would on the network.
 */
#ifndef WORKBOOK_PAGE_SERVER_H
#define WORKBOOK_PAGE_SERVER_H

#include "common.h"

#include <pthread.h>

enum { PAGE_SERVER_MAXCONN = 128 };

struct page_conn {
    int fd;
    char req[64];
    size_t len;
    long page;
    int64_t due; /* 0: no request pending */
};

struct page_server {
    int port;              /* out: where it listens */
    unsigned char **pages; /* out: the bodies it serves, pages[0 .. npages) */
    long npages;
    size_t page_len;
    int64_t delay;
    int listen_fd, stop_fd[2];
    pthread_t th;
    struct page_conn conns[PAGE_SERVER_MAXCONN];
    int nconn;
};

/* Builds npages pages of page_len bytes each and starts serving them. Dies on failure. */
void page_server_start(struct page_server *s, long npages, size_t page_len, int64_t delay);
/* Stops the thread, closes every connection and the port, frees the pages. */
void page_server_stop(struct page_server *s);

#endif
