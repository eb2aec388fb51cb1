/* bench_floor.h — the Redis zero-copy floor and verify's cost (bench_floor.c). */
#ifndef PS_BENCH_FLOOR_H
#define PS_BENCH_FLOOR_H

#include <stddef.h>

#include "proxystore/proxystore.h"

/* Prints a table: ps_store_put_key / ps_store_get on a redis:// store
 * against the zero-copy floor client on the same server, per size. */
void bench_redis_floor(const char *url, const size_t *sizes, size_t nsizes, size_t max_size,
                       int (*runs_for)(size_t));
/* Prints a table: raw SETs carrying a per-put payload hash in five ways
 * (hash first, after the payload, in a MULTI with SETRANGE, ...) against
 * the floor's SET without one, per size (bench_runtime --hash-placement). */
void bench_redis_hash_placement(const char *url, const size_t *sizes, size_t nsizes, size_t max_size,
                                int (*runs_for)(size_t));
/* Prints a table: reads from url without and with verify, and
 * ps_store_get against a read through the resolve path. */
void bench_verify_cost(const char *label, const char *url, const size_t *sizes, size_t nsizes, size_t max_size,
                       int (*runs_for)(size_t));

#endif /* PS_BENCH_FLOOR_H */
