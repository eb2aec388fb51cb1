/* shm_arena.c — see shm_arena.h. */
#include "shm_arena.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <xxhash.h>

#include "connector_file_io.h"
#include "error.h"
#include "hash.h"
#include "object.h"

#define ARENA_MAGIC 0x31414e4552415350ULL /* "PSARENA1" */
#define ARENA_VERSION 1
#define NONE UINT32_MAX
#define WORDS (SHM_ARENA_SLOTS / 64)
#define ALIGN 64            /* objects start on a cache line (blobs need 16) */
#define PAGE 4096
#define LOCK_WAIT_S 10      /* a lock held longer than this is reported, not waited for */
/* Objects up to this size are copied while the lock is held: one lock round
 * instead of two per put, and the lock held for at most a few microseconds.
 * Larger copies run outside it, so that other processes' puts and resolves
 * never wait for a long copy. */
#define FILL_UNDER_LOCK_MAX (256 * 1024)
#define BYTES_PER_ENTRY (16 * 1024)
#define MIN_ENTRIES 256
#define MAX_ENTRIES 65536

enum { E_FREE = 0, E_WRITING, E_LIVE, E_ZOMBIE };

typedef struct arena_slot {
    int32_t pid; /* 0: free */
    uint32_t unused;
} arena_slot;

/* One object.  state is written last when an entry changes, so the entries
 * alone say what the arena holds (repair() rebuilds everything else). */
typedef struct arena_entry {
    uint32_t state;
    uint32_t writer;     /* the slot that put it */
    uint32_t prev, next; /* neighbours by offset; next links the free list when FREE */
    uint64_t offset;     /* into data */
    uint64_t size;       /* bytes reserved (len rounded up) */
    uint64_t len;        /* bytes of the object */
    uint64_t seq;        /* put order: of two live entries of one key, the later wins */
    uint64_t hash;       /* of the key */
    int64_t put_ms;      /* Unix time of the put, for listings */
    uint32_t owned;      /* removed when its writer closes (cleared by disown) */
    uint32_t unused;
    uint64_t readers[WORDS]; /* slots that hold blobs of it */
    char key[PS_KEY_MAX];
} arena_entry;

typedef struct arena_header {
    _Atomic uint64_t magic; /* set last at creation: a complete header */
    uint32_t version;
    uint32_t nentries;
    uint32_t nindex; /* a power of two, at least twice nentries */
    uint32_t retired; /* the file was unlinked: opening it again must retry */
    uint64_t entries_off, index_off, data_off, data_size, file_size;
    pthread_mutex_t lock;
    uint64_t seq;
    uint64_t used;
    uint32_t head, hint, free_list; /* hint: see find_gap */
    uint32_t live, zombies;
    _Atomic uint32_t elsewhere;
    arena_slot slots[SHM_ARENA_SLOTS];
} arena_header;

struct shm_arena {
    arena_header *h;
    unsigned char *base;
    size_t map_len;
    arena_entry *e;
    uint32_t *index;
    unsigned char *data;
    int dirfd; /* our own duplicate: the arena may outlive its connector */
    dev_t dev;
    ino_t ino;
    char name[256];
    char where[96];
    uint32_t slot;   /* NONE until attached */
    pid_t pid;       /* the process slot belongs to (a forked child attaches anew) */
    unsigned forks_seen; /* the fork count when slot was taken */
    uint32_t *local; /* blobs this process holds, per entry */
    atomic_uint refs; /* the connector's, plus one per blob handed out */
};

/* What a blob of the arena carries to its release. */
typedef struct arena_hold {
    shm_arena *a;
    uint32_t idx;
    pid_t pid;
} arena_hold;

/* Forks of this process's line seen here, counted in the child by a fork
 * handler: how a forked child finds out it must take a slot of its own
 * (getpid() is a system call, too dear for every lock). */
static atomic_uint forks;
static pthread_once_t fork_watch = PTHREAD_ONCE_INIT;

static void count_fork(void) { atomic_fetch_add_explicit(&forks, 1, memory_order_relaxed); }
static void watch_forks(void) { pthread_atfork(NULL, NULL, count_fork); }

/* Unix time in ms for put times and listed ages.  The coarse clock (a few
 * ms of resolution, about 6 ns a read here against 25 ns): every put
 * stamps its object, and ages are shown in seconds. */
static int64_t now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME_COARSE, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static bool pid_alive(int32_t pid)
{
    return pid > 0 && (kill(pid, 0) == 0 || errno == EPERM);
}

static uint64_t key_hash(const char *key) { return XXH3_64bits(key, strlen(key)); }

static uint64_t round_up(uint64_t n, uint64_t to) { return (n + to - 1) / to * to; }

/* ------------------------------------------------------- reader bits */

static void set_reader(arena_entry *e, uint32_t s) { e->readers[s / 64] |= (uint64_t)1 << (s % 64); }
static void clear_reader(arena_entry *e, uint32_t s) { e->readers[s / 64] &= ~((uint64_t)1 << (s % 64)); }

static bool unread(const arena_entry *e)
{
    for (int w = 0; w < WORDS; w++)
        if (e->readers[w])
            return false;
    return true;
}

/* -------------------------------------------------------- block list */

