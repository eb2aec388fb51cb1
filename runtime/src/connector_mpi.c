/*
 * connector_mpi.c — mpi://[NAME][?timeout=MS], objects that stay with the
 * rank that put them and move rank to rank inside one MPI job.
 *
 * Design (docs/connectors/mpi.md says why):
 *  - A put is local: the bytes go into this rank's share of the space NAME,
 *    held by a local:// connector.  Its entries are reference counted, so an
 *    object evicted while a fetch is sending it is freed once the send is
 *    done, never under it.
 *  - Keys the store makes here name the job and the owning rank:
 *    "mpi.<job id, 16 hex>.<rank>.<128 random bits>".  Any rank sends one
 *    request to the owner for them.  A key the caller chose names no rank;
 *    it is looked for here first, then at every other rank, lowest first:
 *    in place in the arenas of same-node ranks, and through the service
 *    threads of the others (route_op).
 *  - Each rank runs a service thread that answers requests from the others
 *    (get, exists, evict) on a duplicate of the ps_mpi_init communicator.
 *    Replies are nonblocking sends straight out of the stored entry, so the
 *    thread keeps serving while large objects move, and the program's own
 *    threads are never interrupted.  Two-sided messages rather than
 *    one-sided MPI_Get: they were faster here (dynamic windows pay for
 *    attach and a lock epoch per object) and the owner must know when a
 *    fetch is over to free an evicted object.
 *  - Every wait for a peer is bounded (timeout, default 30 s), after which
 *    the call fails with PS_ERR_TIMEOUT and the request is cancelled.
 *  - Same node, no copy: a rank with peers on its node keeps its objects of
 *    a space in a shared-memory arena (shm_arena.c) it creates at its first
 *    put, /dev/shm/ps-mpi.<job>.<rank>.<space hash>+.arena, and removes when
 *    the space closes or the rank leaves the job.  A peer on the same node
 *    maps that arena at its first use and reads, evicts and claims there
 *    under the arena's lock, without the owner: get is a view into the
 *    owner's memory, held (the arena's reader bits) until released, so an
 *    evicted object's space is not reused under a reader.  Objects that do
 *    not fit stay on the owner's heap (local://) and go through the service
 *    thread, as do peers on other nodes and stores opened with ?arena=0.
 *
 * Wire format: a request is one message on TAG_REQUEST,
 *     req_head, the space name, then n keys as (length byte, bytes);
 * the reply goes to the tag the requester chose for it, first a status
 * message (get: n uint64 lengths, UINT64_MAX for missing; exists, evict,
 * claim and set_expiry: n bytes, 1 where the owner found the key and did it), then for get each found object in chunks of at most CHUNK bytes.
 * Messages between two ranks on one tag arrive in the order they were sent.
 */
#include "connector.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <mpi.h>
#include <xxhash.h>

#include "connector_mpi.h"
#include "error.h"
#include "hash.h"
#include "key.h"
#include "metrics.h"
#include "object.h"
#include "proxystore/mpi.h"

enum {
    TAG_REQUEST = 1,
    TAG_FIRST_REPLY = 2,
    OP_GET = 1,
    OP_EXISTS = 2,
    OP_EVICT = 3,
    OP_CLAIM = 4,      /* the owner's claim: removed by this request or not */
    OP_SET_EXPIRY = 5, /* req_head.arg: Unix ms from which the object reads as missing */
    DEFAULT_TIMEOUT_MS = 30000,
    ABANDONED_ARENA_AGE_S = 2, /* a live arena has its owner's slot within microseconds of creation */
};
#define DEFAULT_ARENA_SIZE ((size_t)64 << 20)
#define MAX_ARENA_SIZE ((size_t)1 << 40)
#define ARENA_PREFIX "ps-mpi."
#define ARENA_SUFFIX "+.arena"
#define SHM_DIR "/dev/shm"
#define CHUNK ((size_t)1 << 30) /* an MPI count is an int */
#define MISSING UINT64_MAX
#define KEY_PREFIX "mpi."

typedef struct req_head {
    uint32_t op;
    int32_t reply_tag;
    uint32_t n;
    uint32_t space_len;
    uint64_t arg; /* OP_SET_EXPIRY's expiry; 0 for the other ops */
} req_head;

/* A same-node peer's arena this rank mapped. */
typedef struct peer_arena {
    struct peer_arena *retired; /* earlier arenas of the peer, closed with the space */
    shm_arena *arena;
    bool refused; /* it exists but could not be mapped (no free slot): not tried again */
} peer_arena;

/* One rank's share of the objects of a space (the URL's NAME). */
typedef struct mpi_space {
    struct mpi_space *next; /* svc.lock */
    int refs;               /* svc.lock: open connectors and lookups in progress */
    ps_connector *objects;  /* local://: objects not in the arena */
    size_t arena_size;      /* from the first open's URL; 0: no same-node sharing */
    pthread_mutex_t arena_lock; /* creating the arena; peers */
    _Atomic(shm_arena *) arena; /* this rank's, from its first put with same-node peers */
    atomic_bool arena_tried;    /* creating it was tried (once: a failure keeps objects on the heap) */
    peer_arena *peers;          /* svc.size of them while in the job, opened at first use */
    char name[];
} mpi_space;

typedef struct mpi_conn {
    ps_connector base;
    mpi_space *space;
    int timeout_ms;
} mpi_conn;

/* A nonblocking reply send the service thread still has to complete. */
typedef struct pending_send {
    void *owned;        /* freed when the send is done (status messages) */
    struct held_blob *held; /* released when its last chunk is sent */
} pending_send;

typedef struct held_blob {
    ps_blob blob;
    int chunks_left;
} held_blob;

static struct {
    pthread_mutex_t lock;       /* guards spaces; never held across an MPI call */
    pthread_mutex_t state_lock; /* serializes ps_mpi_init and leaving the job */
    mpi_space *spaces;
    atomic_bool up;       /* between ps_mpi_init and ps_mpi_finalize */
    MPI_Comm comm;
    int rank, size;
    char job[17];
    int tag_ub;
    atomic_uint next_tag;
    pthread_t thread;
    atomic_bool stop;
    atomic_ullong served; /* requests answered, for tests (ps_mpi_requests_served) */
    int self_keyval;
    int *node_of;   /* rank -> the lowest rank on its node; NULL: sharing off */
    int node_peers; /* other ranks on this rank's node */
    int shm_dir;    /* /dev/shm, or -1 */
    /* service thread only */
    MPI_Request *sends;
    pending_send *send_info;
    size_t nsends, cap_sends;
} svc = {.lock = PTHREAD_MUTEX_INITIALIZER, .state_lock = PTHREAD_MUTEX_INITIALIZER, .rank = -1,
         .self_keyval = MPI_KEYVAL_INVALID, .shm_dir = -1};

/* ------------------------------------------------------------- helpers */

static ps_status mpi_failed(int rc, const char *what, int peer)
{
    char text[MPI_MAX_ERROR_STRING];
    int len = 0;
    if (MPI_Error_string(rc, text, &len) != MPI_SUCCESS)
        snprintf(text, sizeof text, "MPI error %d", rc);
    if (peer >= 0)
        return ps_error_set(PS_ERR_CONNECTION, "mpi: %s with rank %d failed: %s", what, peer, text);
    return ps_error_set(PS_ERR_CONNECTION, "mpi: %s failed: %s", what, text);
}

static void sleep_ns(long ns)
{
    struct timespec ts = {0, ns};
    nanosleep(&ts, NULL);
}

static int next_reply_tag(void)
{
    unsigned span = (unsigned)svc.tag_ub - TAG_FIRST_REPLY + 1;
    return TAG_FIRST_REPLY + (int)(atomic_fetch_add(&svc.next_tag, 1) % span);
}

/*
 * Wait for n requests for at most timeout_ms, testing them without a pause
 * (yielding the core between tests) for the first few milliseconds (a reply
 * from a live peer is usually that fast) and every 50 us after.  On timeout the requests still open are
 * cancelled.  peer names the rank in messages.
 */
