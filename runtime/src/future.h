/*
 * future.h — what proxy.c and descriptor.c need of futures (future.c).
 */
#ifndef PS_FUTURE_INTERNAL_H
#define PS_FUTURE_INTERNAL_H

#include "proxy.h"
#include "proxystore/future.h"

/* Wait up to timeout_ms (PS_WAIT_DEFAULT: the store's) for the pending
 * proxy p's object and read it; on success p's facts are filled in and p is
 * no longer pending.  A failure set by the producer is returned as its code
 * and message.  Called by proxy.c's fetch, in FETCHING state. */
ps_status ps_future_fetch(ps_proxy_t *p, long timeout_ms, ps_resolved **out);
/* Evict a future's key with the connector's evict_new. */
ps_status ps_future_evict_key(ps_store *store, const char *key);

#endif /* PS_FUTURE_INTERNAL_H */