static void link_block(shm_arena *a, uint32_t after, uint32_t idx)
{
    arena_header *h = a->h;
    arena_entry *e = &a->e[idx];
    e->prev = after;
    e->next = after == NONE ? h->head : a->e[after].next;
    if (e->next != NONE)
        a->e[e->next].prev = idx;
    if (after == NONE)
        h->head = idx;
    else
        a->e[after].next = idx;
}

/* Give an entry's space and the entry back. */
static void free_entry(shm_arena *a, uint32_t idx)
{
    arena_header *h = a->h;
    arena_entry *e = &a->e[idx];
    if (e->prev != NONE)
        a->e[e->prev].next = e->next;
    else
        h->head = e->next;
    if (e->next != NONE)
        a->e[e->next].prev = e->prev;
    /* The gap this leaves starts after e->prev: lower the hint to it. */
    if (h->hint == idx || e->prev == NONE || (h->hint != NONE && a->e[e->prev].offset < a->e[h->hint].offset))
        h->hint = e->prev;
    h->used -= e->size;
    if (e->state == E_ZOMBIE)
        h->zombies--;
    e->state = E_FREE;
    e->next = h->free_list;
    h->free_list = idx;
}

/* A gap of size bytes, the lowest that fits (first fit: space freed by an
 * evict is taken again first, while its pages are still in the caches).
 * *after is the block it follows (NONE: the start of data).  The search
 * starts at h->hint, below which no gap is left. */
static bool find_gap(shm_arena *a, uint64_t size, uint32_t *after, uint64_t *off)
{
    arena_header *h = a->h;
    if (size > h->data_size)
        return false;
    if (h->head == NONE) {
        *after = NONE;
        *off = 0;
        return true;
    }
    bool seen = false; /* a gap of any size was met: the new hint */
    uint32_t hint = NONE;
    uint32_t b = h->hint;
    if (b == NONE) {
        uint64_t gap = a->e[h->head].offset;
        if (gap >= size) {
            *after = NONE;
            *off = 0;
            return true; /* the hint stays: the rest of this gap, if any, is still the lowest */
        }
        seen = gap > 0;
        b = h->head;
    }
    for (; b != NONE; b = a->e[b].next) {
        const arena_entry *e = &a->e[b];
        uint64_t from = e->offset + e->size;
        uint64_t to = e->next == NONE ? h->data_size : a->e[e->next].offset;
        if (to > from && !seen) {
            seen = true;
            hint = b;
        }
        if (to - from >= size) {
            *after = b;
            *off = from;
            h->hint = hint;
            return true;
        }
        if (!seen)
            hint = b;
    }
    h->hint = hint;
    return false;
}

/* ------------------------------------------------------------- index */

/* The index position of key's live entry, or NONE. */
static uint32_t index_find(shm_arena *a, const char *key, uint64_t hash)
{
    uint32_t mask = a->h->nindex - 1;
    for (uint32_t i = (uint32_t)hash & mask;; i = (i + 1) & mask) {
        uint32_t idx = a->index[i];
        if (idx == NONE)
            return NONE;
        if (a->e[idx].hash == hash && strcmp(a->e[idx].key, key) == 0)
            return i;
    }
}

static void index_insert(shm_arena *a, uint32_t idx)
{
    uint32_t mask = a->h->nindex - 1;
    uint32_t i = (uint32_t)a->e[idx].hash & mask;
    while (a->index[i] != NONE)
        i = (i + 1) & mask;
    a->index[i] = idx;
}

/* Linear probing without tombstones: later entries of the run move back. */
static void index_delete(shm_arena *a, uint32_t pos)
{
    uint32_t mask = a->h->nindex - 1;
    uint32_t i = pos, j = pos;
    for (;;) {
        j = (j + 1) & mask;
        uint32_t idx = a->index[j];
        if (idx == NONE)
            break;
        uint32_t home = (uint32_t)a->e[idx].hash & mask;
        /* Move it unless its home lies cyclically in (i, j]. */
        bool stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
        if (!stays) {
            a->index[i] = idx;
            i = j;
        }
    }
    a->index[i] = NONE;
}

/* Take the live entry at index position pos off its key; its space goes
 * once nobody reads it. */
static void remove_live(shm_arena *a, uint32_t pos)
{
    uint32_t idx = a->index[pos];
    index_delete(a, pos);
    a->h->live--;
    if (unread(&a->e[idx])) {
        free_entry(a, idx);
    } else {
        a->e[idx].state = E_ZOMBIE;
        a->h->zombies++;
    }
}

/* ---------------------------------------------------- process slots */

/* Drop everything slot s stood for: its reader bits, its unfinished
 * writes, and the objects it put and still owned (its close would have
 * removed them). */
static void drop_slot(shm_arena *a, uint32_t s)
{
    arena_header *h = a->h;
    for (uint32_t i = 0; i < h->nentries; i++) {
        arena_entry *e = &a->e[i];
        if (e->state == E_FREE)
            continue;
        clear_reader(e, s);
        if (e->state == E_WRITING && e->writer == s) {
            free_entry(a, i);
        } else if (e->state == E_LIVE && e->writer == s && e->owned) {
            uint32_t pos = index_find(a, e->key, e->hash);
            if (pos != NONE && a->index[pos] == i)
                remove_live(a, pos);
        } else if (e->state == E_ZOMBIE && unread(e)) {
            free_entry(a, i);
        }
    }
    h->slots[s].pid = 0;
}

