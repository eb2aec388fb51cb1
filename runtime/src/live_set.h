/*
 * live_set.h — process-wide sets of live handle addresses (proxies, stores).
 *
 * ps_is_proxy and PROXY_OR code must tell a proxy from an arbitrary T *
 * without reading through the pointer, so proxies are recorded here at
 * creation and removed when freed; a lookup compares addresses only.  The
 * same check lets every proxy and store function refuse a pointer that is
 * not (or no longer) a live handle — a proxy freed twice, a store used after
 * its last close — with an error instead of reading freed memory.
 */
#ifndef PS_LIVE_SET_H
#define PS_LIVE_SET_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "proxystore/proxystore.h"

typedef struct ps_live_set {
    pthread_mutex_t lock;
    uintptr_t *slots; /* open addressing; 0 is an empty slot */
    size_t cap;       /* a power of two, or 0 */
    size_t used;
} ps_live_set;

#define PS_LIVE_SET_INIT {PTHREAD_MUTEX_INITIALIZER, NULL, 0, 0}

extern ps_live_set ps_live_proxies;
extern ps_live_set ps_live_stores;

ps_status ps_live_set_add(ps_live_set *set, const void *p);
/* true if p was in the set (and is now removed). */
bool ps_live_set_remove(ps_live_set *set, const void *p);
bool ps_live_set_contains(ps_live_set *set, const void *p);

#endif /* PS_LIVE_SET_H */