static ps_status wait_all(int n, MPI_Request reqs[], MPI_Status stats[], int timeout_ms, const char *what,
                          int peer)
{
    if (n == 0)
        return PS_OK;
    uint64_t start = ps_now_ns();
    uint64_t spin_until = start + 5000000ull, deadline = start + (uint64_t)timeout_ms * 1000000ull;
    int rc = MPI_SUCCESS;
    for (;;) {
        int done = 0;
        if ((rc = MPI_Testall(n, reqs, &done, stats)) != MPI_SUCCESS)
            break;
        if (done)
            return PS_OK;
        uint64_t now = ps_now_ns();
        if (now >= deadline)
            break;
        if (now >= spin_until)
            sleep_ns(50000);
        else
            sched_yield(); /* on a full machine, let the peer's service thread run */
    }
    /* Nothing stays posted into memory the caller is about to free. */
    for (int i = 0; i < n; i++) {
        if (reqs[i] != MPI_REQUEST_NULL) {
            MPI_Cancel(&reqs[i]);
            MPI_Wait(&reqs[i], MPI_STATUS_IGNORE);
        }
    }
    if (rc != MPI_SUCCESS)
        return mpi_failed(rc, what, peer);
    if (peer >= 0)
        return ps_error_set(PS_ERR_TIMEOUT, "mpi: %s: rank %d did not answer within %d ms (is it alive and "
                            "still inside ps_mpi_init?)", what, peer, timeout_ms);
    return ps_error_set(PS_ERR_TIMEOUT, "mpi: %s: no answer within %d ms", what, timeout_ms);
}

/* ------------------------------------------------------------ key routes */

typedef enum { ROUTE_HERE, ROUTE_RANK, ROUTE_ANY, ROUTE_FOREIGN } route_kind;

/* Where the object under key lives: a rank named by the key, any rank (a
 * key the caller chose), or another job (why says which). */
static route_kind key_route(const char *key, int *rank, const char **why)
{
    *rank = -1;
    *why = NULL;
    if (strncmp(key, KEY_PREFIX, strlen(KEY_PREFIX)) != 0)
        return ROUTE_ANY;
    const char *job = key + strlen(KEY_PREFIX);
    for (int i = 0; i < 16; i++)
        if (ps_hex_digit((unsigned char)job[i]) < 0)
            return ROUTE_ANY;
    const char *r = job + 16;
    if (*r != '.' || r[1] < '0' || r[1] > '9')
        return ROUTE_ANY;
    char *end;
    errno = 0;
    long owner = strtol(r + 1, &end, 10);
    if (*end != '.' || !end[1] || errno)
        return ROUTE_ANY;
    if (memcmp(job, svc.job, 16) != 0) {
        *why = "it was made in another MPI job (or before this job's last ps_mpi_init)";
        return ROUTE_FOREIGN;
    }
    if (owner >= svc.size) {
        *why = "it names a rank this job does not have";
        return ROUTE_FOREIGN;
    }
    *rank = (int)owner;
    return owner == svc.rank ? ROUTE_HERE : ROUTE_RANK;
}

/* -------------------------------------------------------------- spaces */

/* The space of that name with a reference taken; created when create (with
 * arena_size; an existing space keeps its own). */
static mpi_space *space_ref(const char *name, size_t len, bool create, size_t arena_size)
{
    pthread_mutex_lock(&svc.lock);
    mpi_space *s = svc.spaces;
    while (s && (strlen(s->name) != len || memcmp(s->name, name, len) != 0))
        s = s->next;
    if (s) {
        s->refs++;
    } else if (create && (s = ps_calloc(1, sizeof *s + len + 1))) {
        memcpy(s->name, name, len);
        if (ps_connector_open("local://", &s->objects) != PS_OK) {
            free(s);
            s = NULL;
        } else {
            ps_local_huge_from(s->objects, (size_t)4 << 20);
            s->arena_size = arena_size;
            pthread_mutex_init(&s->arena_lock, NULL);
            s->refs = 1;
            s->next = svc.spaces;
            svc.spaces = s;
        }
    }
    pthread_mutex_unlock(&svc.lock);
    return s;
}

/* Unmap the peers' arenas (and the earlier ones); arena_lock held, or the
 * space no longer reachable (its last reference gone).  Views still held
 * keep their mapping until released. */
static void peers_close(mpi_space *s, int npeers)
{
    for (int r = 0; s->peers && r < npeers; r++) {
        shm_arena_close(s->peers[r].arena);
        for (peer_arena *p = s->peers[r].retired, *next; p; p = next) {
            next = p->retired;
            shm_arena_close(p->arena);
            free(p);
        }
    }
    free(s->peers);
    s->peers = NULL;
}

static void space_unref(mpi_space *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&svc.lock);
    bool last = --s->refs == 0;
    if (last) {
        mpi_space **pp = &svc.spaces;
        while (*pp != s)
            pp = &(*pp)->next;
        *pp = s->next;
    }
    int npeers = svc.size;
    pthread_mutex_unlock(&svc.lock);
    if (last) {
        peers_close(s, npeers);
        shm_arena *own = atomic_load(&s->arena);
        if (own) {
            shm_arena_retire(own); /* the name goes now, whoever still maps it */
            shm_arena_close(own);  /* removes our objects; views held elsewhere keep theirs */
        }
        pthread_mutex_destroy(&s->arena_lock);
        s->objects->ops->close(s->objects); /* entries being sent live on until sent */
        free(s);
    }
}

/* ------------------------------------------------- same-node arenas */

static void arena_name(const mpi_space *s, int rank, char out[128])
{
    snprintf(out, 128, ARENA_PREFIX "%s.%d.%016llx" ARENA_SUFFIX, svc.job, rank,
             (unsigned long long)XXH3_64bits(s->name, strlen(s->name)));
}

static bool same_node(int rank)
{
    return svc.node_of && rank >= 0 && rank < svc.size && rank != svc.rank &&
           svc.node_of[rank] == svc.node_of[svc.rank];
}

/* This rank's arena of the space, created at the first put while it has
 * same-node peers; NULL: objects stay on the heap. */
static shm_arena *own_arena(mpi_space *s)
{
    shm_arena *a = atomic_load(&s->arena);
    if (a || !s->arena_size || atomic_load(&s->arena_tried) || !atomic_load(&svc.up) || svc.node_peers == 0 ||
        svc.shm_dir < 0)
        return a;
    pthread_mutex_lock(&s->arena_lock);
    if (!atomic_load(&s->arena_tried)) {
        char name[128], where[80];
        arena_name(s, svc.rank, name);
        snprintf(where, sizeof where, "mpi store '%.40s' on rank %d", s->name, svc.rank);
        /* A failure (no room in /dev/shm) only means the heap and the
         * service thread serve every object, as across nodes. */
        if (shm_arena_open(svc.shm_dir, name, s->arena_size, where, &a) == PS_OK)
            atomic_store(&s->arena, a);
        else
            ps_error_clear();
        atomic_store(&s->arena_tried, true);
    }
    a = atomic_load(&s->arena);
    pthread_mutex_unlock(&s->arena_lock);
    return a;
}

/* The arena of same-node peer rank, mapped at first use; NULL when sharing
 * is off or the peer has no arena (then its service thread is asked, as
 * across nodes). */
static shm_arena *peer_arena_of(mpi_space *s, int rank)
{
    if (!s->arena_size || !atomic_load(&svc.up) || !same_node(rank))
        return NULL;
    pthread_mutex_lock(&s->arena_lock);
    if (!s->peers)
        s->peers = calloc((size_t)svc.size, sizeof *s->peers);
    peer_arena *p = s->peers ? &s->peers[rank] : NULL;
    if (p && p->arena && shm_arena_retired(p->arena)) {
        /* The owner closed the space (and may have opened it anew): keep
         * the old mapping for the views still held, look for a new one. */
        peer_arena *old = malloc(sizeof *old);
        if (old) {
            *old = *p;
            p->retired = old;
            p->arena = NULL;
        }
    }
    if (p && !p->arena && !p->refused) {
        char name[128], where[80];
        arena_name(s, rank, name);
        snprintf(where, sizeof where, "mpi store '%.40s', rank %d's arena", s->name, rank);
        ps_status st = shm_arena_open(svc.shm_dir, name, 0, where, &p->arena);
        /* None (yet), or none for us: the owner's service thread answers. */
        p->refused = st != PS_OK && st != PS_ERR_NOT_FOUND;
        if (st != PS_OK)
            ps_error_clear();
    }
    shm_arena *a = p ? p->arena : NULL;
    pthread_mutex_unlock(&s->arena_lock);
    return a;
}

unsigned long long ps_mpi_requests_served(void)
{
    return atomic_load(&svc.served);
}

