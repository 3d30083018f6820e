/* gil_fetch.c: the interview question: does fetching pages with threads beat one thread?
 *
 * Mirrors: the lessons' GIL interview question ("write a multithreaded page fetcher;
 * is it faster than a single thread, and why?") and its answer: yes, because a thread
 * blocked on the network has released the GIL. That answer holds while the threads
 * mostly wait. Give each page some CPU-heavy parsing and it stops holding: the parsing
 * runs one thread at a time under the GIL, however many threads there are.
 *
 * What it does: a server thread (page_server.c: plain C, outside the GIL, another
 * machine) listens on 127.0.0.1 at a port the kernel picks and answers each request
 * "GET n" after a fixed --delay with page n (--page-kb of bytes). Fetcher threads of "Python code"
 * share a list of --pages pages (like ThreadPoolExecutor.map): each opens a connection,
 * sends the request and reads the reply, dropping the GIL around connect, send and
 * every recv, as CPython's socket module does. Then:
 *   part 1  fetch only: the time for all pages with N = 1, 2, 4, ... threads
 *   part 2  fetch, then parse each page for --parse of CPU (ticks, holding the GIL), with
 *           the GIL, and again with no GIL (what C threads or free-threaded Python do)
 * Every page's checksum is verified. Times are medians of --repeat runs.
 *
 * Run:  ./gil_fetch [--pages 32] [--delay 4ms] [--parse 800us] [--max-threads 32] [--repeat 3]
 * Look for: part 1 dividing by N until one round of requests is all that is left
 * (pages x delay / N); part 2 flattening at pages x parse under the GIL, the parsing
 * done one page at a time, while without a GIL it goes on down to pages x parse /
 * cores. The GIL starts to bite once N passes delay / parse.
 * Network: loopback only, one port, closed before exit; every socket call is bounded
 * by a 10 s timeout, so a lost reply ends the program instead of hanging it.
 * See also: page_server.c (the server), gil_io, gil_convoy.
 */
#include "gil.h"
#include "page_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define IO_TIMEOUT_S 10

static uint64_t checksum(const unsigned char *p, size_t len)
{
    uint64_t h = 1469598103934665603u; /* FNV-1a */
    for (size_t i = 0; i < len; i++)
        h = (h ^ p[i]) * 1099511628211u;
    return h;
}

/* ---- the fetchers: "Python" threads under the GIL ---- */

struct job {
    struct gil *gil;
    int port;
    long npages;
    size_t page_len;
    uint64_t parse_ticks;
    const uint64_t *expect; /* each page's checksum */
    atomic_long next;       /* the next page to fetch */
};

struct fetcher {
    struct gil_thread t;
    pthread_t th;
    struct job *job;
    long fetched;
    uint64_t sum;
};

/* urlopen(url).read(): every call that may block drops the GIL around it */
static size_t fetch(struct fetcher *f, long page, unsigned char *buf, size_t cap)
{
    struct job *j = f->job;
    gil_io_begin(&f->t);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd == -1)
        die("socket");
    struct timeval tv = { .tv_sec = IO_TIMEOUT_S };
    CHECK_SYS(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv));
    CHECK_SYS(setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv));
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)j->port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    CHECK_SYS(connect(fd, (struct sockaddr *)&a, sizeof a));
    gil_io_end(&f->t);

    char req[32];
    int n = snprintf(req, sizeof req, "GET %ld\n", page);
    gil_io_begin(&f->t);
    if (write(fd, req, (size_t)n) != n)
        die("send");
    gil_io_end(&f->t);

    size_t got = 0, body = 0, want = 0;
    while (want == 0 || got < body + want) {
        gil_io_begin(&f->t);
        ssize_t r = recv(fd, buf + got, cap - got, 0);
        gil_io_end(&f->t);
        if (r == -1)
            die("recv (page %ld)", page);
        if (r == 0)
            fatal("page %ld: the server closed the connection early", page);
        got += (size_t)r;
        if (want == 0) {
            unsigned char *nl = memchr(buf, '\n', got);
            if (nl) {
                long pn;
                if (sscanf((char *)buf, "PAGE %ld %zu", &pn, &want) != 2 || pn != page || want == 0 ||
                    want > cap - 64)
                    fatal("page %ld: a bad header", page);
                body = (size_t)(nl - buf) + 1;
            }
        }
    }
    CHECK_SYS(close(fd));
    memmove(buf, buf + body, want);
    return want;
}

