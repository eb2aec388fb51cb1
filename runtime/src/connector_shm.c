/*
 * connector_shm.c — shm://NAME, one POSIX shared-memory segment per object.
 *
 * On Linux a POSIX shared-memory segment is a file in the tmpfs mounted at
 * /dev/shm (glibc's shm_open is an open() there), so this connector works on
 * that directory through one O_DIRECTORY descriptor: the same segments that
 * shm_open("/ps-NAME+key") sees, plus rename, which the shm_* API lacks.
 *
 * Naming: segment "ps-NAME+KEY", NAME validated at open ([A-Za-z0-9._-],
 * never '+'), KEY escaped injectively ([A-Za-z0-9._:-] kept, any other byte
 * as %XX) or, when the escape is long, "#" and the XXH3-128 of the key, so
 * every name is a valid file name below NAME_MAX.
 *
 * Atomic publish: a put writes a nameless segment (O_TMPFILE) and links it
 * under the final name; if that name is taken, it links it under a temporary
 * name "ps-NAME+.tmp.PID.SEQ" ('.' never starts an escaped key) and renames
 * that onto the final name.  Kernels without O_TMPFILE get the temporary
 * name from the start.  A reader opens either the old complete segment or
 * the new complete one, never a half-written one, and there is no moment
 * where the key is missing.  A reader that mapped the old segment keeps its
 * pages: rename only drops the name.
 *
 * get maps the segment read-only and hands out the mapping (no copy, no
 * MAP_POPULATE: pages fault in as the reader touches them).  Segments are
 * complete before they get their name and are never truncated afterwards, so
 * a mapping cannot SIGBUS; a full /dev/shm makes the writer's write() fail
 * with ENOSPC, reported as PS_ERR_IO.
 *
 * Cleanup: close unlinks the segments this connector created that still
 * hold what it wrote (same inode), never segments other processes put (nor,
 * in a forked child that inherited the connector, the parent's).
 */
#include "connector.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <xxhash.h>

#include "connector_dir_list.h"
#include "connector_file_io.h"
#include "error.h"
#include "hash.h"
#include "key.h"
#include "object.h"
#include "shm_arena.h"

#define SHM_DIR "/dev/shm"
#define SHM_NAME_MAX 64       /* bytes of the store NAME */
#define SHM_ESCAPED_KEY_MAX 160 /* longer escaped keys are hashed */
/* "ps-" NAME "+" key-part, NUL: well below NAME_MAX (255). */
#define SHM_SEGMENT_MAX (3 + SHM_NAME_MAX + 1 + SHM_ESCAPED_KEY_MAX + 1)

/* A segment this connector created: its name and identity, so close can
 * tell it from a segment another process put under the same key since. */
typedef struct owned_segment {
    struct owned_segment *next;
    dev_t dev;
    ino_t ino;
    pid_t pid; /* the process that wrote it: a forked child inherits the
                * table but did not create these segments */
    char name[];
} owned_segment;

typedef struct shm_connector {
    ps_connector base;
    int dirfd;            /* /dev/shm */
    char name[SHM_NAME_MAX + 1];
    char prefix[3 + SHM_NAME_MAX + 2]; /* "ps-NAME+" */
    char where[SHM_NAME_MAX + 16];     /* "shm store 'NAME'", for messages */
    /* Segments are written nameless (O_TMPFILE) and linked in by descriptor
     * until the kernel says it cannot (then: named temporaries, renamed). */
    atomic_bool nameless;
    /* Owned segments, a chained hash table.  The lock also covers each
     * publish (rename) and evict, so the table always records the inode the
     * name held when this connector last wrote it. */
    pthread_mutex_t lock;
    owned_segment **buckets;
    size_t nbuckets;
    size_t nowned;
    /* The store's arena (shm://NAME?arena=SIZE), or NULL: every object in
     * its own segment.  Objects that do not fit go to segments anyway. */
    shm_arena *arena;
    char arena_name[3 + SHM_NAME_MAX + 8]; /* "ps-NAME+.arena" */
} shm_connector;

