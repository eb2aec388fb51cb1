/*
 * connector_file_io.h — routines shared by the connectors whose objects are
 * files (file://) or file-like segments (shm://, a tmpfs on Linux).
 *
 * Both keep one object per directory entry named after its key, so both
 * refuse the same keys, write a gather list the same way and name their
 * temporary entries the same way.
 */
#ifndef PS_CONNECTOR_FILE_IO_H
#define PS_CONNECTOR_FILE_IO_H

#include <errno.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "connector.h"
#include "error.h"

/*
 * The store validates keys already; this is the second line of defence for
 * a connector that turns a key into a directory entry.  A key with '/' could
 * name another directory, "." and ".." name directories, and a leading '.'
 * is reserved for temporary entries (so a key can never collide with one).
 * where names the store in messages.
 */
static inline ps_status ps_conn_check_key(const char *key, const char *where)
{
    if (!key || !*key)
        return ps_error_set(PS_ERR_INVALID_ARGUMENT, "%s: empty key", where);
    size_t len = strnlen(key, PS_KEY_MAX);
    if (len >= PS_KEY_MAX)
        return ps_error_set(PS_ERR_INVALID_ARGUMENT, "%s: key '%.32s...' is longer than %d bytes",
                            where, key, PS_KEY_MAX - 1);
    if (key[0] == '.')
        return ps_error_set(PS_ERR_INVALID_ARGUMENT, "%s: key '%s' starts with '.' (reserved)",
                            where, key);
    if (memchr(key, '/', len))
        return ps_error_set(PS_ERR_INVALID_ARGUMENT, "%s: key '%s' contains '/'", where, key);
    return PS_OK;
}

/*
 * Write the whole gather list to fd.  writev may write less than asked (a
 * signal, a pipe-like file system), and takes at most IOV_MAX entries, so
 * loop until every byte is out.  On failure errno is left set.
 */
static inline int ps_conn_write_parts(int fd, const ps_iov *parts, size_t nparts)
{
    enum { BATCH = 64 };
    struct iovec iov[BATCH];
    size_t part = 0, offset = 0; /* first byte not yet written */
    while (part < nparts) {
        int n = 0;
        for (size_t i = part; i < nparts && n < BATCH; i++) {
            size_t skip = i == part ? offset : 0;
            if (parts[i].len - skip == 0)
                continue;
            iov[n].iov_base = (char *)parts[i].base + skip;
            iov[n].iov_len = parts[i].len - skip;
            n++;
        }
        if (n == 0)
            return 0;
        ssize_t w = writev(fd, iov, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (w == 0) { /* no progress and no error: treat as a full device */
            errno = ENOSPC;
            return -1;
        }
        size_t left = (size_t)w;
        while (left > 0 && part < nparts) {
            size_t avail = parts[part].len - offset;
            if (left < avail) {
                offset += left;
                left = 0;
            } else {
                left -= avail;
                part++;
                offset = 0;
            }
        }
        while (part < nparts && parts[part].len == offset) {
            part++;
            offset = 0;
        }
    }
    return 0;
}

/*
 * A temporary entry name: it starts with '.' so no key can name it, and
 * carries the pid and a process-wide sequence number so concurrent writers
 * (threads or processes) never pick the same one; O_EXCL catches the rest.
 */
static inline void ps_conn_temp_name(char *out, size_t size, const char *prefix)
{
    static atomic_ulong sequence;
    unsigned long seq = atomic_fetch_add_explicit(&sequence, 1, memory_order_relaxed);
    snprintf(out, size, "%s.tmp.%ld.%lu", prefix, (long)getpid(), seq);
}

#endif /* PS_CONNECTOR_FILE_IO_H */
