/*
 * connector_file.c — file:///abs/dir, one file per object in a directory,
 * possibly on a file system shared between nodes.
 *
 * Containment: the directory is opened once (O_DIRECTORY) and every object is
 * reached with openat/renameat/unlinkat relative to that descriptor, with
 * keys that cannot name anything but an entry of that directory (no '/', no
 * leading '.', see ps_conn_check_key) and O_NOFOLLOW, so neither a crafted
 * key nor a path swapped after open (a renamed parent, a symlink planted in
 * the directory) leads outside it.
 *
 * Atomic writes: a put writes a temporary file ".ps.tmp.PID.SEQ" created
 * with O_EXCL in the same directory, then renames it onto the key; on a local
 * file system it writes a nameless file (O_TMPFILE) and links it under the
 * key instead, or, when the key is taken, under a temporary name renamed onto
 * it (connector_file_io.h).  Readers see the old complete file or the new
 * complete one; a crashed writer leaves at most a dot-file that no key can
 * name.  With ?sync=1 the data is fsync'ed before it gets the key and the
 * directory after, so a put that returned survives a power loss; without it
 * the put is atomic but not durable.
 *
 * Reads copy the file into a 64-byte-aligned buffer rather than mapping it:
 * on a shared file system another node may replace or truncate the file, and
 * a read() reports that where a mapping would SIGBUS.
 */
#include "connector.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <linux/magic.h>

#include "connector_file_io.h"
#include "error.h"

#define FILE_DIR_MODE 0700  /* directories we create: the owner's only */
#define FILE_OBJECT_MODE 0600

typedef struct file_connector {
    ps_connector base;
    int dirfd;
    bool sync;   /* fsync data and directory on put */
    /* Objects are written nameless and linked in (see connector_file_io.h)
     * on local file systems only; see local_file_system. */
    atomic_bool nameless;
    char *dir;   /* for messages */
} file_connector;

static file_connector *as_file(ps_connector *conn) { return (file_connector *)conn; }

/* mkdir -p: create each missing component of the absolute path dir. */
static ps_status make_dirs(const char *dir)
{
    size_t len = strlen(dir);
    char *path = ps_malloc(len + 1);
    if (!path)
        return PS_ERR_NO_MEMORY;
    memcpy(path, dir, len + 1);
    ps_status st = PS_OK;
    for (size_t i = 1; i <= len && st == PS_OK; i++) {
        if (path[i] != '/' && path[i] != '\0')
            continue;
        if (path[i - 1] == '/')
            continue; /* "//" */
        char saved = path[i];
        path[i] = '\0';
        if (mkdir(path, FILE_DIR_MODE) != 0 && errno != EEXIST)
            st = ps_error_errno(PS_ERR_IO, "file store: cannot create directory %s", path);
        path[i] = saved;
    }
    free(path);
    return st;
}

/*
 * A nameless object file is linked under its key before it is closed, so an
 * error that a file system reports only at close (NFS and other network
 * file systems flush there) would come after the object became visible.
 * Local file systems report write errors at write or fsync, never at close;
 * on those, and only those, objects are written nameless.
 */
static bool local_file_system(int dirfd)
{
    struct statfs fs;
    if (fstatfs(dirfd, &fs) != 0)
        return false;
    switch ((unsigned long)fs.f_type) {
    case EXT4_SUPER_MAGIC: /* also ext2 and ext3 */
    case XFS_SUPER_MAGIC:
    case BTRFS_SUPER_MAGIC:
    case TMPFS_MAGIC:
    case F2FS_SUPER_MAGIC:
        return true;
    default:
        return false;
    }
}