static shm_connector *as_shm(ps_connector *conn) { return (shm_connector *)conn; }

/* ------------------------------------------------------------------ names */

static bool name_char_ok(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '-' || c == '.';
}

static ps_status check_store_name(const char *name, const char *url)
{
    size_t len = strlen(name);
    if (len == 0)
        return ps_error_set(PS_ERR_BAD_URL, "shm URL '%s' has no store name (expected shm://NAME)", url);
    if (len > SHM_NAME_MAX)
        return ps_error_set(PS_ERR_BAD_URL, "shm URL '%s': store name is longer than %d bytes",
                            url, SHM_NAME_MAX);
    if (name[0] == '.')
        return ps_error_set(PS_ERR_BAD_URL, "shm URL '%s': store name starts with '.'", url);
    for (size_t i = 0; i < len; i++)
        if (!name_char_ok((unsigned char)name[i]))
            return ps_error_set(PS_ERR_BAD_URL,
                                "shm URL '%s': store name may hold only letters, digits, '.', '_' and '-'",
                                url);
    return PS_OK;
}

/* The segment name of key: prefix + escaped key, or prefix + "#" + hash. */
static void segment_name(const shm_connector *c, const char *key, char out[SHM_SEGMENT_MAX])
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = strlen(c->prefix);
    memcpy(out, c->prefix, o);
    size_t start = o;
    bool fits = true;
    for (const unsigned char *p = (const unsigned char *)key; *p; p++) {
        bool raw = name_char_ok(*p) || *p == ':';
        size_t need = raw ? 1 : 3;
        if (o - start + need > SHM_ESCAPED_KEY_MAX) {
            fits = false;
            break;
        }
        if (raw) {
            out[o++] = (char)*p;
        } else {
            out[o++] = '%';
            out[o++] = hex[*p >> 4];
            out[o++] = hex[*p & 15];
        }
    }
    if (!fits) {
        XXH128_hash_t h = XXH3_128bits(key, strlen(key));
        o = start;
        o += (size_t)snprintf(out + o, SHM_SEGMENT_MAX - o, "#%016llx%016llx",
                              (unsigned long long)h.high64, (unsigned long long)h.low64);
    }
    out[o] = '\0';
}

/* The segment of a key, once the key is known to be one we can hold. */
static ps_status segment_for_key(const shm_connector *c, const char *key, char out[SHM_SEGMENT_MAX])
{
    ps_status st = ps_conn_check_key(key, c->where);
    if (st == PS_OK)
        segment_name(c, key, out);
    return st;
}

/* ---------------------------------------------------- owned-segment table */

static size_t bucket_of(const shm_connector *c, const char *name)
{
    return (size_t)XXH3_64bits(name, strlen(name)) & (c->nbuckets - 1);
}

static owned_segment **find_owned(shm_connector *c, const char *name)
{
    owned_segment **link = &c->buckets[bucket_of(c, name)];
    while (*link && strcmp((*link)->name, name) != 0)
        link = &(*link)->next;
    return link;
}

static void grow_table(shm_connector *c)
{
    size_t n = c->nbuckets * 2;
    owned_segment **b = calloc(n, sizeof *b);
    if (!b)
        return; /* keep the longer chains; still correct */
    for (size_t i = 0; i < c->nbuckets; i++) {
        owned_segment *s = c->buckets[i];
        while (s) {
            owned_segment *next = s->next;
            size_t j = (size_t)XXH3_64bits(s->name, strlen(s->name)) & (n - 1);
            s->next = b[j];
            b[j] = s;
            s = next;
        }
    }
    free(c->buckets);
    c->buckets = b;
    c->nbuckets = n;
}

/* Record (or update) name as created by us with this identity.  Called with
 * the lock held.  Failure to allocate only means close will not unlink the
 * segment, which evict still can, so it is not an error for the put. */
