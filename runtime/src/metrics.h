/*
 * metrics.h — per-store operation counters.
 *
 * Counters are updated with relaxed atomic adds, so recording costs a few
 * nanoseconds and no lock; a snapshot may mix counts from operations that
 * are finishing at that moment, which is fine for monitoring.
 */
#ifndef PS_METRICS_H
#define PS_METRICS_H

#include <stdint.h>
#include <time.h>

#include "proxystore/proxystore.h"

/* CLOCK_MONOTONIC is served by the vDSO: tens of nanoseconds, no syscall. */
static inline uint64_t ps_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* n operations of kind op that started at start_ns, moved bytes payload
 * bytes, and of which errors failed. */
void ps_metrics_record(ps_metrics *m, ps_op op, uint64_t n, uint64_t bytes, uint64_t start_ns,
                       uint64_t errors);
void ps_metrics_cache(ps_metrics *m, bool hit);
void ps_metrics_snapshot(const ps_metrics *m, ps_metrics *out);

#endif /* PS_METRICS_H */