/* Reclaim the slots of processes that are gone.  Whether any was. */
static bool reap_dead(shm_arena *a)
{
    bool any = false;
    for (uint32_t s = 0; s < SHM_ARENA_SLOTS; s++) {
        int32_t pid = a->h->slots[s].pid;
        if (pid && !(s == a->slot && pid == (int32_t)a->pid) && !pid_alive(pid)) {
            drop_slot(a, s);
            any = true;
        }
    }
    return any;
}

/* Take a free slot for this process (lock held). */
static ps_status attach(shm_arena *a)
{
    uint32_t *local = calloc(a->h->nentries, sizeof *local);
    if (!local)
        return ps_error_set(PS_ERR_NO_MEMORY, "%s: out of memory attaching to the arena", a->where);
    reap_dead(a);
    for (uint32_t s = 0; s < SHM_ARENA_SLOTS; s++) {
        if (a->h->slots[s].pid == 0) {
            a->pid = getpid();
            a->h->slots[s].pid = (int32_t)a->pid;
            a->slot = s;
            a->forks_seen = atomic_load_explicit(&forks, memory_order_relaxed);
            free(a->local);
            a->local = local;
            return PS_OK;
        }
    }
    free(local);
    return ps_error_set(PS_ERR_STATE, "%s: the arena has no free process slot (%d processes have it open)",
                        a->where, SHM_ARENA_SLOTS);
}

/* ------------------------------------------------------------ repair */

static int by_offset(const void *x, const void *y, void *arena)
{
    const arena_entry *e = ((shm_arena *)arena)->e;
    const arena_entry *p = &e[*(const uint32_t *)x], *q = &e[*(const uint32_t *)y];
    return p->offset < q->offset ? -1 : p->offset > q->offset;
}

/* A writer died holding the lock: rebuild the block list, the index, the
 * free list and the counters from the entries, then drop dead slots. */
static ps_status repair(shm_arena *a)
{
    arena_header *h = a->h;
    uint32_t n = h->nentries, k = 0;
    uint32_t *order = malloc((size_t)n * sizeof *order);
    if (!order)
        return ps_error_set(PS_ERR_NO_MEMORY, "%s: out of memory repairing the arena", a->where);
    for (uint32_t i = 0; i < n; i++) {
        arena_entry *e = &a->e[i];
        if (e->state > E_ZOMBIE || e->writer >= SHM_ARENA_SLOTS || e->offset > h->data_size ||
            e->size > h->data_size - e->offset)
            e->state = E_FREE;
        if (e->state != E_FREE)
            order[k++] = i;
    }
    qsort_r(order, k, sizeof *order, by_offset, a);

    h->head = h->hint = h->free_list = NONE;
    h->used = 0;
    h->live = h->zombies = 0;
    for (uint32_t i = 0; i < h->nindex; i++)
        a->index[i] = NONE;
    uint32_t last = NONE;
    for (uint32_t j = 0; j < k; j++) {
        arena_entry *e = &a->e[order[j]];
        if (last != NONE && a->e[last].offset + a->e[last].size > e->offset) {
            e->state = E_FREE; /* overlaps: the half-made one of the two */
            continue;
        }
        e->key[PS_KEY_MAX - 1] = '\0';
        e->hash = key_hash(e->key);
        link_block(a, last, order[j]);
        h->used += e->size;
        last = order[j];
        if (e->state == E_LIVE) {
            uint32_t pos = index_find(a, e->key, e->hash);
            if (pos == NONE) {
                index_insert(a, order[j]);
                h->live++;
                continue;
            }
            uint32_t other = a->index[pos];
            uint32_t older = a->e[other].seq < e->seq ? other : order[j];
            if (older == other)
                a->index[pos] = order[j];
            a->e[older].state = E_ZOMBIE;
            h->zombies++;
        } else if (e->state == E_ZOMBIE) {
            h->zombies++;
        }
    }
    free(order);
    for (uint32_t i = n; i-- > 0;) {
        if (a->e[i].state == E_FREE) {
            a->e[i].next = h->free_list;
            h->free_list = i;
        }
    }
    h->hint = NONE;
    /* Zombies nobody reads any more, and whatever the dead held. */
    for (uint32_t i = 0; i < n; i++)
        if (a->e[i].state == E_ZOMBIE && unread(&a->e[i]))
            free_entry(a, i);
    reap_dead(a);
    return PS_OK;
}

/* -------------------------------------------------------------- lock */