ps_status ps_mpi_arena_stats(ps_connector *conn, int rank, shm_arena_stats *out)
{
    mpi_space *s = ((mpi_conn *)conn)->space;
    shm_arena *a = rank == svc.rank ? atomic_load(&s->arena) : peer_arena_of(s, rank);
    if (!a)
        return ps_error_set(PS_ERR_NOT_FOUND, "mpi store '%s': rank %d has no arena this rank can see", s->name,
                            rank);
    return shm_arena_stats_get(a, out);
}

/* ------------------------------------------- this rank's share of a space */

/* What a rank holds of a space: the arena first, then the heap; a key is
 * in at most one of them (each put removes the other's older copy under
 * the arena's lock). */

typedef struct heap_copy {
    ps_connector *objects;
    const char *key;
} heap_copy;

static void drop_heap_copy(void *ctx)
{
    heap_copy *h = ctx;
    h->objects->ops->evict(h->objects, h->key);
    ps_error_clear();
}

/* key onto the heap, where it did not go into arena a (NULL: no arena). */
static ps_status heap_put(mpi_space *s, shm_arena *a, const char *key, const ps_iov *parts, size_t nparts)
{
    ps_connector *objs = s->objects;
    if (!a)
        return objs->ops->put(objs, key, parts, nparts);
    /* Too big for the arena (or it is full): the heap, in step with it. */
    ps_status st = shm_arena_lock_elsewhere(a);
    if (st != PS_OK)
        return st;
    st = objs->ops->put(objs, key, parts, nparts);
    shm_arena_unlock_elsewhere(a, key, st == PS_OK);
    return st;
}

static ps_status share_put(mpi_space *s, const char *key, const ps_iov *parts, size_t nparts)
{
    shm_arena *a = own_arena(s);
    if (a) {
        bool placed = false;
        heap_copy stale = {s->objects, key};
        ps_status st = shm_arena_put(a, key, parts, nparts, drop_heap_copy, &stale, &placed);
        if (st != PS_OK || placed)
            return st;
    }
    return heap_put(s, a, key, parts, nparts);
}

/* Plain data whose hash is still to take: into the arena it is copied and
 * hashed in one pass; elsewhere hashed first, then put on the heap (the
 * arena, just tried, is not tried again). */
static ps_status mpi_put_hashing(ps_connector *conn, const char *key, unsigned char *header, const void *payload,
                                 size_t len, uint64_t *hash_out)
{
    mpi_space *s = ((mpi_conn *)conn)->space;
    shm_arena *a = own_arena(s);
    if (a) {
        heap_copy stale = {s->objects, key};
        bool placed = false;
        ps_status st = shm_arena_put_hashing(a, key, header, payload, len, drop_heap_copy, &stale, &placed, hash_out);
        if (st != PS_OK || placed)
            return st;
    }
    *hash_out = ps_payload_hash(payload, len);
    ps_object_hash_set(header, *hash_out);
    ps_iov parts[2] = {{header, PS_OBJECT_HEADER_SIZE}, {payload, len}};
    return heap_put(s, a, key, parts, 2);
}

/* op on key in an arena (this rank's or a same-node peer's); *hit: found
 * there (and, for evict and claim, removed by this call). */
static ps_status arena_op(shm_arena *a, uint32_t op, uint64_t arg, const char *key, ps_blob *view, bool *hit)
{
    switch (op) {
    case OP_GET:
        return shm_arena_get(a, key, view, hit);
    case OP_EXISTS:
        return shm_arena_exists(a, key, hit);
    case OP_SET_EXPIRY:
        return shm_arena_set_expiry(a, key, arg, hit);
    default: /* evict, claim */
        return shm_arena_remove(a, key, hit);
    }
}

/* op on key in this rank's share of s: its arena, then its heap.  *hit:
 * done here (get: *view holds the object; exists: it is here; claim: this
 * call removed it; set_expiry: set; evict: removed or not here).  get and
 * set_expiry of a key neither place has: PS_ERR_NOT_FOUND (error set). */
static ps_status share_op(mpi_space *s, uint32_t op, uint64_t arg, const char *key, ps_blob *view, bool *hit)
{
    shm_arena *a = atomic_load(&s->arena);
    *hit = false;
    ps_status st = a ? arena_op(a, op, arg, key, view, hit) : PS_OK;
    if (st != PS_OK || *hit)
        return st;
    ps_connector *objs = s->objects;
    switch (op) {
    case OP_GET:
        st = objs->ops->get(objs, key, view);
        break;
    case OP_EXISTS:
        return objs->ops->exists(objs, key, hit);
    case OP_CLAIM:
        return objs->ops->claim(objs, key, hit);
    case OP_SET_EXPIRY:
        st = objs->ops->set_expiry(objs, key, arg);
        break;
    default:
        st = objs->ops->evict(objs, key);
    }
    *hit = st == PS_OK;
    return st;
}

/* ------------------------------------------------------ the service side */

static bool track_send(MPI_Request req, void *owned, held_blob *held)
{
    if (svc.nsends == svc.cap_sends) {
        size_t cap = svc.cap_sends ? svc.cap_sends * 2 : 16;
        MPI_Request *r = realloc(svc.sends, cap * sizeof *r);
        if (r)
            svc.sends = r;
        pending_send *p = r ? realloc(svc.send_info, cap * sizeof *p) : NULL;
        if (!p) {
            /* No room to remember it: finish it here rather than lose it. */
            MPI_Wait(&req, MPI_STATUS_IGNORE);
            free(owned);
            return false;
        }
        svc.send_info = p;
        svc.cap_sends = cap;
    }
    svc.sends[svc.nsends] = req;
    svc.send_info[svc.nsends] = (pending_send){owned, held};
    svc.nsends++;
    return true;
}

static void held_done(held_blob *h)
{
    if (h && --h->chunks_left == 0) {
        ps_blob_release(&h->blob);
        free(h);
    }
}

/* Complete what has been sent; true if anything was. */
static bool reap_sends(void)
{
    if (svc.nsends == 0)
        return false;
    bool any = false;
    size_t kept = 0;
    for (size_t i = 0; i < svc.nsends; i++) {
        int done = 0;
        if (MPI_Test(&svc.sends[i], &done, MPI_STATUS_IGNORE) != MPI_SUCCESS)
            done = 1; /* a failed send is over too: release what it held */
        if (done) {
            free(svc.send_info[i].owned);
            held_done(svc.send_info[i].held);
            any = true;
        } else {
            svc.sends[kept] = svc.sends[i];
            svc.send_info[kept] = svc.send_info[i];
            kept++;
        }
    }
    svc.nsends = kept;
    return any;
}

static void send_reply(int peer, int tag, void *owned, size_t len)
{
    MPI_Request req;
    if (MPI_Isend(owned, (int)len, MPI_BYTE, peer, tag, svc.comm, &req) != MPI_SUCCESS) {
        free(owned);
        return;
    }
    track_send(req, owned, NULL);
}

/* Send the object in h to peer as its chunks; h is released when all are sent. */
static void send_object(int peer, int tag, held_blob *h)
{
    size_t len = h->blob.len;
    int chunks = (int)((len + CHUNK - 1) / CHUNK);
    h->chunks_left = chunks + 1; /* one for this loop, dropped at the end */
    const unsigned char *p = h->blob.data;
    for (int c = 0; c < chunks; c++) {
        size_t off = (size_t)c * CHUNK, n = len - off < CHUNK ? len - off : CHUNK;
        MPI_Request req;
        if (MPI_Isend(p + off, (int)n, MPI_BYTE, peer, tag, svc.comm, &req) != MPI_SUCCESS ||
            !track_send(req, NULL, h))
            h->chunks_left--;
    }
    held_done(h);
}

/* Parse a request's keys into pointers to NUL-terminated copies in keybuf. */
static bool parse_keys(const unsigned char *p, const unsigned char *end, uint32_t n, char *keybuf,
                       const char **keys)
{
    for (uint32_t i = 0; i < n; i++) {
        if (p >= end || (size_t)(end - p) < 1u + *p)
            return false;
        size_t len = *p++;
        memcpy(keybuf, p, len);
        keybuf[len] = '\0';
        if (!ps_key_valid(keybuf))
            return false;
        keys[i] = keybuf;
        keybuf += len + 1;
        p += len;
    }
    return p == end;
}