static ps_status file_open_url(const ps_url *url, ps_connector **out)
{
    *out = NULL;
    if (url->user || url->password || url->port >= 0 ||
        (url->host[0] && strcmp(url->host, "localhost") != 0))
        return ps_error_set(PS_ERR_BAD_URL, "file URL '%s' names a host; expected file:///absolute/dir",
                            url->text);
    if (url->path[0] != '/')
        return ps_error_set(PS_ERR_BAD_URL, "file URL '%s' has no absolute directory; "
                            "expected file:///absolute/dir", url->text);
    bool sync = false;
    for (size_t i = 0; i < url->nparams; i++) {
        const ps_url_param *p = &url->params[i];
        if (strcmp(p->key, "sync") != 0)
            return ps_error_set(PS_ERR_BAD_URL, "file URL '%s': unknown parameter '%s' (known: sync)",
                                url->text, p->key);
        if (strcmp(p->value, "1") == 0)
            sync = true;
        else if (strcmp(p->value, "0") == 0)
            sync = false;
        else
            return ps_error_set(PS_ERR_BAD_URL, "file URL '%s': sync must be 0 or 1", url->text);
    }

    ps_status st = make_dirs(url->path);
    if (st != PS_OK)
        return st;
    file_connector *c = ps_calloc(1, sizeof *c);
    if (!c)
        return PS_ERR_NO_MEMORY;
    c->base.ops = &ps_file_connector;
    c->sync = sync;
    c->dir = ps_strdup(url->path);
    if (!c->dir) {
        free(c);
        return PS_ERR_NO_MEMORY;
    }
    c->dirfd = open(url->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (c->dirfd < 0) {
        st = ps_error_errno(PS_ERR_IO, "file store: cannot open directory %s", url->path);
        free(c->dir);
        free(c);
        return st;
    }
    atomic_init(&c->nameless, local_file_system(c->dirfd));
    *out = &c->base;
    return PS_OK;
}

/* Objects outlive the connector: consumers elsewhere read them later. */
static void file_close(ps_connector *conn)
{
    if (!conn)
        return;
    file_connector *c = as_file(conn);
    close(c->dirfd);
    free(c->dir);
    free(c);
}

static ps_status check_key(const file_connector *c, const char *key)
{
    char where[320];
    snprintf(where, sizeof where, "file store %.300s", c->dir);
    return ps_conn_check_key(key, where);
}

static ps_status file_put(ps_connector *conn, const char *key, const ps_iov *parts, size_t nparts)
{
    file_connector *c = as_file(conn);
    ps_status st = check_key(c, key);
    if (st != PS_OK)
        return st;
    if (nparts && !parts)
        return ps_error_set(PS_ERR_INVALID_ARGUMENT, "file store %s: put '%s' with no data", c->dir, key);

    char temp[64];
    int fd = ps_conn_create_object(c->dirfd, ".ps", &c->nameless, temp, sizeof temp, FILE_OBJECT_MODE);
    if (fd < 0)
        return ps_error_errno(PS_ERR_IO, "file store %s: put '%s': cannot create a file there", c->dir, key);
    if (ps_conn_write_parts(fd, parts, nparts) != 0 || (c->sync && fsync(fd) != 0)) {
        st = ps_error_errno(PS_ERR_IO, "file store %s: put '%s' (%zu bytes): cannot write %s",
                            c->dir, key, ps_iov_total(parts, nparts), temp[0] ? temp : "a new file");
        close(fd);
        if (temp[0])
            unlinkat(c->dirfd, temp, 0);
        return st;
    }
    /* close can report a deferred write error (NFS): a named temporary is
     * closed before it gets the key.  A nameless file (local file systems
     * only, which report no errors at close) must be linked first. */
    if (temp[0]) {
        int rc = close(fd);
        fd = -1;
        if (rc != 0) {
            st = ps_error_errno(PS_ERR_IO, "file store %s: put '%s': cannot write %s", c->dir, key, temp);
            unlinkat(c->dirfd, temp, 0);
            return st;
        }
    }
    if (ps_conn_publish_object(c->dirfd, fd, ".ps", &c->nameless, temp, sizeof temp, key) != 0) {
        st = ps_error_errno(PS_ERR_IO, "file store %s: put '%s': cannot give the new file that name",
                            c->dir, key);
        if (fd >= 0)
            close(fd);
        if (temp[0])
            unlinkat(c->dirfd, temp, 0);
        return st;
    }
    if (fd >= 0)
        close(fd);
    if (c->sync && fsync(c->dirfd) != 0)
        return ps_error_errno(PS_ERR_IO, "file store %s: put '%s': cannot sync the directory",
                              c->dir, key);
    return PS_OK;
}

/*
 * Read buffers come from malloc.  A fresh anonymous mapping per get (even
 * pre-faulted) pays the kernel's page zeroing and a fault per page on every
 * read, about four times the read itself at 1-10 MiB; malloc hands back the
 * memory a previous get released, already mapped and warm.  The buffer is
 * aligned by hand inside a block FILE_ALIGN - 1 bytes larger, not with
 * posix_memalign: an aligned request asks the heap for more than the block
 * it returns, so a released buffer never fits the next one of the same size
 * and the heap keeps growing into fresh pages.
 *
 * Beyond glibc's largest mmap threshold (32 MiB) malloc maps fresh memory
 * anyway, and there a pre-faulted mapping (one pass over the pages instead of
 * a fault per page as read() fills them) is the faster kind.
 */
#define FILE_ALIGN 64
#define FILE_MAP_MIN ((size_t)32 << 20)

typedef struct read_buffer {
    unsigned char *data; /* FILE_ALIGN-aligned */
    void *block;         /* what to free or unmap */
    size_t len;
} read_buffer;

static bool alloc_buffer(read_buffer *b, size_t len)
{
    b->len = len;
    if (len >= FILE_MAP_MIN) {
        void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
        b->block = b->data = p == MAP_FAILED ? NULL : p;
        return b->block != NULL;
    }
    b->block = malloc(len + FILE_ALIGN - 1);
    uintptr_t at = ((uintptr_t)b->block + FILE_ALIGN - 1) & ~(uintptr_t)(FILE_ALIGN - 1);
    b->data = (unsigned char *)at;
    return b->block != NULL;
}

static void free_buffer(read_buffer *b)
{
    if (b->len >= FILE_MAP_MIN)
        munmap(b->block, b->len);
    else
        free(b->block);
}

/* opaque is the malloc'ed block holding data. */
static void release_buffer(ps_blob *blob) { free(blob->opaque); }

/* opaque is the mapping's length; data its start. */
static void release_mapped_buffer(ps_blob *blob)
{
    munmap((void *)blob->data, (size_t)(uintptr_t)blob->opaque);
}

static ps_status file_get(ps_connector *conn, const char *key, ps_blob *out)
{
    file_connector *c = as_file(conn);
    memset(out, 0, sizeof *out);
    ps_status st = check_key(c, key);
    if (st != PS_OK)
        return st;
    /* O_NONBLOCK: a FIFO planted under the key must not hang the reader (it
     * is refused below); it changes nothing for a regular file. */
    int fd = openat(c->dirfd, key, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return ps_error_set(PS_ERR_NOT_FOUND, "file store %s: no object under key '%s'", c->dir, key);
        return ps_error_errno(PS_ERR_IO, "file store %s: get '%s': cannot open", c->dir, key);
    }
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        st = ps_error_errno(PS_ERR_IO, "file store %s: get '%s': cannot stat", c->dir, key);
        close(fd);
        return st;
    }
    if (!S_ISREG(sb.st_mode)) {
        close(fd);
        return ps_error_set(PS_ERR_IO, "file store %s: get '%s': not a regular file", c->dir, key);
    }
    size_t len = (size_t)sb.st_size;
    read_buffer buf;
    if (!alloc_buffer(&buf, len)) {
        close(fd);
        return ps_error_set(PS_ERR_NO_MEMORY, "file store %s: get '%s': out of memory for %zu bytes",
                            c->dir, key, len);
    }
    size_t got = 0;
    while (got < len) {
        ssize_t r = read(fd, buf.data + got, len - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            st = ps_error_errno(PS_ERR_IO, "file store %s: get '%s': read failed", c->dir, key);
            break;
        }
        if (r == 0) {
            /* Files are never modified in place by this connector: a short
             * read means someone else truncated it. */
            st = ps_error_set(PS_ERR_IO, "file store %s: get '%s': file shrank from %zu to %zu bytes "
                              "while being read", c->dir, key, len, got);
            break;
        }
        got += (size_t)r;
    }
    if (st == PS_OK && ps_object_expired(buf.data, len)) {
        ps_conn_reclaim_expired(c->dirfd, key, fd);
        st = ps_error_set(PS_ERR_NOT_FOUND, "file store %s: the object under key '%s' has expired", c->dir, key);
    }
    close(fd);
    if (st != PS_OK) {
        free_buffer(&buf);
        return st;
    }
    out->data = buf.data;
    out->len = len;
    out->release = len >= FILE_MAP_MIN ? release_mapped_buffer : release_buffer;
    out->opaque = len >= FILE_MAP_MIN ? (void *)(uintptr_t)len : buf.block;
    return PS_OK;
}