static void *fetcher_main(void *arg)
{
    struct fetcher *f = arg;
    struct job *j = f->job;
    size_t cap = j->page_len + 256;
    unsigned char *buf = malloc(cap);
    if (!buf)
        die("malloc");
    gil_take(&f->t, GIL_START);
    long page;
    while ((page = atomic_fetch_add(&j->next, 1)) < j->npages) {
        size_t len = fetch(f, page, buf, cap);
        /* the parsing: check the page, then CPU work on it, holding the GIL */
        uint64_t h = checksum(buf, len);
        if (len != j->page_len || h != j->expect[page])
            fatal("page %ld arrived damaged", page);
        f->sum += gil_run(&f->t, h, h + j->parse_ticks);
        f->fetched++;
    }
    gil_exit(&f->t);
    free(buf);
    return NULL;
}

/* All pages with `threads` fetchers; returns the wall time in ns. */
static int64_t run(struct job *j, enum gil_mode mode, int threads)
{
    struct gil g;
    gil_init(&g, &(struct gil_config){ .mode = mode });
    j->gil = &g;
    atomic_store(&j->next, 0);
    struct fetcher *f = calloc((size_t)threads, sizeof *f);
    if (!f)
        die("calloc");
    int64_t t = now_ns();
    for (int i = 0; i < threads; i++) {
        gil_thread_init(&f[i].t, &g, "fetcher");
        f[i].job = j;
        CHECK_PT(pthread_create(&f[i].th, NULL, fetcher_main, &f[i]));
    }
    long fetched = 0;
    for (int i = 0; i < threads; i++) {
        CHECK_PT(pthread_join(f[i].th, NULL));
        fetched += f[i].fetched;
    }
    t = now_ns() - t;
    if (fetched != j->npages)
        fatal("%ld pages fetched of %ld", fetched, j->npages);
    if (gil_stats(&g).violations)
        fatal("two threads held the GIL at once");
    gil_destroy(&g);
    free(f);
    return t;
}

enum { IO_ONLY, PARSE_GIL, PARSE_NOGIL, NPARTS };
static const char *const part_name[NPARTS] = { "fetch only", "fetch + parse, GIL", "fetch + parse, no GIL" };

