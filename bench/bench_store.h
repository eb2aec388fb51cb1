/* bench_store.h — one timed round through a store, shared by the benchmarks. */
#ifndef PS_BENCH_STORE_H
#define PS_BENCH_STORE_H

#include <stdbool.h>
#include <string.h>

#include "bench_time.h"
#include "proxystore/proxystore.h"

typedef struct bench_round {
    double put, resolve, evict; /* microseconds */
} bench_round;

/* ps_proxy_array, ps_resolve (bytes compared with buf when check), then
 * ps_store_evict, each timed; pause (may be NULL) runs untimed between the
 * resolve and the evict.  NULL, or the step that failed. */
static inline const char *bench_store_round(ps_store *store, const unsigned char *buf, size_t size, bool check,
                                            void (*pause)(size_t), bench_round *out)
{
    double t0 = now_us();
    ps_proxy_t *p = ps_proxy_array(store, &ps_type_bytes, buf, size);
    double t1 = now_us();
    if (!p)
        return "ps_proxy_array";
    const unsigned char *got = ps_resolve(p);
    double t2 = now_us();
    const char *failed = !got ? "ps_resolve" : check && memcmp(got, buf, size) != 0 ? "resolved bytes differ" : NULL;
    if (!failed && pause)
        pause(size);
    double t3 = now_us();
    if (!failed && ps_store_evict(store, ps_proxy_key(p)) != PS_OK)
        failed = "ps_store_evict";
    double t4 = now_us();
    ps_proxy_free(p);
    *out = (bench_round){t1 - t0, t2 - t1, t4 - t3};
    return failed;
}

#endif /* PS_BENCH_STORE_H */
