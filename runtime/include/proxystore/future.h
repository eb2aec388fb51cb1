/*
 * proxystore/future.h — futures: a proxy to an object that does not exist
 * yet (docs/futures.md).
 *
 * A producer creates a future on a store and hands out its proxy at once: a
 * plain ps_proxy_t that serializes to a descriptor before the value exists,
 * so any process can hold it.  Resolving that proxy (ps_resolve, PS_RESOLVE,
 * ps_proxy_wait) waits until the producer sets the value, sets a failure, or
 * the wait times out.  The value is set once: the store writes it with the
 * connector's atomic create-if-absent, so of two producers racing, in one
 * process or in two, exactly one wins and the other gets PS_ERR_STATE.
 *
 * Waiting is not a busy loop: local:// waits on a condition variable, shm://
 * and file:// on inotify (file:// on a shared file system also looks again
 * on a back-off of at most 50 ms), redis:// in a blocking BLMOVE on the
 * server.
 */
#ifndef PROXYSTORE_FUTURE_H
#define PROXYSTORE_FUTURE_H

#include <proxystore/proxystore.h>

#ifdef __cplusplus
extern "C" {
#endif

#pragma GCC visibility push(default)

/* The producer's handle of a future. */
typedef struct ps_future ps_future;

/* How long resolving a future's proxy waits unless told otherwise. */
#define PS_FUTURE_DEFAULT_TIMEOUT_MS 30000L

/*
 * A future for an object of type in store.  key NULL picks a new random key;
 * producers in several processes that agree on a key each create their own
 * handle for it (one of them will set it).  Nothing is written yet.  A store
 * whose connector has no set-once objects fails with PS_ERR_STATE.
 */
ps_future *ps_future_new(ps_store *store, const ps_type *type, const char *key);
/* Release the handle.  The value (or failure), once set, stays in the store
 * for the consumers; evict it with ps_proxy_evict on a proxy of it, or
 * ps_future_evict.  A handle used after release: PS_ERR_INVALID_ARGUMENT. */
void ps_future_free(ps_future *future);
const char *ps_future_key(const ps_future *future);

/* A new proxy of the future's object (free it with ps_proxy_free), to hand
 * to consumers: ps_proxy_serialize works at once. */
ps_proxy_t *ps_future_proxy(ps_future *future);

/* Set the value (count elements of the future's type; 1 for ps_future_set).
 * A second set, a set after a failure, or a set that another producer beat:
 * PS_ERR_STATE, and the value stays the first one. */
ps_status ps_future_set(ps_future *future, const void *obj);
ps_status ps_future_set_array(ps_future *future, const void *obj, size_t count);
/* Set a failure instead: every consumer's resolve, in any process, fails
 * with code (not PS_OK) and a message holding message.  Same once-only
 * rule as a set. */
ps_status ps_future_fail(ps_future *future, ps_status code, const char *message);
/* Evict the value or failure (and what the connector keeps for waiters). */
ps_status ps_future_evict(ps_future *future);

/*
 * Consumers.  ps_proxy_wait resolves proxy, waiting up to timeout_ms for a
 * future's value (negative: no limit; 0: do not wait); PS_OK once resolved
 * (ps_resolve then returns at once), PS_ERR_TIMEOUT if the value did not
 * come in time (the proxy can be waited for or resolved again later), or
 * the producer's failure code.  On any other proxy it is a plain resolve.
 * ps_proxy_done answers without blocking whether the value or a failure is
 * there (always true for a proxy that is not a pending future).
 */
ps_status ps_proxy_wait(ps_proxy_t *proxy, long timeout_ms);
ps_status ps_proxy_done(ps_proxy_t *proxy, bool *done_out);

/* How long ps_resolve (and PS_RESOLVE, prefetch) of a future's proxy of
 * this store waits: 0 restores PS_FUTURE_DEFAULT_TIMEOUT_MS, negative means
 * no limit.  A per-call timeout is ps_proxy_wait's. */
ps_status ps_store_set_wait_timeout(ps_store *store, long timeout_ms);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif

#endif /* PROXYSTORE_FUTURE_H */