static ps_status arena_lock(shm_arena *a)
{
    /* Uncontended, the lock is taken without reading the clock for a
     * deadline (every put takes it twice). */
    int rc = pthread_mutex_trylock(&a->h->lock);
    if (rc == EBUSY) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += LOCK_WAIT_S;
        rc = pthread_mutex_timedlock(&a->h->lock, &until);
    }
    if (rc == EOWNERDEAD) {
        ps_status st = repair(a);
        if (st != PS_OK) {
            pthread_mutex_unlock(&a->h->lock); /* not consistent: later lockers get an error */
            return st;
        }
        pthread_mutex_consistent(&a->h->lock);
        rc = 0;
    }
    if (rc == ETIMEDOUT)
        return ps_error_set(PS_ERR_TIMEOUT, "%s: the arena's lock was held for %d s (a process stopped "
                            "while holding it?)", a->where, LOCK_WAIT_S);
    if (rc != 0) {
        errno = rc;
        return ps_error_errno(PS_ERR_IO, "%s: cannot lock the arena", a->where);
    }
    if (a->slot == NONE || a->forks_seen != atomic_load_explicit(&forks, memory_order_relaxed)) {
        /* Not attached yet, or a forked child: the parent's slot is not ours. */
        ps_status st = attach(a);
        if (st != PS_OK) {
            pthread_mutex_unlock(&a->h->lock);
            return st;
        }
    }
    return PS_OK;
}

static void arena_unlock(shm_arena *a) { pthread_mutex_unlock(&a->h->lock); }

/* ------------------------------------------------------ open / close */

static void unmap(shm_arena *a)
{
    if (a->base)
        munmap(a->base, a->map_len);
    a->base = NULL;
}

/* Lay out and initialise a new arena file of size bytes of object space. */
static ps_status init_header(shm_arena *a, int fd, uint64_t size)
{
    uint64_t data_size = round_up(size ? size : PAGE, PAGE);
    uint64_t n = data_size / BYTES_PER_ENTRY;
    n = n < MIN_ENTRIES ? MIN_ENTRIES : n > MAX_ENTRIES ? MAX_ENTRIES : n;
    uint32_t nindex = 1;
    while (nindex < 2 * n)
        nindex <<= 1;
    uint64_t entries_off = round_up(sizeof(arena_header), ALIGN);
    uint64_t index_off = round_up(entries_off + n * sizeof(arena_entry), ALIGN);
    uint64_t data_off = round_up(index_off + (uint64_t)nindex * sizeof(uint32_t), PAGE);
    uint64_t file_size = data_off + data_size;
    /* Reserve every page now: later writes into the mapping cannot fail. */
    int err = posix_fallocate(fd, 0, (off_t)file_size);
    if (err) {
        errno = err;
        return ps_error_errno(PS_ERR_IO, "%s: cannot reserve %llu bytes for the arena in /dev/shm", a->where,
                              (unsigned long long)file_size);
    }
    void *map = mmap(NULL, file_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, 0);
    if (map == MAP_FAILED)
        return ps_error_errno(PS_ERR_IO, "%s: cannot map the arena (%llu bytes)", a->where,
                              (unsigned long long)file_size);
    a->base = map;
    a->map_len = file_size;
    arena_header *h = map;
    h->version = ARENA_VERSION;
    h->nentries = (uint32_t)n;
    h->nindex = nindex;
    h->entries_off = entries_off;
    h->index_off = index_off;
    h->data_off = data_off;
    h->data_size = data_size;
    h->file_size = file_size;
    h->head = h->hint = NONE;
    arena_entry *e = (arena_entry *)(a->base + entries_off);
    for (uint32_t i = 0; i < n; i++)
        e[i].next = i + 1 < n ? i + 1 : NONE;
    h->free_list = 0;
    memset(a->base + index_off, 0xff, (size_t)nindex * sizeof(uint32_t));
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
    pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
    pthread_mutex_init(&h->lock, &attr);
    pthread_mutexattr_destroy(&attr);
    atomic_store_explicit(&h->magic, ARENA_MAGIC, memory_order_release);
    return PS_OK;
}

/* Map an existing arena file. */
static ps_status map_existing(shm_arena *a, int fd)
{
    struct stat sb;
    if (fstat(fd, &sb) != 0)
        return ps_error_errno(PS_ERR_IO, "%s: cannot stat the arena", a->where);
    if (!S_ISREG(sb.st_mode) || (uint64_t)sb.st_size < sizeof(arena_header))
        return ps_error_set(PS_ERR_BAD_DATA, "%s: /dev/shm/%s is not an arena", a->where, a->name);
    void *map = mmap(NULL, (size_t)sb.st_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, 0);
    if (map == MAP_FAILED)
        return ps_error_errno(PS_ERR_IO, "%s: cannot map the arena", a->where);
    a->base = map;
    a->map_len = (size_t)sb.st_size;
    const arena_header *h = map;
    if (atomic_load_explicit(&((arena_header *)map)->magic, memory_order_acquire) != ARENA_MAGIC ||
        h->version != ARENA_VERSION || h->file_size != (uint64_t)sb.st_size || h->nentries == 0 ||
        h->nindex < 2 * h->nentries || (h->nindex & (h->nindex - 1)) ||
        h->index_off + (uint64_t)h->nindex * 4 > h->data_off || h->data_off + h->data_size != h->file_size ||
        h->entries_off + (uint64_t)h->nentries * sizeof(arena_entry) > h->index_off) {
        unmap(a);
        return ps_error_set(PS_ERR_BAD_DATA, "%s: /dev/shm/%s is not an arena of this version", a->where,
                            a->name);
    }
    return PS_OK;
}