int main(int argc, char **argv)
{
    long npages = 32, page_kb = 16, max_threads = 32, repeat = 3;
    int64_t delay = 4 * NS_PER_MS, parse = 800 * NS_PER_US;
    const struct cli_opt opts[] = {
        { "pages", CLI_INT, &npages, "pages to fetch", 1, 10000, "8", NULL },
        { "page-kb", CLI_INT, &page_kb, "size of a page, KiB", 1, 1024, "4", NULL },
        { "delay", CLI_DURATION, &delay, "the server's delay before each reply", 0, 10 * NS_PER_S, "2ms", NULL },
        { "parse", CLI_DURATION, &parse, "CPU time to parse one page", 0, 10 * NS_PER_S, "500µs", NULL },
        { "max-threads", CLI_INT, &max_threads, "most fetcher threads (1, 2, 4, ... up to it)", 1, 64, "4", NULL },
        { "repeat", CLI_INT, &repeat, "runs of each (the median is kept)", 1, 100, "1", NULL },
        { 0 },
    };
    struct cli cli = { .measures = true };
    cli_parse(argc, argv, "Fetch pages from a slow loopback server with 1..N threads; then parse them too.", opts,
              &cli);

    struct page_server srv;
    size_t page_len = (size_t)page_kb * 1024;
    page_server_start(&srv, npages, page_len, delay);
    uint64_t *expect = malloc((size_t)npages * sizeof *expect);
    if (!expect)
        die("malloc");
    for (long n = 0; n < npages; n++)
        expect[n] = checksum(srv.pages[n], page_len);
    double rate = gil_tick_rate(20 * NS_PER_MS);
    uint64_t parse_ticks = (uint64_t)(rate * (double)parse / 1e9);
    struct job j = { .port = srv.port, .npages = npages, .page_len = page_len, .expect = expect };

    int ns[8], nn = 0;
    for (int t = 1; t <= max_threads && nn < 8; t *= 2)
        ns[nn++] = t;
    double *wall = malloc((size_t)(NPARTS * nn * repeat) * sizeof *wall);
    if (!wall)
        die("malloc");
#define AT(p, k, r) wall[((size_t)(p) * (size_t)nn + (size_t)(k)) * (size_t)repeat + (size_t)(r)]
    for (long r = 0; r < repeat; r++)
        for (int k = 0; k < nn; k++)
            for (int p = 0; p < NPARTS; p++) {
                j.parse_ticks = p == IO_ONLY ? 0 : parse_ticks;
                AT(p, k, r) = (double)run(&j, p == PARSE_NOGIL ? GIL_NONE : GIL_NEW, ns[k]) / 1e6;
            }
    page_server_stop(&srv);

    long cores = cpu_count();
    printf("%ld pages of %ld KiB from 127.0.0.1:%d, each answered after %.3g ms; parsing a page: %.3g ms of CPU "
           "(%llu ticks); median of %ld runs\n", npages, page_kb, srv.port, (double)delay / 1e6, (double)parse / 1e6,
           (unsigned long long)parse_ticks, repeat);
    printf("  %7s %12s %12s %12s %12s | %12s %12s\n", "threads", "fetch ms", "speed-up", "+parse GIL", "+parse none",
           "pages*delay/N", "pages*parse");
    FILE *data = data_open(cli.data, "gil_fetch: fetching pages from a slow loopback server with N threads");
    static const char *const cols[] = {
        "threads (count): N",
        "fetch_ms (ms): fetch only, GIL", "fetch_p10 (ms)", "fetch_p90 (ms)",
        "gil_ms (ms): fetch and parse, GIL", "gil_p10 (ms)", "gil_p90 (ms)",
        "nogil_ms (ms): fetch and parse, no GIL", "nogil_p10 (ms)", "nogil_p90 (ms)",
        "rounds_ms (ms): ceil(pages / N) x delay, the wait for the server alone",
        "parse_ms (ms): pages x parse, all the parsing done one page at a time",
        "cores (count): the CPUs it may use (common.h, cpu_count)", NULL,
    };
    data_block(data, "time to fetch all pages vs threads", cols);
    double one = 0;
    for (int k = 0; k < nn; k++) {
        struct summary s[NPARTS];
        for (int p = 0; p < NPARTS; p++)
            s[p] = summarize(&AT(p, k, 0), (size_t)repeat);
        if (k == 0)
            one = s[IO_ONLY].median;
        double rounds = (double)((npages + ns[k] - 1) / ns[k]) * (double)delay / 1e6;
        double serial_parse = (double)npages * (double)parse / 1e6;
        printf("  %7d %12.1f %11.2fx %12.1f %12.1f | %12.1f %12.1f\n", ns[k], s[IO_ONLY].median,
               one / s[IO_ONLY].median, s[PARSE_GIL].median, s[PARSE_NOGIL].median, rounds, serial_parse);
        data_row(data, "%d", ns[k]);
        for (int p = 0; p < NPARTS; p++)
            data_row(data, " %.3f %.3f %.3f", s[p].median, s[p].p10, s[p].p90);
        data_row(data, " %.3f %.3f %ld\n", rounds, serial_parse, cores);
    }
    data_close(data);
    printf("every page arrived intact (%s, %s and %s runs)\n", part_name[0], part_name[1], part_name[2]);
    free(wall);
    free(expect);
    return 0;
}