static void remember_owned(shm_connector *c, const char *name, const struct stat *st)
{
    owned_segment **link = find_owned(c, name);
    if (!*link) {
        size_t len = strlen(name) + 1;
        owned_segment *s = malloc(sizeof *s + len);
        if (!s)
            return;
        memcpy(s->name, name, len);
        s->next = NULL;
        *link = s;
        if (++c->nowned > c->nbuckets * 2)
            grow_table(c);
        link = find_owned(c, name);
    }
    (*link)->dev = st->st_dev;
    (*link)->ino = st->st_ino;
    (*link)->pid = getpid();
}

static void forget_owned(shm_connector *c, const char *name)
{
    owned_segment **link = find_owned(c, name);
    if (*link) {
        owned_segment *s = *link;
        *link = s->next;
        free(s);
        c->nowned--;
    }
}

/* A size: decimal bytes, or with a K, M, G or T suffix (powers of 1024). */
static bool parse_size(const char *text, uint64_t *out)
{
    if (!text || !*text)
        return false;
    uint64_t n = 0;
    const char *p = text;
    for (; *p >= '0' && *p <= '9'; p++) {
        if (n > UINT64_MAX / 10 - 9)
            return false;
        n = n * 10 + (uint64_t)(*p - '0');
    }
    if (p == text)
        return false;
    static const char units[] = "KMGT";
    const char *u = *p ? strchr(units, *p & ~0x20) : NULL;
    if (*p && (!u || p[1]))
        return false;
    int shift = u ? 10 * (int)(u - units + 1) : 0;
    if (shift && n > ((uint64_t)1 << 40) >> shift)
        return false;
    n <<= shift;
    if (n > (uint64_t)1 << 40)
        return false;
    *out = n;
    return true;
}

/* ------------------------------------------------------------------- ops */

