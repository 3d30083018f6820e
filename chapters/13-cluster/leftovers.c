/* leftovers.c: MPICH's shared memory files left by a killed job (see leftovers.h). */
#include "leftovers.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Is `path` open or mapped by any process we can look at? */
static bool in_use(const char *path)
{
    DIR *proc = opendir("/proc");
    if (!proc)
        die("opendir /proc");
    bool used = false;
    size_t len = strlen(path);
    for (struct dirent *e; !used && (e = readdir(proc));) {
        if (e->d_name[0] < '1' || e->d_name[0] > '9')
            continue;
        char dir[300], link[PATH_MAX], line[PATH_MAX + 128];
        snprintf(dir, sizeof dir, "/proc/%s/fd", e->d_name);
        DIR *fds = opendir(dir);
        for (struct dirent *f; fds && !used && (f = readdir(fds));) {
            char fd[600];
            snprintf(fd, sizeof fd, "%s/%s", dir, f->d_name);
            ssize_t n = readlink(fd, link, sizeof link - 1);
            used = n == (ssize_t)len && memcmp(link, path, len) == 0;
        }
        if (fds)
            closedir(fds);
        snprintf(dir, sizeof dir, "/proc/%s/maps", e->d_name);
        FILE *maps = fopen(dir, "r");
        while (maps && !used && fgets(line, sizeof line, maps)) {
            char *p = strstr(line, path);
            used = p && (p[len] == '\n' || p[len] == '\0');
        }
        if (maps)
            fclose(maps);
    }
    closedir(proc);
    return used;
}

void remove_mpich_leftovers(time_t since)
{
    static const char *const dirs[] = { "/dev/shm", "/tmp" };
    for (size_t i = 0; i < ARRAY_LEN(dirs); i++) {
        DIR *d = opendir(dirs[i]);
        for (struct dirent *e; d && (e = readdir(d));) {
            char path[PATH_MAX];
            struct stat st;
            if (strncmp(e->d_name, "mpich_shar_tmp", 14) != 0)
                continue;
            snprintf(path, sizeof path, "%s/%s", dirs[i], e->d_name);
            if (lstat(path, &st) == -1 || !S_ISREG(st.st_mode) || st.st_uid != getuid() || st.st_mtime < since ||
                in_use(path))
                continue;
            if (unlink(path) == -1 && errno != ENOENT)
                die("unlink %s", path);
            fprintf(stderr, "launch: removed %s, MPICH's shared memory, left by the job\n", path);
        }
        if (d)
            closedir(d);
    }
}