ps_status shm_arena_open(int dirfd, const char *name, uint64_t size, const char *where, shm_arena **out)
{
    *out = NULL;
    pthread_once(&fork_watch, watch_forks);
    shm_arena *a = ps_calloc(1, sizeof *a);
    if (!a)
        return PS_ERR_NO_MEMORY;
    snprintf(a->name, sizeof a->name, "%s", name);
    snprintf(a->where, sizeof a->where, "%s", where);
    a->dirfd = fcntl(dirfd, F_DUPFD_CLOEXEC, 0);
    if (a->dirfd < 0) {
        free(a);
        return ps_error_errno(PS_ERR_IO, "%s: cannot open the arena", where);
    }
    /* Temporaries while creating get the store's leftover names, which
     * ps-store gc knows: "ps-NAME+" is the arena name without ".arena". */
    char prefix[256];
    snprintf(prefix, sizeof prefix, "%.*s", (int)(strlen(name) - strlen(".arena")), name);
    ps_status st = PS_OK;
    for (int attempt = 0; attempt < 8; attempt++) {
        int fd = openat(a->dirfd, name, O_RDWR | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
        if (fd >= 0) {
            st = map_existing(a, fd);
        } else if (errno == ENOENT && size == 0) {
            st = ps_error_set(PS_ERR_NOT_FOUND, "%s: no arena /dev/shm/%s", where, name);
            break;
        } else if (errno == ENOENT) {
            atomic_bool nameless = true;
            char temp[320];
            fd = ps_conn_create_object(a->dirfd, prefix, &nameless, temp, sizeof temp, 0600);
            if (fd < 0) {
                st = ps_error_errno(PS_ERR_IO, "%s: cannot create the arena in /dev/shm", where);
                break;
            }
            st = init_header(a, fd, size);
            if (st == PS_OK && ps_conn_publish_new(a->dirfd, fd, prefix, &nameless, temp, sizeof temp, name) != 0) {
                int err = errno;
                unmap(a);
                if (err != EEXIST) { /* EEXIST: another process made it first; open that */
                    errno = err;
                    st = ps_error_errno(PS_ERR_IO, "%s: cannot publish the arena /dev/shm/%s", where, name);
                }
            }
            if (temp[0])
                unlinkat(a->dirfd, temp, 0);
        } else {
            st = ps_error_errno(PS_ERR_IO, "%s: cannot open the arena /dev/shm/%s", where, name);
            break;
        }
        struct stat sb;
        if (st == PS_OK && a->base && fstat(fd, &sb) == 0) {
            a->dev = sb.st_dev;
            a->ino = sb.st_ino;
        }
        close(fd);
        if (st != PS_OK)
            break;
        if (!a->base)
            continue; /* lost the race to create it */
        a->h = (arena_header *)a->base;
        a->e = (arena_entry *)(a->base + a->h->entries_off);
        a->index = (uint32_t *)(a->base + a->h->index_off);
        a->data = a->base + a->h->data_off;
        a->slot = NONE; /* arena_lock attaches */
        if ((st = arena_lock(a)) != PS_OK) {
            unmap(a);
            break;
        }
        bool retired = a->h->retired;
        if (retired) /* its last user removed it as we opened it: give the slot back */
            a->h->slots[a->slot].pid = 0;
        arena_unlock(a);
        if (!retired) {
            atomic_init(&a->refs, 1);
            *out = a;
            return PS_OK;
        }
        unmap(a);
        free(a->local);
        a->local = NULL;
    }
    if (st == PS_OK)
        st = ps_error_set(PS_ERR_IO, "%s: the arena kept being removed while opening it", where);
    close(a->dirfd);
    free(a->local);
    free(a);
    return st;
}

/* The last reference: detach, and remove the file if nobody uses it. */
static void arena_destroy(shm_arena *a)
{
    if (arena_lock(a) == PS_OK) {
        arena_header *h = a->h;
        for (uint32_t i = 0; i < h->nentries; i++)
            if (a->e[i].state != E_FREE)
                clear_reader(&a->e[i], a->slot);
        h->slots[a->slot].pid = 0;
        reap_dead(a);
        bool attached = false;
        for (uint32_t s = 0; s < SHM_ARENA_SLOTS; s++)
            attached |= h->slots[s].pid != 0;
        struct stat sb;
        if (!attached && h->head == NONE && fstatat(a->dirfd, a->name, &sb, AT_SYMLINK_NOFOLLOW) == 0 &&
            sb.st_dev == a->dev && sb.st_ino == a->ino) {
            h->retired = 1;
            unlinkat(a->dirfd, a->name, 0);
        }
        arena_unlock(a);
    }
    unmap(a);
    close(a->dirfd);
    free(a->local);
    free(a);
}

static void arena_unref(shm_arena *a)
{
    if (atomic_fetch_sub_explicit(&a->refs, 1, memory_order_acq_rel) == 1)
        arena_destroy(a);
}

void shm_arena_close(shm_arena *a)
{
    if (!a)
        return;
    if (arena_lock(a) == PS_OK) {
        for (uint32_t i = 0; i < a->h->nentries; i++) {
            arena_entry *e = &a->e[i];
            if (e->state == E_LIVE && e->writer == a->slot && e->owned) {
                uint32_t pos = index_find(a, e->key, e->hash);
                if (pos != NONE && a->index[pos] == i)
                    remove_live(a, pos);
            }
        }
        arena_unlock(a);
    }
    arena_unref(a);
}

void shm_arena_retire(shm_arena *a)
{
    if (arena_lock(a) != PS_OK)
        return;
    struct stat sb;
    if (!a->h->retired && fstatat(a->dirfd, a->name, &sb, AT_SYMLINK_NOFOLLOW) == 0 && sb.st_dev == a->dev &&
        sb.st_ino == a->ino)
        unlinkat(a->dirfd, a->name, 0);
    __atomic_store_n(&a->h->retired, 1, __ATOMIC_RELEASE);
    arena_unlock(a);
}

bool shm_arena_retired(const shm_arena *a)
{
    return __atomic_load_n(&a->h->retired, __ATOMIC_ACQUIRE) != 0;
}

/* Only the header is mapped, and no lock taken: the lock of an abandoned
 * arena may be held by its dead owner, and a live arena always has its
 * creator's slot (taken before the file is min_age_s old). */
bool shm_arena_remove_abandoned(int dirfd, const char *name, int min_age_s)
{
    int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return false;
    struct stat sb;
    bool remove = false;
    if (fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) && (uint64_t)sb.st_size >= sizeof(arena_header) &&
        time(NULL) - sb.st_ctime >= min_age_s) {
        arena_header *h = mmap(NULL, sizeof *h, PROT_READ, MAP_SHARED, fd, 0);
        if (h != MAP_FAILED) {
            remove = atomic_load_explicit(&h->magic, memory_order_acquire) == ARENA_MAGIC &&
                     h->version == ARENA_VERSION;
            for (uint32_t s = 0; remove && s < SHM_ARENA_SLOTS; s++)
                remove = !pid_alive(h->slots[s].pid);
            munmap(h, sizeof *h);
        }
    }
    struct stat now;
    /* Still the file examined (not one created under the name since). */
    if (remove && fstatat(dirfd, name, &now, AT_SYMLINK_NOFOLLOW) == 0 && now.st_ino == sb.st_ino &&
        now.st_dev == sb.st_dev)
        remove = unlinkat(dirfd, name, 0) == 0;
    else
        remove = false;
    close(fd);
    return remove;
}

