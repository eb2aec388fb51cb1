/*
 * shm_arena.h — one pre-mapped shared-memory arena per shm:// store, with an
 * allocator, a key index and reader accounting inside it (the design of
 * Ray's object store, originally Arrow's Plasma).
 *
 * The arena is one tmpfs file, /dev/shm/ps-NAME+.arena, reserved in full
 * when it is created (so writing into it can never SIGBUS) and mapped once,
 * pre-faulted, by every process that opens the store.  A put copies the
 * object into free space of the mapping; a get hands out a pointer into it;
 * no system call on either path.  What lives in the file:
 *
 *   header   the lock (a process-shared, robust mutex), the process slots,
 *            counters;
 *   entries  one per object: key, place, state, which process slots still
 *            read it (a bit each), which slot wrote it;
 *   index    open addressing from the key's hash to live entries (derived
 *            from the entries, rebuilt after a crash);
 *   data     the objects, 64-byte aligned.
 *
 * Space of an evicted or overwritten object is reused only once no process
 * slot reads it.  A process that dies is found by its pid (kill(pid, 0))
 * when its slot is needed or space runs short, and its holds are dropped.
 * A process that dies holding the lock leaves the mutex to the next locker
 * with EOWNERDEAD: the entries are the truth, and the index, the block list
 * and the free list are rebuilt from them before the lock is marked
 * consistent.
 *
 * All functions return a ps_status with the error set (error.h).
 */
#ifndef PS_SHM_ARENA_H
#define PS_SHM_ARENA_H

#include <stdbool.h>
#include <stdint.h>

#include "connector.h"

typedef struct shm_arena shm_arena;

/* The most processes attached to one arena at once. */
#define SHM_ARENA_SLOTS 128

/* Open (creating if missing) the arena file name in dirfd, of size bytes of
 * object space when it is created (an existing arena keeps its own size).
 * where names the store in messages.  With size 0, open only an existing
 * arena: PS_ERR_NOT_FOUND (error set) when there is none, never a new file. */
ps_status shm_arena_open(int dirfd, const char *name, uint64_t size, const char *where, shm_arena **out);

/* Remove the file's name now, whoever still has the arena open (they keep
 * their mapping; opening the name again finds nothing).  For arenas one
 * process owns and removes when it is done (mpi://). */
void shm_arena_retire(shm_arena *a);
/* Whether the arena's file was removed (opened again, a new one may be
 * found under the name). */
bool shm_arena_retired(const shm_arena *a);
/* Remove the arena file name in dirfd if no process attached to it is
 * alive and it was created at least min_age_s seconds ago (what a crashed
 * job leaves).  Whether it was removed. */
bool shm_arena_remove_abandoned(int dirfd, const char *name, int min_age_s);

/* Remove the objects this process put and did not disown, detach, and
 * unmap once no blob of this process points into the arena any more.  The
 * file is removed when no process is attached and it holds no object. */
void shm_arena_close(shm_arena *a);

/* Put key.  *placed false (and PS_OK) when the object does not fit in the
 * arena's free space or entries: the caller keeps it elsewhere.  Once
 * objects were ever kept elsewhere, remove_stale(stale_ctx) is called as
 * the put is published, under the arena's lock, to remove an older object
 * of key kept elsewhere. */
ps_status shm_arena_put(shm_arena *a, const char *key, const ps_iov *parts, size_t nparts,
                        void (*remove_stale)(void *stale_ctx), void *stale_ctx, bool *placed);

/* The same, with the len bytes written by fill(dst, ctx) in place. */
ps_status shm_arena_put_fill(shm_arena *a, const char *key, size_t len, void (*fill)(void *dst, void *ctx),
                             void *ctx, void (*remove_stale)(void *stale_ctx), void *stale_ctx, bool *placed);

/* Plain data whose hash is still to take (a connector's put_hashing): the
 * payload is copied into the arena and hashed in one pass, the hash set in
 * header (ps_object_hash_set) and *hash_out, and header written before the
 * payload.  *placed false (PS_OK, header untouched) when it does not fit. */
ps_status shm_arena_put_hashing(shm_arena *a, const char *key, unsigned char *header, const void *payload,
                                size_t len, void (*remove_stale)(void *stale_ctx), void *stale_ctx, bool *placed,
                                uint64_t *hash_out);

/* Get key as a blob pointing into the arena (released through the blob).
 * *found false (PS_OK) when the arena has no live object under key; an
 * expired object is removed and reads as missing. */
ps_status shm_arena_get(shm_arena *a, const char *key, ps_blob *out, bool *found);

ps_status shm_arena_exists(shm_arena *a, const char *key, bool *found);

/* Remove key's object; *removed says whether this call removed one (of
 * several callers, exactly one sees true). */
ps_status shm_arena_remove(shm_arena *a, const char *key, bool *removed);

/* Record expires_ms in the object's header; *found false if none. */
ps_status shm_arena_set_expiry(shm_arena *a, const char *key, uint64_t expires_ms, bool *found);

/* Leave key's object in place when its writer closes. */
ps_status shm_arena_disown(shm_arena *a, const char *key);

/* Keeping an object elsewhere (a segment), in step with the arena: lock
 * it (and remember that objects exist elsewhere), publish, then unlock,
 * which drops the arena's object of key if published.  shm_arena_holds
 * answers for key between the two. */
ps_status shm_arena_lock_elsewhere(shm_arena *a);
bool shm_arena_holds(shm_arena *a, const char *key);
void shm_arena_unlock_elsewhere(shm_arena *a, const char *key, bool published);
/* Whether any object of the store was ever kept elsewhere (if not, a key
 * the arena held has no segment to remove). */
bool shm_arena_has_elsewhere(shm_arena *a);

/* One arena object, as listed (valid during the callback). */
typedef struct shm_arena_item {
    const char *key;
    uint64_t len;
    int64_t age_ms;
    const void *head;
    size_t head_len;
} shm_arena_item;

/* Every live object; dead processes' slots are reclaimed first. */
ps_status shm_arena_list(shm_arena *a, bool (*fn)(const shm_arena_item *item, void *ctx), void *ctx);

/* The same as a connector's list entries, each named entry_prefix + key;
 * *stopped when fn returned false. */
ps_status shm_arena_list_entries(shm_arena *a, const char *entry_prefix, ps_list_fn fn, void *ctx, bool *stopped);

/* Figures for tools and tests. */
typedef struct shm_arena_stats {
    uint64_t size;       /* bytes of object space */
    uint64_t used;       /* bytes held by live objects and objects still read */
    uint32_t live;       /* objects under a key */
    uint32_t zombies;    /* evicted or overwritten, still read */
    uint32_t entries;    /* capacity in objects */
    uint32_t attached;   /* process slots in use */
} shm_arena_stats;

ps_status shm_arena_stats_get(shm_arena *a, shm_arena_stats *out);

/* For crash tests only: take the lock, scramble the derived structures
 * (index, block list, free list) as a writer interrupted mid-update would
 * leave them, and return holding it.  The caller then dies. */
ps_status shm_arena_lock_and_scramble_for_test(shm_arena *a);

#endif /* PS_SHM_ARENA_H */
