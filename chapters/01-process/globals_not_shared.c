/* globals_not_shared.c: a child's changes to a global stay in the child.
 *
 * Mirrors: the lesson's global list `lst` that a child process appends to while the
 * parent's copy stays empty ("processes don't share global variables").
 *
 * What it shows: the child appends 0..4 to a global array and prints it; the parent,
 * after join, prints its own: still empty. Both print the same virtual address,
 * because fork gives the child a copy of the parent's whole address space at the same
 * addresses. The copy is lazy (copy-on-write): parent and child share each physical
 * page until one of them writes to it, and then the kernel copies that page. With
 * root privileges the program shows this happening, through /proc/self/pagemap: the
 * child's page holding the array is the parent's physical page until the child's
 * first write, and a different one after.
 *
 * Run:  ./globals_not_shared      (as root to see physical page numbers)
 * Look for: "the same virtual address" on both sides, and the physical frame number
 * changing at the child's first write.
 * See also: 04-thread/thread_basics.c, where threads do share globals.
 */
#include "process.h"

#include <fcntl.h>
#include <stdalign.h>
#include <unistd.h>

/* A page of its own (4 KiB, page-aligned), so that nothing else the parent writes
 * after the fork (process.c's bookkeeping, say) shares it: then only the child's
 * first write to lst breaks the sharing, and the copy is the child's. */
static alignas(4096) int lst[4096 / sizeof(int)];
static int lst_len;

/* The physical frame number behind virtual address p, or 0 when the kernel hides it
 * (it does for processes without CAP_SYS_ADMIN). Each page has a 64-bit entry in
 * /proc/self/pagemap: bit 63 says the page is present, bits 0-54 hold the frame. */
static uint64_t frame_of(const void *p)
{
    int fd = open("/proc/self/pagemap", O_RDONLY);
    if (fd == -1)
        die("open /proc/self/pagemap");
    uint64_t entry;
    off_t off = (off_t)((uintptr_t)p / (uintptr_t)sysconf(_SC_PAGESIZE) * sizeof entry);
    if (pread(fd, &entry, sizeof entry, off) != (ssize_t)sizeof entry)
        die("pread /proc/self/pagemap");
    if (close(fd) == -1)
        die("close");
    if (!(entry >> 63 & 1))
        return 0;
    return entry & ((UINT64_C(1) << 55) - 1);
}

static void print_list(const char *who)
{
    char buf[128] = "";
    size_t n = 0;
    for (int i = 0; i < lst_len; i++)
        n += (size_t)snprintf(buf + n, sizeof buf - n, "%s%d", i ? ", " : "", lst[i]);
    trace("%s: lst = [%s] at virtual address %p", who, buf, (void *)lst);
}

static void print_frame(const char *when)
{
    uint64_t f = frame_of(lst);
    if (f)
        trace("%s: lst's page is physical frame %#llx", when, (unsigned long long)f);
    else
        trace("%s: physical frame hidden (run as root to see it)", when);
}

static int append_five(void *arg)
{
    (void)arg;
    print_frame("child, before writing");
    for (int i = 0; i < 5; i++)
        lst[lst_len++] = i;
    print_frame("child, after writing ");
    print_list("child");
    return 0;
}

int main(int argc, char **argv)
{
    struct cli cli = { 0 };
    cli_parse(argc, argv, "A child appends to a global array; the parent's copy stays empty.", NULL, &cli);
    trace_start();

    *(volatile int *)&lst[0] = 0; /* touch the page, so it exists before the fork */
    print_list("parent");
    print_frame("parent");
    struct process child = { .name = "child", .target = append_five };
    process_start(&child);
    process_join(&child, -1);
    print_list("parent, after join");
    print_frame("parent");
    trace("the same virtual address, different memory: the child wrote to its own copy");
    return child.exitcode;
}