/* ---------------------------------------------------------- objects */

ps_status shm_arena_put_fill(shm_arena *a, const char *key, size_t len, void (*fill)(void *dst, void *ctx),
                             void *ctx, void (*remove_stale)(void *stale_ctx), void *stale_ctx, bool *placed)
{
    *placed = false;
    uint64_t size = round_up(len ? len : 1, ALIGN);
    uint64_t hash = key_hash(key);
    ps_status st = arena_lock(a);
    if (st != PS_OK)
        return st;
    arena_header *h = a->h;
    uint32_t after;
    uint64_t off;
    bool fits = h->free_list != NONE && find_gap(a, size, &after, &off);
    if (!fits && size <= h->data_size && reap_dead(a)) /* a dead reader may have pinned the space */
        fits = h->free_list != NONE && find_gap(a, size, &after, &off);
    if (!fits) {
        arena_unlock(a);
        return PS_OK;
    }
    uint32_t idx = h->free_list;
    arena_entry *e = &a->e[idx];
    h->free_list = e->next;
    e->offset = off;
    e->size = size;
    e->len = len;
    e->writer = a->slot;
    e->owned = 1;
    e->hash = hash;
    e->put_ms = now_ms();
    memset(e->readers, 0, sizeof e->readers);
    size_t key_len = strnlen(key, sizeof e->key - 1);
    memcpy(e->key, key, key_len);
    e->key[key_len] = '\0';
    link_block(a, after, idx);
    h->used += size;
    e->state = E_WRITING;
    if (len <= FILL_UNDER_LOCK_MAX) {
        fill(a->data + off, ctx);
    } else {
        arena_unlock(a);
        /* The copy, outside the lock: the space is ours alone until published. */
        fill(a->data + off, ctx);
        if ((st = arena_lock(a)) != PS_OK)
            return st; /* the entry stays WRITING; it goes with this process's slot */
    }
    e->seq = ++h->seq;
    uint32_t pos = index_find(a, key, hash);
    if (pos != NONE)
        remove_live(a, pos);
    /* Under the lock, as a put elsewhere publishes under it: the newest put
     * of a key wins, wherever each went. */
    if (remove_stale && atomic_load_explicit(&h->elsewhere, memory_order_relaxed))
        remove_stale(stale_ctx);
    index_insert(a, idx);
    h->live++;
    e->state = E_LIVE;
    arena_unlock(a);
    *placed = true;
    return PS_OK;
}

typedef struct gather {
    const ps_iov *parts;
    size_t nparts;
} gather;

static void fill_gather(void *dst, void *ctx)
{
    const gather *g = ctx;
    unsigned char *d = dst;
    for (size_t i = 0; i < g->nparts; i++) {
        memcpy(d, g->parts[i].base, g->parts[i].len);
        d += g->parts[i].len;
    }
}

ps_status shm_arena_put(shm_arena *a, const char *key, const ps_iov *parts, size_t nparts,
                        void (*remove_stale)(void *stale_ctx), void *stale_ctx, bool *placed)
{
    gather g = {parts, nparts};
    return shm_arena_put_fill(a, key, ps_iov_total(parts, nparts), fill_gather, &g, remove_stale, stale_ctx,
                              placed);
}