static void serve(int peer, const unsigned char *msg, size_t len)
{
    req_head h;
    if (len < sizeof h)
        return; /* no reply tag to answer on */
    memcpy(&h, msg, sizeof h);
    if (h.reply_tag < TAG_FIRST_REPLY)
        return;
    atomic_fetch_add(&svc.served, 1);
    const unsigned char *p = msg + sizeof h, *end = msg + len;
    size_t per_key = h.op == OP_GET ? sizeof(uint64_t) : 1;
    char *keybuf = NULL;
    const char **keys = NULL;
    unsigned char *status = NULL;
    mpi_space *space = NULL;
    bool ok = h.space_len <= (size_t)(end - p) && h.n <= len && h.op >= OP_GET && h.op <= OP_SET_EXPIRY;
    if (ok) {
        keybuf = malloc(len);
        keys = malloc((h.n ? h.n : 1) * sizeof *keys);
        status = malloc(h.n * per_key + 1);
        ok = keybuf && keys && status &&
             parse_keys(p + h.space_len, end, h.n, keybuf, keys);
    }
    if (!ok) {
        /* An empty status message tells the requester its request was refused. */
        send_reply(peer, h.reply_tag, NULL, 0);
        free(keybuf), free(keys), free(status);
        return;
    }
    space = space_ref((const char *)p, h.space_len, false, 0);
    held_blob **found = NULL;
    if (h.op == OP_GET) {
        found = calloc(h.n ? h.n : 1, sizeof *found);
        for (uint32_t i = 0; i < h.n; i++) {
            uint64_t want = MISSING;
            held_blob *hb = found && space ? calloc(1, sizeof *hb) : NULL;
            bool hit = false;
            if (hb && share_op(space, OP_GET, 0, keys[i], &hb->blob, &hit) == PS_OK) {
                want = hb->blob.len;
                found[i] = hb;
            } else {
                free(hb);
            }
            memcpy(status + i * sizeof want, &want, sizeof want);
        }
        ps_error_clear();
    } else {
        for (uint32_t i = 0; i < h.n; i++) {
            /* With no such space here, only an evict has done its work. */
            bool yes = false;
            status[i] = space ? share_op(space, h.op, h.arg, keys[i], NULL, &yes) == PS_OK && yes : h.op == OP_EVICT;
        }
        ps_error_clear(); /* a key missing here is the requester's answer, not this thread's error */
    }
    space_unref(space);
    send_reply(peer, h.reply_tag, status, h.n * per_key);
    for (uint32_t i = 0; found && i < h.n; i++)
        if (found[i])
            send_object(peer, h.reply_tag, found[i]);
    free(found);
    free(keybuf);
    free(keys);
}

/*
 * Probe without a pause for SERVICE_SPIN_NS after the last request (a burst
 * of fetches keeps it there), then sleep between probes, from 10 us up to
 * SERVICE_MAX_PAUSE_NS, so an idle rank does not take a core from the
 * program.  The first request after a long quiet time waits for at most one
 * pause.  The spin is short because a spinning probe competes with the
 * program's own threads for a core and for MPI's progress engine.
 */
#define SERVICE_SPIN_NS 2000000ull
#define SERVICE_MAX_PAUSE_NS 200000L
static void *service_main(void *arg)
{
    (void)arg;
    uint64_t last_work = 0, stop_deadline = 0; /* starts at the idle pace */
    long pause = 0;
    for (;;) {
        if (atomic_load(&svc.stop)) {
            /* Finish the replies under way; a peer that never takes its
             * data is given up on after a while (its buffers stay held). */
            if (!stop_deadline)
                stop_deadline = ps_now_ns() + 5000000000ull;
            if (!svc.nsends || ps_now_ns() > stop_deadline)
                break;
        }
        int flag = 0;
        MPI_Message msg;
        MPI_Status st;
        bool worked = reap_sends();
        if (!atomic_load(&svc.stop) &&
            MPI_Improbe(MPI_ANY_SOURCE, TAG_REQUEST, svc.comm, &flag, &msg, &st) == MPI_SUCCESS && flag) {
            int count = 0;
            MPI_Get_count(&st, MPI_BYTE, &count);
            unsigned char *buf = malloc(count > 0 ? (size_t)count : 1);
            if (buf && MPI_Mrecv(buf, count, MPI_BYTE, &msg, &st) == MPI_SUCCESS)
                serve(st.MPI_SOURCE, buf, (size_t)count);
            else if (!buf)
                MPI_Mrecv(NULL, 0, MPI_BYTE, &msg, MPI_STATUS_IGNORE); /* truncated away */
            free(buf);
            worked = true;
        }
        uint64_t now = ps_now_ns();
        if (worked) {
            last_work = now;
            pause = 0;
        } else if (now - last_work > SERVICE_SPIN_NS) {
            pause = pause ? (pause * 2 > SERVICE_MAX_PAUSE_NS ? SERVICE_MAX_PAUSE_NS : pause * 2) : 10000;
            sleep_ns(pause);
        } else {
            sched_yield();
        }
    }
    return NULL;
}

/* ------------------------------------------------------ the client side */

/* One request to one peer and the status reply it waits for. */
typedef struct peer_call {
    int rank;
    int tag;
    size_t n;
    const char **keys;
    size_t *index;          /* the caller's index of each key */
    unsigned char *status;  /* n * per_key bytes */
    MPI_Request req;
} peer_call;

static void calls_free(peer_call *calls, size_t ncalls)
{
    for (size_t c = 0; calls && c < ncalls; c++) {
        free(calls[c].keys);
        free(calls[c].index);
        free(calls[c].status);
    }
    free(calls);
}

static ps_status call_add(peer_call *call, const char *key, size_t index)
{
    /* calls are sized for every key up front (call_reserve), so this never grows */
    call->keys[call->n] = key;
    call->index[call->n] = index;
    call->n++;
    return PS_OK;
}

static ps_status call_reserve(peer_call *call, int rank, size_t n)
{
    call->rank = rank;
    call->req = MPI_REQUEST_NULL;
    call->keys = ps_calloc(n ? n : 1, sizeof *call->keys);
    call->index = ps_calloc(n ? n : 1, sizeof *call->index);
    return call->keys && call->index ? PS_OK : PS_ERR_NO_MEMORY;
}

/* Withdraw a started call whose reply will not be awaited. */
static void call_withdraw(peer_call *call)
{
    if (call->req != MPI_REQUEST_NULL) {
        MPI_Cancel(&call->req);
        MPI_Wait(&call->req, MPI_STATUS_IGNORE);
    }
}

/* Post the status receive, then send the request. */
static ps_status call_start(peer_call *call, uint32_t op, uint64_t arg, const mpi_space *space, int timeout_ms)
{
    size_t per_key = op == OP_GET ? sizeof(uint64_t) : 1;
    size_t space_len = strlen(space->name), len = sizeof(req_head) + space_len;
    for (size_t i = 0; i < call->n; i++)
        len += 1 + strlen(call->keys[i]);
    if (len > INT_MAX || call->n > UINT32_MAX)
        return ps_error_set(PS_ERR_INVALID_ARGUMENT, "mpi: a batch of %zu keys is too large for one request",
                            call->n);
    unsigned char *msg = ps_malloc(len);
    call->status = ps_malloc(call->n * per_key + 1);
    if (!msg || !call->status) {
        free(msg);
        return PS_ERR_NO_MEMORY;
    }
    call->tag = next_reply_tag();
    req_head h = {op, call->tag, (uint32_t)call->n, (uint32_t)space_len, arg};
    unsigned char *p = msg;
    memcpy(p, &h, sizeof h), p += sizeof h;
    memcpy(p, space->name, space_len), p += space_len;
    for (size_t i = 0; i < call->n; i++) {
        size_t kl = strlen(call->keys[i]);
        *p++ = (unsigned char)kl;
        memcpy(p, call->keys[i], kl), p += kl;
    }
    int rc = MPI_Irecv(call->status, (int)(call->n * per_key), MPI_BYTE, call->rank, call->tag, svc.comm,
                       &call->req);
    if (rc != MPI_SUCCESS) {
        free(msg);
        return mpi_failed(rc, "posting a reply receive", call->rank);
    }
    MPI_Request sreq;
    ps_status st = PS_OK;
    rc = MPI_Isend(msg, (int)len, MPI_BYTE, call->rank, TAG_REQUEST, svc.comm, &sreq);
    if (rc != MPI_SUCCESS)
        st = mpi_failed(rc, "sending a request", call->rank);
    else
        st = wait_all(1, &sreq, MPI_STATUSES_IGNORE, timeout_ms, "sending a request", call->rank);
    free(msg);
    if (st != PS_OK)
        call_withdraw(call);
    return st;
}

