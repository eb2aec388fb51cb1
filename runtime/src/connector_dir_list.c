/* connector_dir_list.c — see connector_dir_list.h. */
#include "connector_dir_list.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "error.h"
#include "object.h"

/* The writer's pid of a leftover (0 if unreadable), or -1: not one. */
static long leftover_pid(const ps_dir_layout *layout, const char *rest)
{
    size_t n = strlen(layout->temp);
    if (strncmp(rest, layout->temp, n) != 0)
        return -1;
    char *end;
    long pid = strtol(rest + n, &end, 10);
    return end > rest + n && *end == '.' ? pid : 0;
}

/* Report one entry; false stops. */
static bool report(int dirfd, const ps_dir_layout *layout, const char *name, ps_list_fn fn, void *ctx)
{
    const char *rest = name + strlen(layout->prefix);
    long pid = leftover_pid(layout, rest);
    char key[PS_KEY_MAX];
    bool has_key = pid < 0 && layout->key_of(rest, key);
    if (pid < 0 && !has_key && !(layout->hashed_keys && rest[0] == '#'))
        return true; /* not an entry of this store */
    int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        if (fd >= 0)
            close(fd);
        return true; /* gone meanwhile, or not a file */
    }
    unsigned char head[PS_OBJECT_HEADER_SIZE];
    ssize_t n = pid < 0 ? pread(fd, head, sizeof head, 0) : 0;
    close(fd);
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    int64_t age = ((int64_t)now.tv_sec - (int64_t)st.st_mtim.tv_sec) * 1000 +
                  ((int64_t)now.tv_nsec - (int64_t)st.st_mtim.tv_nsec) / 1000000;
    ps_list_entry e = {
        .entry = name,
        .key = has_key ? key : NULL,
        .leftover = pid >= 0,
        .writer_pid = pid > 0 ? pid : 0,
        .len = (uint64_t)st.st_size,
        .age_ms = age < 0 ? 0 : age,
        .ttl_ms = -1,
        .head = head,
        .head_len = n > 0 ? (size_t)n : 0,
    };
    return fn(&e, ctx);
}

ps_status ps_dir_list(int dirfd, const ps_dir_layout *layout, ps_list_fn fn, void *ctx)
{
    int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (!d) {
        if (fd >= 0)
            close(fd);
        return ps_error_errno(PS_ERR_IO, "%s: cannot list", layout->where);
    }
    size_t plen = strlen(layout->prefix);
    struct dirent *de;
    errno = 0;
    while ((de = readdir(d))) {
        if (strncmp(de->d_name, layout->prefix, plen) != 0 || !de->d_name[plen] ||
            strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        if (!report(dirfd, layout, de->d_name, fn, ctx))
            break;
        errno = 0;
    }
    ps_status st = errno ? ps_error_errno(PS_ERR_IO, "%s: listing failed", layout->where) : PS_OK;
    closedir(d);
    return st;
}

ps_status ps_dir_remove_entry(int dirfd, const ps_dir_layout *layout, const char *entry)
{
    size_t plen = strlen(layout->prefix);
    if (!entry || strncmp(entry, layout->prefix, plen) != 0 || !entry[plen] || strchr(entry, '/'))
        return ps_error_set(PS_ERR_INVALID_ARGUMENT, "%s: '%s' is not an entry of this store", layout->where,
                            entry ? entry : "(null)");
    if (unlinkat(dirfd, entry, 0) != 0 && errno != ENOENT)
        return ps_error_errno(PS_ERR_IO, "%s: cannot remove %s", layout->where, entry);
    return PS_OK;
}