/* The payload copied and hashed in one pass, then the header with the hash
 * written before it. */
typedef struct hashing_fill {
    unsigned char *header;
    const void *payload;
    size_t len;
    uint64_t hash;
} hashing_fill;

static void fill_hashing(void *dst, void *ctx)
{
    hashing_fill *h = ctx;
    unsigned char *d = dst;
    h->hash = ps_payload_copy_hash(d + PS_OBJECT_HEADER_SIZE, h->payload, h->len);
    ps_object_hash_set(h->header, h->hash);
    memcpy(d, h->header, PS_OBJECT_HEADER_SIZE);
}

ps_status shm_arena_put_hashing(shm_arena *a, const char *key, unsigned char *header, const void *payload,
                                size_t len, void (*remove_stale)(void *stale_ctx), void *stale_ctx, bool *placed,
                                uint64_t *hash_out)
{
    *placed = false;
    if (len > SIZE_MAX - PS_OBJECT_HEADER_SIZE)
        return PS_OK;
    hashing_fill h = {header, payload, len, 0};
    ps_status st = shm_arena_put_fill(a, key, PS_OBJECT_HEADER_SIZE + len, fill_hashing, &h, remove_stale,
                                      stale_ctx, placed);
    if (st == PS_OK && *placed)
        *hash_out = h.hash;
    return st;
}

static void release_hold(ps_blob *blob)
{
    arena_hold *hold = blob->opaque;
    shm_arena *a = hold->a;
    if (arena_lock(a) == PS_OK) {
        /* A hold made by the parent of a forked child is the parent's. */
        if (hold->pid == a->pid && a->local[hold->idx] > 0 && --a->local[hold->idx] == 0) {
            arena_entry *e = &a->e[hold->idx];
            clear_reader(e, a->slot);
            if (e->state == E_ZOMBIE && unread(e))
                free_entry(a, hold->idx);
        }
        arena_unlock(a);
    }
    free(hold);
    arena_unref(a);
}

/* Take the arena's lock and find key's live entry: *pos is its index
 * position, or NONE.  The key is hashed before the lock is taken. */
static ps_status lock_find(shm_arena *a, const char *key, uint32_t *pos)
{
    uint64_t hash = key_hash(key);
    ps_status st = arena_lock(a);
    if (st == PS_OK)
        *pos = index_find(a, key, hash);
    return st;
}

ps_status shm_arena_get(shm_arena *a, const char *key, ps_blob *out, bool *found)
{
    *found = false;
    arena_hold *hold = malloc(sizeof *hold);
    if (!hold)
        return ps_error_set(PS_ERR_NO_MEMORY, "%s: out of memory reading '%s'", a->where, key);
    uint32_t pos;
    ps_status st = lock_find(a, key, &pos);
    if (st != PS_OK) {
        free(hold);
        return st;
    }
    if (pos != NONE) {
        uint32_t idx = a->index[pos];
        arena_entry *e = &a->e[idx];
        const unsigned char *data = a->data + e->offset;
        if (ps_object_expired(data, e->len)) {
            remove_live(a, pos);
        } else {
            if (a->local[idx]++ == 0)
                set_reader(e, a->slot);
            *hold = (arena_hold){a, idx, a->pid};
            atomic_fetch_add_explicit(&a->refs, 1, memory_order_relaxed);
            out->data = data;
            out->len = e->len;
            out->release = release_hold;
            out->opaque = hold;
            out->private_copy = false;
            *found = true;
        }
    }
    arena_unlock(a);
    if (!*found)
        free(hold);
    return PS_OK;
}

ps_status shm_arena_exists(shm_arena *a, const char *key, bool *found)
{
    *found = false;
    uint32_t pos;
    ps_status st = lock_find(a, key, &pos);
    if (st != PS_OK)
        return st;
    if (pos != NONE) {
        const arena_entry *e = &a->e[a->index[pos]];
        if (ps_object_expired(a->data + e->offset, e->len))
            remove_live(a, pos); /* an expired object reads as missing */
        else
            *found = true;
    }
    arena_unlock(a);
    return PS_OK;
}

ps_status shm_arena_remove(shm_arena *a, const char *key, bool *removed)
{
    uint32_t pos;
    ps_status st = lock_find(a, key, &pos);
    if (st != PS_OK)
        return st;
    *removed = pos != NONE;
    if (*removed)
        remove_live(a, pos);
    arena_unlock(a);
    return PS_OK;
}

ps_status shm_arena_set_expiry(shm_arena *a, const char *key, uint64_t expires_ms, bool *found)
{
    *found = false;
    uint32_t pos;
    ps_status st = lock_find(a, key, &pos);
    if (st != PS_OK)
        return st;
    if (pos != NONE) {
        arena_entry *e = &a->e[a->index[pos]];
        if (e->len < PS_OBJECT_HEADER_SIZE) {
            st = ps_error_set(PS_ERR_BAD_DATA, "%s: the object under key '%s' has no header to hold an expiry",
                              a->where, key);
        } else {
            /* Only these 8 bytes change: readers see the old or the new value. */
            unsigned char bytes[8];
            ps_object_expiry_encode(expires_ms, bytes);
            memcpy(a->data + e->offset + PS_OBJECT_EXPIRY_OFFSET, bytes, sizeof bytes);
            *found = true;
        }
    }
    arena_unlock(a);
    return st;
}