/* Start every call, then wait for all their status replies and check them.
 * After a failure the calls not yet answered are withdrawn. */
static ps_status calls_run(peer_call *calls, size_t ncalls, uint32_t op, uint64_t arg, const mpi_space *space,
                           int timeout_ms)
{
    ps_status st = PS_OK;
    for (size_t c = 0; c < ncalls && st == PS_OK; c++)
        if (calls[c].n)
            st = call_start(&calls[c], op, arg, space, timeout_ms);
    size_t per_key = op == OP_GET ? sizeof(uint64_t) : 1;
    for (size_t c = 0; c < ncalls; c++) {
        if (st != PS_OK) {
            call_withdraw(&calls[c]);
            continue;
        }
        if (!calls[c].n)
            continue;
        MPI_Status status;
        if ((st = wait_all(1, &calls[c].req, &status, timeout_ms, "waiting for a reply", calls[c].rank)) != PS_OK)
            continue;
        int got = 0;
        MPI_Get_count(&status, MPI_BYTE, &got);
        if ((size_t)got != calls[c].n * per_key)
            st = ps_error_set(PS_ERR_BAD_DATA, "mpi: rank %d refused a request of %zu keys (a reply of %d "
                              "bytes)", calls[c].rank, calls[c].n, got);
    }
    return st;
}

/* ------------------------------------------------- warm receive buffers */

/*
 * Fetched objects land in buffers kept for reuse once released.  Fresh
 * memory costs the kernel's page zeroing and a fault per page on first
 * touch, which at 10-100 MB took longer than the transfer itself; a buffer
 * a previous fetch released is mapped and warm.  At most POOL_SLOTS buffers
 * of POOL_MIN or more bytes, POOL_MAX_BYTES together, are kept; a buffer is
 * reused for an object of at least half its size.  The pool empties at
 * ps_mpi_finalize.
 */
#define POOL_SLOTS 4
#define POOL_MIN ((size_t)64 << 10)
#define POOL_MAX_BYTES ((size_t)512 << 20)
#define BUFFER_HEAD 64 /* keeps the data 64-byte aligned after the capacity */

static struct {
    pthread_mutex_t lock;
    unsigned char *slot[POOL_SLOTS];
    size_t bytes;
} pool = {.lock = PTHREAD_MUTEX_INITIALIZER};

static size_t buffer_cap(const unsigned char *block)
{
    size_t cap;
    memcpy(&cap, block, sizeof cap);
    return cap;
}

/* A block with room for len bytes at block + BUFFER_HEAD. */
static unsigned char *buffer_take(size_t len)
{
    unsigned char *best = NULL;
    if (len >= POOL_MIN / 2) {
        pthread_mutex_lock(&pool.lock);
        int pick = -1;
        for (int i = 0; i < POOL_SLOTS; i++) {
            size_t cap = pool.slot[i] ? buffer_cap(pool.slot[i]) : 0;
            if (cap >= len && cap / 2 <= len && (pick < 0 || cap < buffer_cap(pool.slot[pick])))
                pick = i;
        }
        if (pick >= 0) {
            best = pool.slot[pick];
            pool.slot[pick] = NULL;
            pool.bytes -= buffer_cap(best);
        }
        pthread_mutex_unlock(&pool.lock);
    }
    if (!best && (best = ps_aligned_alloc(64, BUFFER_HEAD + len)))
        memcpy(best, &len, sizeof len);
    return best;
}

static void buffer_give(unsigned char *block)
{
    size_t cap = buffer_cap(block);
    if (cap >= POOL_MIN && atomic_load(&svc.up)) {
        pthread_mutex_lock(&pool.lock);
        for (int i = 0; i < POOL_SLOTS; i++) {
            if (!pool.slot[i] && pool.bytes + cap <= POOL_MAX_BYTES) {
                pool.slot[i] = block;
                pool.bytes += cap;
                block = NULL;
                break;
            }
        }
        pthread_mutex_unlock(&pool.lock);
    }
    free(block);
}

static void pool_empty(void)
{
    pthread_mutex_lock(&pool.lock);
    for (int i = 0; i < POOL_SLOTS; i++) {
        free(pool.slot[i]);
        pool.slot[i] = NULL;
    }
    pool.bytes = 0;
    pthread_mutex_unlock(&pool.lock);
}

static void free_fetched(ps_blob *blob)
{
    buffer_give(blob->opaque);
}

static uint64_t announced_len(const peer_call *call, size_t i)
{
    uint64_t len;
    memcpy(&len, call->status + i * sizeof len, sizeof len);
    return len;
}

static size_t chunks_of(uint64_t len)
{
    return (size_t)((len + CHUNK - 1) / CHUNK);
}

/* Take the announced chunks off the wire without room for them (after an
 * allocation failed), so no message of this reply is left behind.  Nothing
 * is posted on the tag, so each chunk is found by probing, and a zero-byte
 * receive discards it (the truncation error is the point). */
static void drain_chunks(const peer_call *call, int timeout_ms)
{
    uint64_t deadline = ps_now_ns() + (uint64_t)timeout_ms * 1000000ull;
    for (size_t i = 0; i < call->n; i++) {
        uint64_t len = announced_len(call, i);
        for (size_t k = 0; len != MISSING && k < chunks_of(len); k++) {
            int flag = 0;
            MPI_Message msg;
            while (MPI_Improbe(call->rank, call->tag, svc.comm, &flag, &msg, MPI_STATUS_IGNORE) == MPI_SUCCESS &&
                   !flag && ps_now_ns() < deadline)
                sleep_ns(20000);
            if (!flag)
                return;
            MPI_Mrecv(NULL, 0, MPI_BYTE, &msg, MPI_STATUS_IGNORE);
        }
    }
}

/* Receive the objects the get calls' status replies announced, into
 * out[index]: room for all of them first, then every receive posted at
 * once (chunks on one tag match receives in the order both sides list
 * them). */
static ps_status receive_objects(peer_call *calls, size_t ncalls, ps_blob out[], int timeout_ms)
{
    size_t nreq = 0;
    ps_status st = PS_OK;
    for (size_t c = 0; c < ncalls; c++)
        for (size_t i = 0; i < calls[c].n && st == PS_OK; i++) {
            uint64_t len = announced_len(&calls[c], i);
            if (len == MISSING)
                continue;
            unsigned char *block = len <= SIZE_MAX - BUFFER_HEAD ? buffer_take((size_t)len) : NULL;
            if (!block) {
                st = len <= SIZE_MAX - BUFFER_HEAD ? PS_ERR_NO_MEMORY
                                          : ps_error_set(PS_ERR_BAD_DATA, "mpi: rank %d announced an object "
                                                         "of %llu bytes", calls[c].rank, (unsigned long long)len);
                break;
            }
            out[calls[c].index[i]] = (ps_blob){block + BUFFER_HEAD, (size_t)len, free_fetched, block, false};
            nreq += chunks_of(len);
        }
    MPI_Request *reqs = st == PS_OK ? ps_calloc(nreq ? nreq : 1, sizeof *reqs) : NULL;
    if (!reqs) {
        for (size_t c = 0; c < ncalls; c++)
            drain_chunks(&calls[c], timeout_ms);
        return st != PS_OK ? st : PS_ERR_NO_MEMORY; /* the caller releases out[] */
    }
    size_t r = 0;
    int peer = -1;
    for (size_t c = 0; c < ncalls; c++)
        for (size_t i = 0; i < calls[c].n; i++) {
            ps_blob *b = &out[calls[c].index[i]];
            if (announced_len(&calls[c], i) == MISSING)
                continue;
            unsigned char *buf = (unsigned char *)b->opaque + BUFFER_HEAD;
            for (size_t off = 0; off < b->len; off += CHUNK, r++) {
                size_t n = b->len - off < CHUNK ? b->len - off : CHUNK;
                MPI_Irecv(buf + off, (int)n, MPI_BYTE, calls[c].rank, calls[c].tag, svc.comm, &reqs[r]);
            }
            peer = peer == -1 || peer == calls[c].rank ? calls[c].rank : -2;
        }
    st = wait_all((int)r, reqs, MPI_STATUSES_IGNORE, timeout_ms, "receiving objects", peer >= 0 ? peer : -1);
    free(reqs);
    return st;
}

/* How keys spread over peers: one call per rank, each with the keys that
 * rank must be asked about through its service thread. */
typedef struct plan {
    peer_call *calls; /* one per rank, calls[rank] */
    size_t ncalls;
} plan;

