/* metrics.c — per-store operation counters (see metrics.h). */
#include "metrics.h"

#include <string.h>

void ps_metrics_record(ps_metrics *m, ps_op op, uint64_t n, uint64_t bytes, uint64_t start_ns,
                       uint64_t errors)
{
    if ((unsigned)op >= PS_OP_COUNT_)
        return;
    uint64_t elapsed = ps_now_ns() - start_ns;
    ps_op_metrics *o = &m->op[op];
    __atomic_add_fetch(&o->count, n, __ATOMIC_RELAXED);
    __atomic_add_fetch(&o->calls, 1, __ATOMIC_RELAXED);
    __atomic_add_fetch(&o->bytes, bytes, __ATOMIC_RELAXED);
    __atomic_add_fetch(&o->total_ns, elapsed, __ATOMIC_RELAXED);
    if (errors)
        __atomic_add_fetch(&o->errors, errors, __ATOMIC_RELAXED);
}

void ps_metrics_cache(ps_metrics *m, bool hit)
{
    __atomic_add_fetch(hit ? &m->cache_hits : &m->cache_misses, 1, __ATOMIC_RELAXED);
}

void ps_metrics_snapshot(const ps_metrics *m, ps_metrics *out)
{
    for (int i = 0; i < PS_OP_COUNT_; i++) {
        out->op[i].count = __atomic_load_n(&m->op[i].count, __ATOMIC_RELAXED);
        out->op[i].bytes = __atomic_load_n(&m->op[i].bytes, __ATOMIC_RELAXED);
        out->op[i].total_ns = __atomic_load_n(&m->op[i].total_ns, __ATOMIC_RELAXED);
        out->op[i].errors = __atomic_load_n(&m->op[i].errors, __ATOMIC_RELAXED);
        out->op[i].calls = __atomic_load_n(&m->op[i].calls, __ATOMIC_RELAXED);
    }
    out->cache_hits = __atomic_load_n(&m->cache_hits, __ATOMIC_RELAXED);
    out->cache_misses = __atomic_load_n(&m->cache_misses, __ATOMIC_RELAXED);
}

const char *ps_op_name(ps_op op)
{
    switch (op) {
    case PS_OP_PUT: return "put";
    case PS_OP_GET: return "get";
    case PS_OP_EXISTS: return "exists";
    case PS_OP_EVICT: return "evict";
    case PS_OP_RESOLVE: return "resolve";
    case PS_OP_COUNT_: break;
    }
    return "unknown";
}