ps_status shm_arena_disown(shm_arena *a, const char *key)
{
    uint32_t pos;
    ps_status st = lock_find(a, key, &pos);
    if (st != PS_OK)
        return st;
    if (pos != NONE)
        a->e[a->index[pos]].owned = 0;
    arena_unlock(a);
    return PS_OK;
}

ps_status shm_arena_lock_elsewhere(shm_arena *a)
{
    ps_status st = arena_lock(a);
    if (st == PS_OK)
        atomic_store_explicit(&a->h->elsewhere, 1, memory_order_relaxed);
    return st;
}

void shm_arena_unlock_elsewhere(shm_arena *a, const char *key, bool published)
{
    if (published) {
        uint32_t pos = index_find(a, key, key_hash(key));
        if (pos != NONE)
            remove_live(a, pos);
    }
    arena_unlock(a);
}

bool shm_arena_has_elsewhere(shm_arena *a)
{
    return atomic_load_explicit(&a->h->elsewhere, memory_order_relaxed) != 0;
}

bool shm_arena_holds(shm_arena *a, const char *key)
{
    /* Called between shm_arena_lock_elsewhere and its unlock. */
    return index_find(a, key, key_hash(key)) != NONE;
}

typedef struct listed {
    char key[PS_KEY_MAX];
    uint64_t len;
    int64_t put_ms;
    unsigned char head[PS_OBJECT_HEADER_SIZE];
    size_t head_len;
} listed;

ps_status shm_arena_list(shm_arena *a, bool (*fn)(const shm_arena_item *item, void *ctx), void *ctx)
{
    ps_status st = arena_lock(a);
    if (st != PS_OK)
        return st;
    reap_dead(a);
    uint32_t n = a->h->live;
    listed *items = n ? malloc((size_t)n * sizeof *items) : NULL;
    if (n && !items) {
        arena_unlock(a);
        return ps_error_set(PS_ERR_NO_MEMORY, "%s: out of memory listing the arena", a->where);
    }
    /* Copied under the lock, reported outside it: the callback may call
     * back into the store. */
    uint32_t k = 0;
    for (uint32_t i = 0; i < a->h->nentries && k < n; i++) {
        const arena_entry *e = &a->e[i];
        if (e->state != E_LIVE)
            continue;
        listed *x = &items[k++];
        memcpy(x->key, e->key, sizeof x->key);
        x->len = e->len;
        x->put_ms = e->put_ms;
        x->head_len = e->len < sizeof x->head ? e->len : sizeof x->head;
        memcpy(x->head, a->data + e->offset, x->head_len);
    }
    arena_unlock(a);
    int64_t now = now_ms();
    for (uint32_t i = 0; i < k; i++) {
        shm_arena_item item = {items[i].key, items[i].len, now > items[i].put_ms ? now - items[i].put_ms : 0,
                               items[i].head, items[i].head_len};
        if (!fn(&item, ctx))
            break;
    }
    free(items);
    return PS_OK;
}

typedef struct entry_listing {
    const char *prefix;
    ps_list_fn fn;
    void *ctx;
    bool stopped;
} entry_listing;

static bool list_entry(const shm_arena_item *item, void *ctx)
{
    entry_listing *l = ctx;
    char entry[256 + PS_KEY_MAX];
    snprintf(entry, sizeof entry, "%s%s", l->prefix, item->key);
    ps_list_entry e = {
        .entry = entry,
        .key = item->key,
        .len = item->len,
        .age_ms = item->age_ms,
        .ttl_ms = -1,
        .head = item->head,
        .head_len = item->head_len,
    };
    l->stopped = !l->fn(&e, l->ctx);
    return !l->stopped;
}

ps_status shm_arena_list_entries(shm_arena *a, const char *entry_prefix, ps_list_fn fn, void *ctx, bool *stopped)
{
    entry_listing l = {entry_prefix, fn, ctx, false};
    ps_status st = shm_arena_list(a, list_entry, &l);
    *stopped = l.stopped;
    return st;
}

ps_status shm_arena_stats_get(shm_arena *a, shm_arena_stats *out)
{
    ps_status st = arena_lock(a);
    if (st != PS_OK)
        return st;
    arena_header *h = a->h;
    *out = (shm_arena_stats){.size = h->data_size, .used = h->used, .live = h->live, .zombies = h->zombies,
                             .entries = h->nentries};
    for (uint32_t s = 0; s < SHM_ARENA_SLOTS; s++)
        out->attached += h->slots[s].pid != 0;
    arena_unlock(a);
    return PS_OK;
}

ps_status shm_arena_lock_and_scramble_for_test(shm_arena *a)
{
    ps_status st = arena_lock(a);
    if (st != PS_OK)
        return st;
    arena_header *h = a->h;
    memset(a->index, 0, (size_t)h->nindex * sizeof *a->index);
    h->head = h->hint = h->free_list = 0;
    h->used = h->data_size;
    h->live = h->zombies = 12345;
    return PS_OK;
}