static ps_status plan_init(plan *p, size_t n)
{
    p->ncalls = (size_t)svc.size;
    p->calls = ps_calloc(p->ncalls, sizeof *p->calls);
    if (!p->calls)
        return PS_ERR_NO_MEMORY;
    for (size_t c = 0; c < p->ncalls; c++)
        if (call_reserve(&p->calls[c], (int)c, n) != PS_OK)
            return PS_ERR_NO_MEMORY;
    return PS_OK;
}

static void plan_free(plan *p)
{
    calls_free(p->calls, p->ncalls);
    p->calls = NULL;
}

/*
 * op on key (entry index of an n-key batch) at every other rank that may
 * hold it: the rank the key names, or, for a key the caller chose, every
 * other rank, lowest first.  A same-node rank's arena is used in place (no
 * message; a get leaves a view in *view); the ranks that must still be
 * asked through their service threads are queued, a routed key in
 * *routed, a chosen key in *chosen (*queued set).  The owner a key names
 * is asked after a miss in its arena (its heap may have it).  For a chosen
 * key a rank whose arena never kept an object on its heap holds nothing
 * outside the arena, so a miss there needs no message; only ranks with no
 * arena this rank can map, or with heap objects, are asked.  A get or
 * exists stops at the first rank whose arena has the key: an exists is
 * answered, and a get keeps the view unless a lower rank queued before it
 * has the key too (the lowest rank's object wins).  *hit: found (and done)
 * in some arena.
 */
static ps_status route_op(mpi_space *s, uint32_t op, uint64_t arg, size_t n, const char *key, size_t index,
                          plan *routed, plan *chosen, bool *queued, ps_blob *view, bool *hit)
{
    int rank;
    const char *why;
    route_kind route = key_route(key, &rank, &why);
    if (route != ROUTE_RANK && route != ROUTE_ANY)
        return PS_OK;
    plan *p = route == ROUTE_RANK ? routed : chosen;
    int first = route == ROUTE_RANK ? rank : 0, last = route == ROUTE_RANK ? rank : svc.size - 1;
    bool answered = false;
    for (int r = first; r <= last && !answered; r++) {
        if (r == svc.rank)
            continue;
        shm_arena *a = peer_arena_of(s, r);
        bool found = false;
        if (a) {
            ps_status st = arena_op(a, op, arg, key, view, &found);
            if (st != PS_OK)
                return st;
            *hit = *hit || found;
            answered = found && (op == OP_GET || op == OP_EXISTS);
            /* A key is in the arena or on the heap, never both. */
            if (found || (route == ROUTE_ANY && !shm_arena_has_elsewhere(a)))
                continue;
        }
        if (!p->calls && plan_init(p, n) != PS_OK)
            return PS_ERR_NO_MEMORY;
        call_add(&p->calls[r], key, index);
        *queued = true;
    }
    if (answered && op == OP_EXISTS)
        for (int r = first; r <= last && p->calls; r++) /* the lower ranks queued need no asking */
            if (p->calls[r].n && p->calls[r].index[p->calls[r].n - 1] == index &&
                p->calls[r].keys[p->calls[r].n - 1] == key)
                p->calls[r].n--;
    return PS_OK;
}

/* ---------------------------------------------------------- operations */

static ps_status mpi_open(const ps_url *url, ps_connector **out)
{
    if (url->user || url->password || url->port >= 0 || url->path[0])
        return ps_error_set(PS_ERR_BAD_URL, "mpi URL '%s' takes only a space name (write mpi:// or mpi://NAME)",
                            url->text);
    if (url->host[0] && !ps_key_valid(url->host))
        return ps_error_set(PS_ERR_BAD_URL, "mpi URL '%s': the space name uses only letters, digits and . _ : -",
                            url->text);
    long timeout = DEFAULT_TIMEOUT_MS;
    size_t arena_size = DEFAULT_ARENA_SIZE;
    for (size_t i = 0; i < url->nparams; i++) {
        if (strcmp(url->params[i].key, "arena") == 0) {
            if (ps_url_param_size(url, "arena", DEFAULT_ARENA_SIZE, &arena_size) != PS_OK ||
                arena_size > MAX_ARENA_SIZE)
                return ps_error_set(PS_ERR_BAD_URL, "mpi URL '%s': arena=%s is not a size from 0 to 1T (bytes, "
                                    "or with K, M or G)", url->text, url->params[i].value ? url->params[i].value : "");
            continue;
        }
        if (strcmp(url->params[i].key, "timeout") != 0)
            return ps_error_set(PS_ERR_BAD_URL, "mpi URL '%s': unknown parameter '%s' (known: timeout, arena)",
                                url->text, url->params[i].key);
        char *end;
        errno = 0;
        timeout = strtol(url->params[i].value, &end, 10);
        if (errno || *end || end == url->params[i].value || timeout < 1 || timeout > 3600000)
            return ps_error_set(PS_ERR_BAD_URL, "mpi URL '%s': timeout is milliseconds from 1 to 3600000",
                                url->text);
    }
    int init = 0, fin = 0;
    MPI_Initialized(&init);
    MPI_Finalized(&fin);
    if (!init || fin || !atomic_load(&svc.up))
        return ps_error_set(PS_ERR_STATE, "mpi URL '%s' needs a running MPI job: call "
                            "MPI_Init_thread(MPI_THREAD_MULTIPLE) and ps_mpi_init(comm) first%s", url->text,
                            fin ? " (MPI is already finalized)" : "");
    mpi_conn *c = ps_calloc(1, sizeof *c);
    if (!c)
        return PS_ERR_NO_MEMORY;
    if (!(c->space = space_ref(url->host, strlen(url->host), true, arena_size))) {
        free(c);
        return ps_last_error_code();
    }
    c->timeout_ms = (int)timeout;
    c->base.ops = &ps_mpi_connector;
    *out = &c->base;
    return PS_OK;
}

static void mpi_close(ps_connector *conn)
{
    mpi_conn *c = (mpi_conn *)conn;
    if (!c)
        return;
    space_unref(c->space);
    free(c);
}

static ps_status mpi_new_key(ps_connector *conn, char key_out[PS_KEY_MAX])
{
    (void)conn;
    char random[PS_KEY_MAX];
    ps_status st = ps_key_generate(random);
    if (st != PS_OK)
        return st;
    if (!atomic_load(&svc.up)) { /* a put needs no peer; its key then names no rank */
        memcpy(key_out, random, strlen(random) + 1);
        return PS_OK;
    }
    snprintf(key_out, PS_KEY_MAX, KEY_PREFIX "%s.%d.%.*s", svc.job, svc.rank, PS_KEY_RANDOM_LEN, random);
    return PS_OK;
}

static ps_status mpi_put(ps_connector *conn, const char *key, const ps_iov *parts, size_t nparts)
{
    return share_put(((mpi_conn *)conn)->space, key, parts, nparts);
}

static ps_status mpi_put_batch(ps_connector *conn, size_t n, const char *const keys[], const ps_iov *const parts[],
                               const size_t nparts[])
{
    ps_status st = PS_OK;
    for (size_t i = 0; i < n && st == PS_OK; i++)
        st = share_put(((mpi_conn *)conn)->space, keys[i], parts[i], nparts[i]);
    return st;
}

/* exists for n keys: here first, then the owner (or every rank). */
static ps_status mpi_exists_batch(ps_connector *conn, size_t n, const char *const keys[], bool out[])
{
    mpi_conn *c = (mpi_conn *)conn;
    plan p = {0};
    ps_status st = PS_OK;
    bool remote = false;
    for (size_t i = 0; i < n && st == PS_OK; i++) {
        out[i] = false;
        if ((st = share_op(c->space, OP_EXISTS, 0, keys[i], NULL, &out[i])) != PS_OK || out[i] ||
            !atomic_load(&svc.up))
            continue;
        st = route_op(c->space, OP_EXISTS, 0, n, keys[i], i, &p, &p, &remote, NULL, &out[i]);
    }
    if (st == PS_OK && remote && (st = calls_run(p.calls, p.ncalls, OP_EXISTS, 0, c->space, c->timeout_ms)) == PS_OK)
        for (size_t k = 0; k < p.ncalls; k++)
            for (size_t j = 0; j < p.calls[k].n; j++)
                if (p.calls[k].status[j])
                    out[p.calls[k].index[j]] = true;
    plan_free(&p);
    return st;
}

static ps_status mpi_exists(ps_connector *conn, const char *key, bool *exists_out)
{
    return mpi_exists_batch(conn, 1, &key, exists_out);
}

