/*
 * prefetch.h — a small pool of worker threads that resolve proxies in the
 * background (ps_resolve_async).
 *
 * Workers start on the first submission.  At exit (registry.c) the pool
 * finishes every queued job and joins its threads, so no job outlives the
 * stores and proxies it uses.  A fork waits for the running jobs; in the
 * child, queued jobs are cancelled instead of run.
 */
#ifndef PS_PREFETCH_H
#define PS_PREFETCH_H

#include "proxystore/proxystore.h"

#define PS_PREFETCH_THREADS 2

/* Queue run(arg) on a worker.  PS_ERR_STATE after shutdown.  cancel(arg)
 * (may be NULL) is called instead of run in a forked child for a job that
 * was still queued at the fork; it runs in the child's fork handler, alone. */
ps_status ps_prefetch_submit(void (*run)(void *arg), void (*cancel)(void *arg), void *arg);
/* Run what is queued, then stop and join the workers. */
void ps_prefetch_shutdown(void);

#endif /* PS_PREFETCH_H */