static ps_status file_exists(ps_connector *conn, const char *key, bool *exists_out)
{
    file_connector *c = as_file(conn);
    *exists_out = false;
    ps_status st = check_key(c, key);
    if (st != PS_OK)
        return st;
    if (ps_conn_entry_present(c->dirfd, key, exists_out) != 0)
        return ps_error_errno(PS_ERR_IO, "file store %s: exists '%s': cannot open", c->dir, key);
    return PS_OK;
}

static ps_status file_evict(ps_connector *conn, const char *key)
{
    file_connector *c = as_file(conn);
    ps_status st = check_key(c, key);
    if (st != PS_OK)
        return st;
    if (unlinkat(c->dirfd, key, 0) != 0 && errno != ENOENT)
        return ps_error_errno(PS_ERR_IO, "file store %s: evict '%s': cannot remove", c->dir, key);
    return PS_OK;
}

static ps_status file_claim(ps_connector *conn, const char *key, bool *claimed_out)
{
    file_connector *c = as_file(conn);
    ps_status st = check_key(c, key);
    if (st != PS_OK)
        return st;
    if (ps_conn_claim(c->dirfd, key, claimed_out) != 0)
        return ps_error_errno(PS_ERR_IO, "file store %s: claim '%s': cannot remove", c->dir, key);
    return PS_OK;
}

static ps_status file_set_expiry(ps_connector *conn, const char *key, uint64_t expires_ms)
{
    file_connector *c = as_file(conn);
    ps_status st = check_key(c, key);
    if (st != PS_OK)
        return st;
    char where[320];
    snprintf(where, sizeof where, "file store %.300s", c->dir);
    return ps_conn_set_expiry(c->dirfd, key, expires_ms, where, key);
}

const ps_connector_ops ps_file_connector = {
    .scheme = "file",
    .open = file_open_url,
    .close = file_close,
    .put = file_put,
    .get = file_get,
    .exists = file_exists,
    .evict = file_evict,
    /* No round trip to save: the store loops over the single forms. */
    .put_batch = NULL,
    .get_batch = NULL,
    .exists_batch = NULL,
    .evict_batch = NULL,
    .claim = file_claim,
    .set_expiry = file_set_expiry,
};