static ps_status mpi_evict_batch(ps_connector *conn, size_t n, const char *const keys[])
{
    mpi_conn *c = (mpi_conn *)conn;
    ps_status st = PS_OK;
    for (size_t i = 0; i < n && st == PS_OK; i++) {
        bool done = false;
        st = share_op(c->space, OP_EVICT, 0, keys[i], NULL, &done);
    }
    if (st != PS_OK || !atomic_load(&svc.up))
        return st;
    plan p = {0};
    bool remote = false;
    for (size_t i = 0; i < n && st == PS_OK; i++) {
        /* In a same-node rank's arena it is removed here, for every rank;
         * else that rank (its heap) is asked. */
        bool removed = false;
        st = route_op(c->space, OP_EVICT, 0, n, keys[i], i, &p, &p, &remote, NULL, &removed);
    }
    if (st == PS_OK && remote)
        st = calls_run(p.calls, p.ncalls, OP_EVICT, 0, c->space, c->timeout_ms);
    plan_free(&p);
    return st;
}

static ps_status mpi_evict(ps_connector *conn, const char *key)
{
    return mpi_evict_batch(conn, 1, &key);
}

/*
 * An ownership op on one key (OP_CLAIM, OP_SET_EXPIRY) at the ranks that
 * may hold it: its owner, or every other rank for a key the caller chose.
 * *hit: whether some rank found the key and did it.
 */
static ps_status remote_owner_op(mpi_conn *c, uint32_t op, uint64_t arg, const char *key, bool *hit)
{
    *hit = false;
    if (!atomic_load(&svc.up))
        return PS_OK;
    /* In an arena under its lock, as the owner would: one claimer wins. */
    plan p = {0};
    bool remote = false;
    ps_status st = route_op(c->space, op, arg, 1, key, 0, &p, &p, &remote, NULL, hit);
    if (st == PS_OK && remote && (st = calls_run(p.calls, p.ncalls, op, arg, c->space, c->timeout_ms)) == PS_OK)
        for (size_t k = 0; k < p.ncalls; k++)
            if (p.calls[k].n && p.calls[k].status[0])
                *hit = true;
    plan_free(&p);
    return st;
}

/* claim: the owner removes the key under its own lock (local:// claim), so
 * of several ranks claiming one key exactly one sees true. */
static ps_status mpi_claim(ps_connector *conn, const char *key, bool *claimed_out)
{
    mpi_conn *c = (mpi_conn *)conn;
    ps_status st = share_op(c->space, OP_CLAIM, 0, key, NULL, claimed_out);
    if (st != PS_OK || *claimed_out)
        return st;
    return remote_owner_op(c, OP_CLAIM, 0, key, claimed_out);
}

static ps_status mpi_not_found(const char *key);

static ps_status mpi_set_expiry(ps_connector *conn, const char *key, uint64_t expires_ms)
{
    mpi_conn *c = (mpi_conn *)conn;
    bool hit = false;
    ps_status st = share_op(c->space, OP_SET_EXPIRY, expires_ms, key, NULL, &hit);
    if (st != PS_ERR_NOT_FOUND)
        return st;
    ps_error_clear();
    if ((st = remote_owner_op(c, OP_SET_EXPIRY, expires_ms, key, &hit)) != PS_OK)
        return st;
    return hit ? PS_OK : mpi_not_found(key);
}

/*
 * get for n keys: from here when the object is here, else from the rank the
 * key names (a view when it is in that rank's arena); a key the caller
 * chose is looked for in the same-node ranks' arenas, and asked (exists)
 * only of the ranks below the first arena that has it that could hold it
 * elsewhere (the lowest rank that has it serves it).  All requests go out
 * before any reply is awaited, so a batch costs one round trip per owner,
 * not per object.
 */
static ps_status mpi_get_batch(ps_connector *conn, size_t n, const char *const keys[], ps_blob out[])
{
    mpi_conn *c = (mpi_conn *)conn;
    memset(out, 0, n * sizeof *out);
    plan find = {0}, fetch = {0};
    ps_status st = PS_OK;
    bool queued = false;
    for (size_t i = 0; i < n && st == PS_OK; i++) {
        bool here = false;
        st = share_op(c->space, OP_GET, 0, keys[i], &out[i], &here);
        if (st == PS_OK || st != PS_ERR_NOT_FOUND)
            continue;
        st = PS_OK;
        memset(&out[i], 0, sizeof out[i]);
        if (!atomic_load(&svc.up))
            continue;
        bool found = false;
        st = route_op(c->space, OP_GET, 0, n, keys[i], i, &fetch, &find, &queued, &out[i], &found);
    }
    bool fetching = fetch.calls != NULL;
    if (st == PS_OK && find.calls && (st = calls_run(find.calls, find.ncalls, OP_EXISTS, 0, c->space,
                                                  c->timeout_ms)) == PS_OK) {
        /* The lowest rank that has each key fetches it. */
        bool *placed = ps_calloc(n, sizeof *placed);
        if (!placed)
            st = PS_ERR_NO_MEMORY;
        for (size_t k = 0; placed && k < find.ncalls; k++)
            for (size_t j = 0; j < find.calls[k].n; j++) {
                size_t i = find.calls[k].index[j];
                if (!find.calls[k].status[j] || placed[i])
                    continue;
                if (!fetch.calls && (st = plan_init(&fetch, n)) != PS_OK)
                    break;
                placed[i] = true;
                ps_blob_release(&out[i]); /* a higher rank's view: the lower rank's object wins */
                call_add(&fetch.calls[k], keys[i], i);
                fetching = true;
            }
        free(placed);
    }
    if (st == PS_OK && fetching && (st = calls_run(fetch.calls, fetch.ncalls, OP_GET, 0, c->space,
                                                   c->timeout_ms)) == PS_OK)
        st = receive_objects(fetch.calls, fetch.ncalls, out, c->timeout_ms);
    plan_free(&find);
    plan_free(&fetch);
    if (st != PS_OK)
        for (size_t i = 0; i < n; i++)
            ps_blob_release(&out[i]);
    return st;
}

static ps_status mpi_get(ps_connector *conn, const char *key, ps_blob *out)
{
    ps_status st = mpi_get_batch(conn, 1, &key, out);
    if (st != PS_OK || out->data)
        return st;
    return mpi_not_found(key);
}

/* This rank's share of the space: the objects it holds, not the job's. */
static ps_status mpi_list(ps_connector *conn, ps_list_fn fn, void *ctx)
{
    mpi_space *s = ((mpi_conn *)conn)->space;
    shm_arena *a = atomic_load(&s->arena);
    if (a) {
        bool stopped = false;
        ps_status st = shm_arena_list_entries(a, "", fn, ctx, &stopped);
        if (st != PS_OK || stopped)
            return st;
    }
    return s->objects->ops->list(s->objects, fn, ctx);
}

/* PS_ERR_NOT_FOUND for key, saying where it was looked for. */
static ps_status mpi_not_found(const char *key)
{
    int rank;
    const char *why;
    if (!atomic_load(&svc.up))
        return ps_error_set(PS_ERR_NOT_FOUND, "no object under key '%s' on this rank, and no other rank can be "
                            "asked: ps_mpi_init has not run or ps_mpi_finalize has", key);
    route_kind route = key_route(key, &rank, &why);
    if (route == ROUTE_FOREIGN)
        return ps_error_set(PS_ERR_NOT_FOUND, "no object under key '%s' in this MPI job: %s", key, why);
    if (route == ROUTE_RANK || route == ROUTE_HERE)
        return ps_error_set(PS_ERR_NOT_FOUND, "no object under key '%s' on rank %d, which owns it%s", key, rank,
                            route == ROUTE_HERE ? " (this rank)" : "");
    return ps_error_set(PS_ERR_NOT_FOUND, "no object under key '%s' on any rank of the mpi store", key);
}

const ps_connector_ops ps_mpi_connector = {
    .scheme = "mpi",
    .open = mpi_open,
    .close = mpi_close,
    .new_key = mpi_new_key,
    .put = mpi_put,
    .put_hashing = mpi_put_hashing,
    .get = mpi_get,
    .exists = mpi_exists,
    .evict = mpi_evict,
    .put_batch = mpi_put_batch,
    .get_batch = mpi_get_batch,
    .exists_batch = mpi_exists_batch,
    .evict_batch = mpi_evict_batch,
    .claim = mpi_claim,
    .set_expiry = mpi_set_expiry,
    .list = mpi_list,
};