static ps_status shm_open_url(const ps_url *url, ps_connector **out)
{
    *out = NULL;
    if (url->user || url->password || url->port >= 0)
        return ps_error_set(PS_ERR_BAD_URL, "shm URL '%s' takes no user, password or port "
                            "(expected shm://NAME)", url->text);
    if (url->path[0])
        return ps_error_set(PS_ERR_BAD_URL, "shm URL '%s' takes no path (expected shm://NAME)",
                            url->text);
    uint64_t arena_size = 0;
    for (size_t i = 0; i < url->nparams; i++) {
        if (strcmp(url->params[i].key, "arena") != 0)
            return ps_error_set(PS_ERR_BAD_URL, "shm URL '%s': unknown parameter '%s'",
                                url->text, url->params[i].key);
        if (!parse_size(url->params[i].value, &arena_size))
            return ps_error_set(PS_ERR_BAD_URL, "shm URL '%s': arena size '%s' is not a size "
                                "(bytes, or a number with K, M, G or T; at most 1T)", url->text,
                                url->params[i].value ? url->params[i].value : "");
    }
    ps_status st = check_store_name(url->host, url->text);
    if (st != PS_OK)
        return st;

    shm_connector *c = ps_calloc(1, sizeof *c);
    if (!c)
        return PS_ERR_NO_MEMORY;
    c->base.ops = &ps_shm_connector;
    snprintf(c->name, sizeof c->name, "%s", url->host);
    snprintf(c->prefix, sizeof c->prefix, "ps-%s+", url->host);
    snprintf(c->where, sizeof c->where, "shm store '%s'", url->host);
    c->nbuckets = 64;
    c->buckets = calloc(c->nbuckets, sizeof *c->buckets);
    if (!c->buckets) {
        free(c);
        return ps_error_set(PS_ERR_NO_MEMORY, "out of memory opening shm store '%s'", url->host);
    }
    c->dirfd = open(SHM_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (c->dirfd < 0) {
        st = ps_error_errno(PS_ERR_IO, "shm store '%s': cannot open %s (no POSIX shared memory?)",
                            url->host, SHM_DIR);
        free(c->buckets);
        free(c);
        return st;
    }
    pthread_mutex_init(&c->lock, NULL);
    atomic_init(&c->nameless, true);
    snprintf(c->arena_name, sizeof c->arena_name, "%s.arena", c->prefix);
    if (arena_size && (st = shm_arena_open(c->dirfd, c->arena_name, arena_size, c->where, &c->arena)) != PS_OK) {
        close(c->dirfd);
        pthread_mutex_destroy(&c->lock);
        free(c->buckets);
        free(c);
        return st;
    }
    *out = &c->base;
    return PS_OK;
}

/* Unlink every segment we created that still holds what we wrote.  Another
 * process that replaced one since owns the new segment; we leave it.  (A
 * replacement landing between our fstat and unlink would be lost: put never
 * races with close of the same store in one process, and across processes
 * overwriting a key the producer is closing is a misuse; see shm.md.) */
static void shm_close(ps_connector *conn)
{
    if (!conn)
        return;
    shm_connector *c = as_shm(conn);
    shm_arena_close(c->arena);
    pid_t self = getpid();
    for (size_t i = 0; i < c->nbuckets; i++) {
        owned_segment *s = c->buckets[i];
        while (s) {
            owned_segment *next = s->next;
            struct stat st;
            if (s->pid == self && fstatat(c->dirfd, s->name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
                st.st_dev == s->dev && st.st_ino == s->ino)
                unlinkat(c->dirfd, s->name, 0);
            free(s);
            s = next;
        }
    }
    free(c->buckets);
    close(c->dirfd);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

/* A segment that may hold an older object of a key the arena now takes:
 * its name is worked out only if the store ever used segments. */
typedef struct stale_segment {
    shm_connector *c;
    const char *key;
    const char *name; /* NULL: not worked out yet */
} stale_segment;

static void remove_stale_segment(void *ctx)
{
    stale_segment *s = ctx;
    char name[SHM_SEGMENT_MAX];
    if (!s->name) {
        segment_name(s->c, s->key, name);
        s->name = name;
    }
    unlinkat(s->c->dirfd, s->name, 0);
    s->name = NULL;
}

static ps_status segment_put(shm_connector *c, const char *key, const ps_iov *parts, size_t nparts);

static ps_status shm_put(ps_connector *conn, const char *key, const ps_iov *parts, size_t nparts)
{
    shm_connector *c = as_shm(conn);
    const char *where = c->where;
    ps_status st = ps_conn_check_key(key, where);
    if (st != PS_OK)
        return st;
    if (nparts && !parts)
        return ps_error_set(PS_ERR_INVALID_ARGUMENT, "%s: put '%s' with no data", where, key);

    if (c->arena) {
        bool placed;
        stale_segment stale = {c, key, NULL};
        st = shm_arena_put(c->arena, key, parts, nparts, remove_stale_segment, &stale, &placed);
        if (st != PS_OK || placed)
            return st;
    }
    return segment_put(c, key, parts, nparts);
}

/* A put into a segment of its own (no arena, or the arena had no room). */
static ps_status segment_put(shm_connector *c, const char *key, const ps_iov *parts, size_t nparts)
{
    const char *where = c->where;
    ps_status st;
    char final[SHM_SEGMENT_MAX], temp[SHM_SEGMENT_MAX + 48];
    segment_name(c, key, final);
    int fd = ps_conn_create_object(c->dirfd, c->prefix, &c->nameless, temp, sizeof temp, 0600);
    if (fd < 0)
        return ps_error_errno(PS_ERR_IO, "%s: put '%s': cannot create a segment in %s",
                              where, key, SHM_DIR);
    struct stat sb;
    if (ps_conn_write_parts(fd, parts, nparts) != 0 || fstat(fd, &sb) != 0) {
        st = ps_error_errno(PS_ERR_IO, "%s: put '%s' (%zu bytes): cannot write a segment in %s",
                            where, key, ps_iov_total(parts, nparts), SHM_DIR);
        close(fd);
        if (temp[0])
            unlinkat(c->dirfd, temp, 0);
        return st;
    }

    if (c->arena && (st = shm_arena_lock_elsewhere(c->arena)) != PS_OK) {
        close(fd);
        if (temp[0])
            unlinkat(c->dirfd, temp, 0);
        return st;
    }
    pthread_mutex_lock(&c->lock);
    if (ps_conn_publish_object(c->dirfd, fd, c->prefix, &c->nameless, temp, sizeof temp, final) != 0) {
        pthread_mutex_unlock(&c->lock);
        if (c->arena)
            shm_arena_unlock_elsewhere(c->arena, key, false);
        st = ps_error_errno(PS_ERR_IO, "%s: put '%s': cannot publish segment %s/%s",
                            where, key, SHM_DIR, final);
        close(fd);
        if (temp[0])
            unlinkat(c->dirfd, temp, 0);
        return st;
    }
    remember_owned(c, final, &sb);
    pthread_mutex_unlock(&c->lock);
    if (c->arena)
        shm_arena_unlock_elsewhere(c->arena, key, true);
    close(fd);
    return PS_OK;
}

/* Plain data with its hash still to take (the store's put_hashing): into
 * the arena, the payload is copied and hashed in one pass
 * (shm_arena_put_hashing); elsewhere the hash comes first and the object
 * goes through put. */
static ps_status shm_put_hashing(ps_connector *conn, const char *key, unsigned char *header, const void *payload,
                                 size_t len, uint64_t *hash_out)
{
    shm_connector *c = as_shm(conn);
    ps_status st = ps_conn_check_key(key, c->where);
    if (st != PS_OK)
        return st;
    if (c->arena) {
        stale_segment stale = {c, key, NULL};
        bool placed;
        st = shm_arena_put_hashing(c->arena, key, header, payload, len, remove_stale_segment, &stale, &placed,
                                   hash_out);
        if (st != PS_OK || placed)
            return st;
    }
    *hash_out = ps_payload_hash(payload, len);
    ps_object_hash_set(header, *hash_out);
    ps_iov parts[2] = {{header, PS_OBJECT_HEADER_SIZE}, {payload, len}};
    return segment_put(c, key, parts, 2); /* the arena was tried above */
}

/* A zero-length object has no mapping to hand out (mmap refuses length 0). */
static const _Alignas(64) unsigned char empty_object[64];

static void release_nothing(ps_blob *blob) { (void)blob; }

/* opaque is the mapping's length; data its start. */
static void release_mapping(ps_blob *blob)
{
    munmap((void *)blob->data, (size_t)(uintptr_t)blob->opaque);
}

static ps_status shm_get(ps_connector *conn, const char *key, ps_blob *out)
{
    shm_connector *c = as_shm(conn);
    memset(out, 0, sizeof *out);
    const char *where = c->where;
    char name[SHM_SEGMENT_MAX];
    ps_status st = segment_for_key(c, key, name);
    if (st != PS_OK)
        return st;
    if (c->arena) {
        bool found;
        st = shm_arena_get(c->arena, key, out, &found);
        if (st != PS_OK || found)
            return st;
    }
    /* O_NONBLOCK: a FIFO planted under the name must not hang the reader
     * (it is refused below); it changes nothing for a regular file. */
    int fd = openat(c->dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return ps_error_set(PS_ERR_NOT_FOUND, "%s: no object under key '%s' (never put, evicted, or "
                                "gone with the store that put it: shm objects last until their producer "
                                "closes)", where, key);
        return ps_error_errno(PS_ERR_IO, "%s: get '%s': cannot open segment %s/%s",
                              where, key, SHM_DIR, name);
    }
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        st = ps_error_errno(PS_ERR_IO, "%s: get '%s': cannot stat segment", where, key);
        close(fd);
        return st;
    }
    if (!S_ISREG(sb.st_mode)) {
        close(fd);
        return ps_error_set(PS_ERR_IO, "%s: get '%s': %s/%s is not a shared-memory segment",
                            where, key, SHM_DIR, name);
    }
    if (sb.st_size == 0) {
        close(fd);
        out->data = empty_object;
        out->len = 0;
        out->release = release_nothing;
        return PS_OK;
    }
    size_t len = (size_t)sb.st_size;
    void *map = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
    if (map == MAP_FAILED) {
        st = ps_error_errno(PS_ERR_IO, "%s: get '%s': cannot map %zu bytes", where, key, len);
        close(fd);
        return st;
    }
    if (ps_object_expired(map, len)) {
        ps_conn_reclaim_expired(c->dirfd, name, fd);
        close(fd);
        munmap(map, len);
        return ps_error_set(PS_ERR_NOT_FOUND, "%s: the object under key '%s' has expired", where, key);
    }
    close(fd); /* the mapping keeps the segment alive */
    out->data = map;
    out->len = len;
    out->release = release_mapping;
    out->opaque = (void *)(uintptr_t)len;
    return PS_OK;
}

static ps_status shm_exists(ps_connector *conn, const char *key, bool *exists_out)
{
    shm_connector *c = as_shm(conn);
    *exists_out = false;
    const char *where = c->where;
    char name[SHM_SEGMENT_MAX];
    ps_status st = segment_for_key(c, key, name);
    if (st != PS_OK)
        return st;
    if (c->arena && ((st = shm_arena_exists(c->arena, key, exists_out)) != PS_OK || *exists_out))
        return st;
    if (ps_conn_entry_present(c->dirfd, name, exists_out) != 0)
        return ps_error_errno(PS_ERR_IO, "%s: exists '%s': cannot open segment %s/%s",
                              where, key, SHM_DIR, name);
    return PS_OK;
}

static ps_status shm_evict(ps_connector *conn, const char *key)
{
    shm_connector *c = as_shm(conn);
    const char *where = c->where;
    ps_status st = ps_conn_check_key(key, where);
    if (st != PS_OK)
        return st;
    bool removed = false;
    if (c->arena && (st = shm_arena_remove(c->arena, key, &removed)) != PS_OK)
        return st;
    if (removed && !shm_arena_has_elsewhere(c->arena))
        return PS_OK; /* no object of this store was ever put in a segment */
    char name[SHM_SEGMENT_MAX];
    segment_name(c, key, name); /* only now: the arena's evicts need no segment name */
    pthread_mutex_lock(&c->lock);
    int rc = unlinkat(c->dirfd, name, 0);
    int err = errno;
    forget_owned(c, name);
    pthread_mutex_unlock(&c->lock);
    if (rc != 0 && err != ENOENT) {
        errno = err;
        return ps_error_errno(PS_ERR_IO, "%s: evict '%s': cannot unlink segment %s/%s",
                              where, key, SHM_DIR, name);
    }
    return PS_OK;
}

static ps_status shm_claim(ps_connector *conn, const char *key, bool *claimed_out)
{
    shm_connector *c = as_shm(conn);
    char name[SHM_SEGMENT_MAX];
    ps_status st = segment_for_key(c, key, name);
    if (st != PS_OK)
        return st;
    if (c->arena && ((st = shm_arena_remove(c->arena, key, claimed_out)) != PS_OK || *claimed_out))
        return st;
    pthread_mutex_lock(&c->lock);
    int rc = ps_conn_claim(c->dirfd, name, claimed_out);
    int err = errno;
    forget_owned(c, name);
    pthread_mutex_unlock(&c->lock);
    if (rc != 0) {
        errno = err;
        return ps_error_errno(PS_ERR_IO, "%s: claim '%s': cannot unlink segment %s/%s", c->where, key,
                              SHM_DIR, name);
    }
    return PS_OK;
}

static ps_status shm_set_expiry(ps_connector *conn, const char *key, uint64_t expires_ms)
{
    shm_connector *c = as_shm(conn);
    char name[SHM_SEGMENT_MAX];
    ps_status st = segment_for_key(c, key, name);
    bool found = false;
    if (st == PS_OK && c->arena)
        st = shm_arena_set_expiry(c->arena, key, expires_ms, &found);
    return st != PS_OK || found ? st : ps_conn_set_expiry(c->dirfd, name, expires_ms, c->where, key);
}

static void shm_disown(ps_connector *conn, const char *key)
{
    shm_connector *c = as_shm(conn);
    char name[SHM_SEGMENT_MAX];
    if (segment_for_key(c, key, name) != PS_OK)
        return;
    if (c->arena)
        shm_arena_disown(c->arena, key);
    pthread_mutex_lock(&c->lock);
    forget_owned(c, name);
    pthread_mutex_unlock(&c->lock);
}

/* ------------------------------------------------------------- listing */

/* The key of an escaped segment name (the inverse of segment_name). */
static bool shm_key_of(const char *rest, char key[PS_KEY_MAX])
{
    size_t o = 0;
    for (const char *p = rest; *p; p++) {
        int c = (unsigned char)*p;
        if (c == '%') {
            int h = ps_hex_digit((unsigned char)p[1]), l = h >= 0 ? ps_hex_digit((unsigned char)p[2]) : -1;
            if (l < 0)
                return false;
            c = h * 16 + l;
            p += 2;
        }
        if (o + 1 >= PS_KEY_MAX)
            return false;
        key[o++] = (char)c;
    }
    key[o] = '\0';
    return ps_key_valid(key);
}

static void shm_layout(const shm_connector *c, ps_dir_layout *out)
{
    *out = (ps_dir_layout){c->prefix, ".tmp.", shm_key_of, true, c->where};
}

static ps_status shm_list(ps_connector *conn, ps_list_fn fn, void *ctx)
{
    shm_connector *c = as_shm(conn);
    if (c->arena) {
        /* Named "ps-NAME+.arena/KEY", a name no segment can have;
         * ps-store removes keyed entries by their key. */
        char prefix[sizeof c->arena_name + 1];
        snprintf(prefix, sizeof prefix, "%s/", c->arena_name);
        bool stopped = false;
        ps_status st = shm_arena_list_entries(c->arena, prefix, fn, ctx, &stopped);
        if (st != PS_OK || stopped)
            return st;
    }
    ps_dir_layout layout;
    shm_layout(c, &layout);
    return ps_dir_list(c->dirfd, &layout, fn, ctx);
}

static ps_status shm_remove_entry(ps_connector *conn, const char *entry)
{
    shm_connector *c = as_shm(conn);
    if (entry && strcmp(entry, c->arena_name) == 0)
        return ps_error_set(PS_ERR_INVALID_ARGUMENT, "%s: %s is the store's arena, not an entry (it is removed "
                            "when the last process using it closes the store)", c->where, entry);
    ps_dir_layout layout;
    shm_layout(as_shm(conn), &layout);
    return ps_dir_remove_entry(as_shm(conn)->dirfd, &layout, entry);
}

/* ---------------------------------------------------- set-once objects */

/* As shm_put, but the segment gets its name only if the name is free. */
static ps_status shm_put_new(ps_connector *conn, const char *key, const ps_iov *parts, size_t nparts)
{
    shm_connector *c = as_shm(conn);
    char final[SHM_SEGMENT_MAX], temp[SHM_SEGMENT_MAX + 48];
    ps_status st = segment_for_key(c, key, final);
    if (st != PS_OK)
        return st;
    if (nparts && !parts)
        return ps_error_set(PS_ERR_INVALID_ARGUMENT, "%s: put '%s' with no data", c->where, key);
    int fd = ps_conn_create_object(c->dirfd, c->prefix, &c->nameless, temp, sizeof temp, 0600);
    if (fd < 0)
        return ps_error_errno(PS_ERR_IO, "%s: put '%s': cannot create a segment in %s", c->where, key,
                              SHM_DIR);
    struct stat sb;
    int rc = ps_conn_write_parts(fd, parts, nparts) == 0 && fstat(fd, &sb) == 0 ? 0 : -1;
    if (rc != 0) {
        st = ps_error_errno(PS_ERR_IO, "%s: put '%s' (%zu bytes): cannot write a segment in %s", c->where,
                            key, ps_iov_total(parts, nparts), SHM_DIR);
    } else if (c->arena && (st = shm_arena_lock_elsewhere(c->arena)) != PS_OK) {
        /* st says why */
    } else {
        /* Set-once objects stay in segments: their waiters wake on the
         * segment's name appearing.  One already in the arena counts. */
        bool taken = c->arena && shm_arena_holds(c->arena, key);
        pthread_mutex_lock(&c->lock);
        if (taken) {
            rc = -1;
            errno = EEXIST;
        } else {
            rc = ps_conn_publish_new(c->dirfd, fd, c->prefix, &c->nameless, temp, sizeof temp, final);
        }
        if (rc == 0)
            remember_owned(c, final, &sb);
        int err = errno;
        pthread_mutex_unlock(&c->lock);
        if (c->arena)
            shm_arena_unlock_elsewhere(c->arena, key, false);
        errno = err;
        if (rc != 0 && errno == EEXIST)
            st = ps_error_set(PS_ERR_EXISTS, "%s: an object is already under key '%s'", c->where, key);
        else if (rc != 0)
            st = ps_error_errno(PS_ERR_IO, "%s: put '%s': cannot publish segment %s/%s", c->where, key,
                                SHM_DIR, final);
    }
    close(fd);
    if (temp[0])
        unlinkat(c->dirfd, temp, 0);
    return st;
}

/* /dev/shm is this node's tmpfs: every new segment raises an inotify event,
 * so the wait needs no polling. */
static ps_status shm_wait_get(ps_connector *conn, const char *key, long timeout_ms, ps_blob *out)
{
    shm_connector *c = as_shm(conn);
    memset(out, 0, sizeof *out);
    char name[SHM_SEGMENT_MAX];
    ps_status st = segment_for_key(c, key, name);
    if (st != PS_OK)
        return st;
    if (c->arena) { /* a plain put of key may have gone to the arena */
        bool found;
        st = shm_arena_get(c->arena, key, out, &found);
        if (st != PS_OK || found)
            return st;
    }
    int rc = ps_conn_wait_entry(c->dirfd, name, timeout_ms, 0);
    if (rc < 0)
        return ps_error_errno(PS_ERR_IO, "%s: waiting for '%s'", c->where, key);
    if (rc > 0)
        return ps_error_set(PS_ERR_TIMEOUT, "%s: no object came under key '%s' within %ld ms", c->where,
                            key, timeout_ms);
    return shm_get(conn, key, out);
}

const ps_connector_ops ps_shm_connector = {
    .scheme = "shm",
    .open = shm_open_url,
    .close = shm_close,
    .put = shm_put,
    .put_hashing = shm_put_hashing,
    .get = shm_get,
    .exists = shm_exists,
    .evict = shm_evict,
    /* Each operation is a few system calls with no round trip to batch
     * away: the store's loop over the single forms is as fast. */
    .put_batch = NULL,
    .get_batch = NULL,
    .exists_batch = NULL,
    .evict_batch = NULL,
    .claim = shm_claim,
    .set_expiry = shm_set_expiry,
    .disown = shm_disown,
    .list = shm_list,
    .remove_entry = shm_remove_entry,
    .put_new = shm_put_new,
    .wait_get = shm_wait_get,
    .evict_new = NULL,
};
