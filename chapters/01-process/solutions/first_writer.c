/* solutions/first_writer.c: exercise 2 of chapter 01 (processes), "predict before you
 * run".
 *
 * The question: in globals_not_shared the child writes to lst's page and gets a new
 * physical frame. Make the parent write to the page right after the fork, before the
 * join: which process gets the new frame now?
 *
 * The answer: the parent, the first to write. After fork both processes map the same
 * frame, read-only. The first write to it faults, and the kernel gives the writer a
 * copy; the frame now belongs to the other process alone, so its own first write faults
 * too, but the kernel sees that nobody else maps the frame and just makes it writable
 * again: nothing is copied. Whoever writes first pays.
 *
 * What it does: part 1, as root, shows the frames of one page: the parent's before and
 * after its write, and the child's, read by the child after the parent wrote. Part 2,
 * for everyone, times the first write to each page of --mib MiB, first by the parent
 * then by the child, and the other way round: the first writer's cost per page is a
 * page copied, the second writer's only a fault.
 *
 * Run:  solutions/first_writer [--mib 64] [--repeat 5]     (as root to see the frames)
 * Look for: "the parent got a new frame, the child kept the original"; the first
 * writer paying more per page than the second, whichever process it is.
 */
#include "common.h"

#include <fcntl.h>
#include <stdalign.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

static alignas(4096) char g_page[4096];

/* The physical frame behind p, or 0 if the kernel hides it (without CAP_SYS_ADMIN). */
static uint64_t frame_of(const void *p)
{
    int fd = open("/proc/self/pagemap", O_RDONLY);
    if (fd == -1)
        die("open /proc/self/pagemap");
    uint64_t entry;
    off_t off = (off_t)((uintptr_t)p / 4096 * sizeof entry);
    if (pread(fd, &entry, sizeof entry, off) != (ssize_t)sizeof entry)
        die("pread /proc/self/pagemap");
    CHECK_SYS(close(fd));
    return entry >> 63 ? entry & ((UINT64_C(1) << 55) - 1) : 0;
}

static void part1(void)
{
    int go[2], back[2];
    CHECK_SYS(pipe(go));
    CHECK_SYS(pipe(back));
    g_page[0] = 1; /* present before the fork */
    uint64_t before = frame_of(g_page), child_frame;
    pid_t pid = fork_child();
    if (pid == 0) {
        char c;
        if (read_all(go[0], &c, 1) != 1) /* until the parent has written */
            die_child("read");
        uint64_t f = frame_of(g_page);
        if (write_all(back[1], &f, sizeof f) == -1)
            die_child("write");
        _exit(0);
    }
    g_page[0] = 2; /* the parent writes first */
    uint64_t after = frame_of(g_page);
    if (write_all(go[1], "w", 1) == -1 || read_all(back[0], &child_frame, sizeof child_frame) != sizeof child_frame)
        die("pipe to the child");
    int status;
    child_wait(pid, -1, &status);
    for (int i = 0; i < 2; i++) {
        CHECK_SYS(close(go[i]));
        CHECK_SYS(close(back[i]));
    }
    printf("part 1: one page, the parent writes to it right after the fork\n");
    if (before == 0) {
        printf("  physical frames hidden: run as root to see them (part 2 shows the same by its cost)\n");
        return;
    }
    printf("  parent: frame %#llx before its write, %#llx after\n  child:  frame %#llx, read after the parent's "
           "write\n", (unsigned long long)before, (unsigned long long)after, (unsigned long long)child_frame);
    if (after != before && child_frame == before)
        printf("  the parent got a new frame, the child kept the original: the first writer gets the copy\n");
    else
        printf("  unexpected: the frames did not move as copy-on-write predicts\n");
}

/* Writes one byte to each of n pages; returns ns per page. */
static double touch(char *p, size_t n)
{
    int64_t t0 = now_ns();
    for (size_t i = 0; i < n; i++)
        ((volatile char *)p)[i * 4096] = 3;
    return (double)(now_ns() - t0) / (double)n;
}

/* Both processes write to every page, `first` (0 parent, 1 child) before the other;
 * ns per page for each into ns[0] (parent) and ns[1] (child). */
static void part2_run(size_t pages, int first, double ns[2])
{
    char *p = mmap(NULL, pages * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        die("mmap");
    if (madvise(p, pages * 4096, MADV_NOHUGEPAGE) == -1) /* 4 KiB pages, one copy each */
        die("madvise");
    touch(p, pages); /* every page present in the parent before the fork */
    int go[2], back[2];
    CHECK_SYS(pipe(go));
    CHECK_SYS(pipe(back));
    pid_t pid = fork_child();
    char c = 'x';
    if (pid == 0) {
        if (first == 0 && read_all(go[0], &c, 1) != 1)
            die_child("read");
        double t = touch(p, pages);
        if (write_all(back[1], &t, sizeof t) == -1)
            die_child("write");
        _exit(0);
    }
    if (first == 0) {
        ns[0] = touch(p, pages);
        if (write_all(go[1], &c, 1) == -1)
            die("write");
    }
    if (read_all(back[0], &ns[1], sizeof ns[1]) != sizeof ns[1])
        fatal("the child did not report");
    if (first == 1)
        ns[0] = touch(p, pages);
    int status;
    child_wait(pid, -1, &status);
    for (int i = 0; i < 2; i++) {
        CHECK_SYS(close(go[i]));
        CHECK_SYS(close(back[i]));
    }
    CHECK_SYS(munmap(p, pages * 4096));
}

int main(int argc, char **argv)
{
    long mib = 64, repeat = 5;
    const struct cli_opt opts[] = {
        { "mib", CLI_INT, &mib, "memory written by both processes in part 2", 1, 4096, "4", NULL },
        { "repeat", CLI_INT, &repeat, "runs of each order in part 2 (the median is kept)", 1, 100, NULL, NULL },
        { 0 },
    };
    struct cli cli = { 0 };
    cli_parse(argc, argv, "Exercise 2: after fork, which process gets the copy of a page both share?", opts, &cli);
    part1();
    size_t pages = (size_t)mib * 256;
    printf("\npart 2: each process writes one byte to each of %zu pages (%ld MiB); ns per page, median of %ld\n",
           pages, mib, repeat);
    double *ns = malloc((size_t)(4 * repeat) * sizeof *ns);
    if (!ns)
        die("malloc");
    for (long r = 0; r < repeat; r++) /* the two orders in turn */
        for (int first = 0; first < 2; first++) {
            double v[2];
            part2_run(pages, first, v);
            ns[(2 * first + 0) * repeat + r] = v[first];  /* the first writer */
            ns[(2 * first + 1) * repeat + r] = v[!first]; /* the second */
        }
    static const char *const who[2] = { "parent", "child" };
    for (int first = 0; first < 2; first++) {
        double a = summarize(&ns[(2 * first + 0) * repeat], (size_t)repeat).median;
        double b = summarize(&ns[(2 * first + 1) * repeat], (size_t)repeat).median;
        printf("  the %-6s writes first: %6.0f ns per page; then the %-6s: %6.0f ns per page (%.1fx)\n",
               who[first], a, who[!first], b, a / b);
    }
    printf("the first writer copies each page; the second finds the original its own and copies nothing\n");
    free(ns);
    return 0;
}