/* ------------------------------------------------------ init / finalize */

/* Which ranks share this rank's node (collective over svc.comm), and
 * /dev/shm for the arenas; on any failure every rank keeps its objects on
 * the heap. */
static void find_node_peers(void)
{
    MPI_Comm node = MPI_COMM_NULL;
    int leader = svc.rank, node_rank = 0;
    if (MPI_Comm_split_type(svc.comm, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node) == MPI_SUCCESS) {
        MPI_Comm_rank(node, &node_rank);
        MPI_Bcast(&leader, 1, MPI_INT, 0, node); /* the node's lowest rank names it */
        MPI_Comm_free(&node);
    }
    svc.node_of = malloc((size_t)svc.size * sizeof *svc.node_of);
    svc.shm_dir = open(SHM_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int mine = svc.node_of && svc.shm_dir >= 0, all = 0;
    MPI_Allreduce(&mine, &all, 1, MPI_INT, MPI_MIN, svc.comm);
    if (all && MPI_Allgather(&leader, 1, MPI_INT, svc.node_of, 1, MPI_INT, svc.comm) == MPI_SUCCESS) {
        svc.node_peers = 0;
        for (int r = 0; r < svc.size; r++)
            svc.node_peers += same_node(r);
    } else {
        free(svc.node_of);
        svc.node_of = NULL;
        svc.node_peers = 0;
    }
    if (node_rank == 0 && svc.shm_dir >= 0)
        ps_mpi_remove_abandoned_arenas(SHM_DIR, ABANDONED_ARENA_AGE_S);
}

size_t ps_mpi_remove_abandoned_arenas(const char *dir, int min_age_s)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    size_t removed = 0;
    size_t plen = strlen(ARENA_PREFIX), slen = strlen(ARENA_SUFFIX);
    for (struct dirent *e; (e = readdir(d));) {
        size_t len = strlen(e->d_name);
        if (len > plen + slen && strncmp(e->d_name, ARENA_PREFIX, plen) == 0 &&
            strcmp(e->d_name + len - slen, ARENA_SUFFIX) == 0)
            removed += shm_arena_remove_abandoned(dirfd(d), e->d_name, min_age_s);
    }
    closedir(d);
    return removed;
}

/* Unmap the peers' arenas and remove this rank's arena files (their
 * objects stay readable here until the space closes). */
static void leave_arenas(void)
{
    pthread_mutex_lock(&svc.lock);
    for (mpi_space *s = svc.spaces; s; s = s->next) {
        pthread_mutex_lock(&s->arena_lock);
        peers_close(s, svc.size);
        shm_arena *own = atomic_load(&s->arena);
        if (own)
            shm_arena_retire(own);
        pthread_mutex_unlock(&s->arena_lock);
    }
    pthread_mutex_unlock(&svc.lock);
    free(svc.node_of);
    svc.node_of = NULL;
    svc.node_peers = 0;
    if (svc.shm_dir >= 0)
        close(svc.shm_dir);
    svc.shm_dir = -1;
}

/* Stop serving: every rank first waits for all the others, so no peer
 * still needs an object from here. */
static ps_status leave_job(void)
{
    pthread_mutex_lock(&svc.state_lock);
    if (!atomic_load(&svc.up)) {
        pthread_mutex_unlock(&svc.state_lock);
        return PS_OK;
    }
    int rc = MPI_Barrier(svc.comm);
    atomic_store(&svc.up, false);
    atomic_store(&svc.stop, true);
    pthread_join(svc.thread, NULL);
    free(svc.sends);
    free(svc.send_info);
    svc.sends = NULL;
    svc.send_info = NULL;
    svc.nsends = svc.cap_sends = 0;
    leave_arenas();
    MPI_Comm_free(&svc.comm);
    svc.rank = -1;
    pool_empty();
    pthread_mutex_unlock(&svc.state_lock);
    return rc == MPI_SUCCESS ? PS_OK : mpi_failed(rc, "the closing barrier", -1);
}

/* MPI_Finalize deletes MPI_COMM_SELF's attributes first thing, while MPI
 * still works: the hook that leaves the job for a program that did not. */
static int on_self_delete(MPI_Comm comm, int keyval, void *value, void *extra)
{
    (void)comm, (void)keyval, (void)value, (void)extra;
    leave_job();
    return MPI_SUCCESS;
}

ps_status ps_mpi_init(MPI_Comm comm)
{
    int init = 0, fin = 0, level = MPI_THREAD_SINGLE;
    MPI_Initialized(&init);
    MPI_Finalized(&fin);
    if (!init || fin)
        return ps_error_set(PS_ERR_STATE, "ps_mpi_init: MPI is %s", fin ? "already finalized" : "not initialised");
    MPI_Query_thread(&level);
    if (level < MPI_THREAD_MULTIPLE)
        return ps_error_set(PS_ERR_STATE, "ps_mpi_init: MPI was initialised with thread level %d; the mpi "
                            "connector serves peers from a thread and needs MPI_THREAD_MULTIPLE (%d): use "
                            "MPI_Init_thread", level, MPI_THREAD_MULTIPLE);
    if (comm == MPI_COMM_NULL)
        return ps_error_set(PS_ERR_INVALID_ARGUMENT, "ps_mpi_init: MPI_COMM_NULL given");
    pthread_mutex_lock(&svc.state_lock);
    if (atomic_load(&svc.up)) {
        pthread_mutex_unlock(&svc.state_lock);
        return ps_error_set(PS_ERR_STATE, "ps_mpi_init: already initialised (call ps_mpi_finalize first)");
    }
    int rc = MPI_Comm_dup(comm, &svc.comm);
    if (rc != MPI_SUCCESS) {
        pthread_mutex_unlock(&svc.state_lock);
        return mpi_failed(rc, "duplicating the communicator", -1);
    }
    MPI_Comm_set_errhandler(svc.comm, MPI_ERRORS_RETURN);
    MPI_Comm_rank(svc.comm, &svc.rank);
    MPI_Comm_size(svc.comm, &svc.size);
    int *tag_ub = NULL, have = 0;
    MPI_Comm_get_attr(MPI_COMM_WORLD, MPI_TAG_UB, &tag_ub, &have);
    svc.tag_ub = have && tag_ub ? *tag_ub : 32767;

    /* The job identity: 64 random bits drawn by rank 0. */
    uint64_t job = 0;
    int ok = 1;
    if (svc.rank == 0 && getrandom(&job, sizeof job, 0) != (ssize_t)sizeof job)
        ok = 0;
    MPI_Bcast(&job, 1, MPI_UINT64_T, 0, svc.comm);
    snprintf(svc.job, sizeof svc.job, "%016llx", (unsigned long long)job);
    atomic_store(&svc.stop, false);
    if (ok && pthread_create(&svc.thread, NULL, service_main, NULL) != 0)
        ok = -1;
    int all_ok = 0, mine = ok == 1;
    MPI_Allreduce(&mine, &all_ok, 1, MPI_INT, MPI_MIN, svc.comm);
    if (!all_ok) {
        if (ok == 1) {
            atomic_store(&svc.stop, true);
            pthread_join(svc.thread, NULL);
        }
        MPI_Comm_free(&svc.comm);
        svc.rank = -1;
        pthread_mutex_unlock(&svc.state_lock);
        return ps_error_set(PS_ERR_STATE, "ps_mpi_init: %s", ok == 1 ? "another rank failed to start its service"
                            : ok == 0 ? "getrandom failed" : "could not start the service thread");
    }
    find_node_peers();
    atomic_store(&svc.up, true);
    if (svc.self_keyval == MPI_KEYVAL_INVALID)
        MPI_Comm_create_keyval(MPI_COMM_NULL_COPY_FN, on_self_delete, &svc.self_keyval, NULL);
    MPI_Comm_set_attr(MPI_COMM_SELF, svc.self_keyval, NULL);
    pthread_mutex_unlock(&svc.state_lock);
    return PS_OK;
}

ps_status ps_mpi_finalize(void)
{
    int fin = 0;
    MPI_Finalized(&fin);
    if (fin || !atomic_load(&svc.up))
        return PS_OK;
    ps_status st = leave_job();
    MPI_Comm_delete_attr(MPI_COMM_SELF, svc.self_keyval); /* the hook then finds nothing to do */
    return st;
}

int ps_mpi_rank(void)
{
    return atomic_load(&svc.up) ? svc.rank : -1;
}
