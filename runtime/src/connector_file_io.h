/*
 * connector_file_io.h — routines shared by the connectors whose objects are
 * files (file://) or file-like segments (shm://, a tmpfs on Linux).
 *
 * Both keep one object per directory entry named after its key, so both
 * refuse the same keys, write a gather list the same way and publish a new
 * object the same way.
 */
#ifndef PS_CONNECTOR_FILE_IO_H
#define PS_CONNECTOR_FILE_IO_H

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "connector.h"
#include "error.h"
#include "object.h"

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

/*
 * Writing an object and publishing it under its key, atomically.
 *
 * The object is written into a nameless file (O_TMPFILE) where the
 * connector allows it (*nameless): no reader can open it before it is
 * complete, a writer that dies leaves nothing behind, and publishing it is
 * one link (linkat of the descriptor) instead of a create and a rename.
 * Otherwise it is written into a temporary entry PREFIX.tmp.PID.SEQ and
 * renamed onto the key.  *nameless is cleared, for the connector's later
 * puts, when the kernel turns out to lack either step.
 *
 * temp (size bytes) receives the temporary entry's name, "" while the file
 * has none; whoever gives up on a put unlinks a non-empty temp.
 */

/* Open the file for a new object, or -1 with errno. */
static inline int ps_conn_create_object(int dirfd, const char *prefix, atomic_bool *nameless, char *temp,
                                        size_t size, mode_t mode)
{
    temp[0] = '\0';
    if (atomic_load_explicit(nameless, memory_order_relaxed)) {
        int fd = openat(dirfd, ".", O_RDWR | O_TMPFILE | O_CLOEXEC, mode);
        if (fd >= 0 || (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL))
            return fd;
        atomic_store_explicit(nameless, false, memory_order_relaxed);
    }
    for (int attempt = 0;; attempt++) {
        ps_conn_temp_name(temp, size, prefix);
        int fd = openat(dirfd, temp, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
        if (fd >= 0 || errno != EEXIST || attempt > 8)
            return fd;
    }
}

/* Give the nameless file fd a temporary name.  AT_EMPTY_PATH links a
 * descriptor (recent kernels allow it to the process that opened the file);
 * older kernels refuse it (ENOENT) without CAP_DAC_READ_SEARCH, and
 * /proc/self/fd does the same through the file's magic link. */
static inline int ps_conn_link_temp(int dirfd, int fd, const char *prefix, char *temp, size_t size)
{
    for (int attempt = 0;; attempt++) {
        ps_conn_temp_name(temp, size, prefix);
        int rc = linkat(fd, "", dirfd, temp, AT_EMPTY_PATH);
        if (rc != 0 && errno == ENOENT) {
            char self[64];
            snprintf(self, sizeof self, "/proc/self/fd/%d", fd);
            rc = linkat(AT_FDCWD, self, dirfd, temp, AT_SYMLINK_FOLLOW);
        }
        if (rc == 0 || errno != EEXIST || attempt > 8) {
            if (rc != 0)
                temp[0] = '\0';
            return rc;
        }
    }
}

/*
 * Publish the complete object file fd as final, replacing any entry of that
 * name in one step: a nameless file is linked straight under final when the
 * name is free; when it is taken (an overwrite), or the kernel refuses to
 * link a descriptor, the file gets a temporary name and is renamed over
 * final as a named temporary is.  0, or -1 with errno.
 */
static inline int ps_conn_publish_object(int dirfd, int fd, const char *prefix, atomic_bool *nameless,
                                         char *temp, size_t size, const char *final)
{
    if (!temp[0]) {
        if (linkat(fd, "", dirfd, final, AT_EMPTY_PATH) == 0)
            return 0;
        if (errno == ENOENT) /* not this kernel: named temporaries from the next put on */
            atomic_store_explicit(nameless, false, memory_order_relaxed);
        else if (errno != EEXIST)
            return -1;
        if (ps_conn_link_temp(dirfd, fd, prefix, temp, size) != 0)
            return -1;
    }
    return renameat(dirfd, temp, dirfd, final);
}

/*
 * Expiry (leases, borrow records): the object's header holds it at
 * PS_OBJECT_EXPIRY_OFFSET, and the connector changes it in place with one
 * pwrite: readers that mapped the object see the new value, and no reader
 * ever sees a half-written object (only those 8 bytes change).
 */

/* Open name (a regular file) for reading its header: fd, or -1 with errno
 * (ENOENT for a missing entry, EINVAL for one that is not a regular file). */
static inline int ps_conn_open_entry(int dirfd, const char *name, int flags)
{
    int fd = openat(dirfd, name, flags | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    struct stat sb;
    if (fd >= 0 && (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode))) {
        close(fd);
        errno = EINVAL;
        return -1;
    }
    return fd;
}

/* Whether the object in fd has an expiry that has passed. */
static inline bool ps_conn_fd_expired(int fd)
{
    unsigned char head[PS_OBJECT_HEADER_SIZE];
    ssize_t n = pread(fd, head, sizeof head, 0);
    return n == (ssize_t)sizeof head && ps_object_expired(head, sizeof head);
}

/* exists: a regular file whose expiry (if any) has not passed.  0 with
 * *present set, or -1 with errno. */
static inline int ps_conn_entry_present(int dirfd, const char *name, bool *present)
{
    *present = false;
    struct stat sb;
    if (fstatat(dirfd, name, &sb, AT_SYMLINK_NOFOLLOW) != 0)
        return errno == ENOENT ? 0 : -1;
    if (!S_ISREG(sb.st_mode)) /* a symlink or FIFO planted under the name */
        return 0;
    int fd = ps_conn_open_entry(dirfd, name, O_RDONLY);
    if (fd < 0)
        return errno == ENOENT || errno == EINVAL ? 0 : -1;
    *present = !ps_conn_fd_expired(fd);
    close(fd);
    return 0;
}

/* Reclaim an expired object that fd still holds under name (the inode is
 * compared, so an object put under the name since is left alone). */
static inline void ps_conn_reclaim_expired(int dirfd, const char *name, int fd)
{
    struct stat a, b;
    if (fstat(fd, &a) == 0 && fstatat(dirfd, name, &b, AT_SYMLINK_NOFOLLOW) == 0 && a.st_dev == b.st_dev &&
        a.st_ino == b.st_ino)
        unlinkat(dirfd, name, 0);
}

/* set_expiry for file-like objects; where and key name the object in
 * messages. */
static inline ps_status ps_conn_set_expiry(int dirfd, const char *name, uint64_t expires_ms, const char *where,
                                           const char *key)
{
    int fd = ps_conn_open_entry(dirfd, name, O_RDWR);
    if (fd < 0) {
        if (errno == ENOENT || errno == EINVAL)
            return ps_error_set(PS_ERR_NOT_FOUND, "%s: no object under key '%s' to set an expiry on", where, key);
        return ps_error_errno(PS_ERR_IO, "%s: set expiry of '%s': cannot open it", where, key);
    }
    unsigned char head[PS_OBJECT_HEADER_SIZE];
    ssize_t n = pread(fd, head, sizeof head, 0);
    ps_status st = PS_OK;
    if (n != (ssize_t)sizeof head || memcmp(head, "PSOB", 4) != 0 || head[4] < 2) {
        st = ps_error_set(PS_ERR_BAD_DATA, "%s: object '%s' has no header that can hold an expiry", where, key);
    } else if (ps_object_expired(head, sizeof head)) {
        st = ps_error_set(PS_ERR_NOT_FOUND, "%s: object '%s' has expired already", where, key);
    } else {
        unsigned char field[8];
        ps_object_expiry_encode(expires_ms, field);
        if (pwrite(fd, field, sizeof field, PS_OBJECT_EXPIRY_OFFSET) != (ssize_t)sizeof field)
            st = ps_error_errno(PS_ERR_IO, "%s: set expiry of '%s': cannot write it", where, key);
    }
    close(fd);
    return st;
}

/* claim: unlink name; *claimed tells whether this call removed it.  An
 * expired object is removed but not claimed. */
static inline int ps_conn_claim(int dirfd, const char *name, bool *claimed)
{
    *claimed = false;
    int fd = ps_conn_open_entry(dirfd, name, O_RDONLY);
    bool expired = fd >= 0 && ps_conn_fd_expired(fd);
    if (fd >= 0)
        close(fd);
    if (unlinkat(dirfd, name, 0) != 0)
        return errno == ENOENT ? 0 : -1;
    *claimed = !expired;
    return 0;
}

#endif /* PS_CONNECTOR_FILE_IO_H */
