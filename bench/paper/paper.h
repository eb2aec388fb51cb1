/*
 * paper.h — what the paper's experiments on the MPI executor share
 * (docs/paper-experiments.md): starting MPI and the executor in a named
 * topology, opening the store (or none, for by value), a window of tasks
 * kept in flight with wait-any, and the end-of-run checks (every rank's
 * status, nothing left in the store).
 *
 * Errors: every function returns 0 or -1 after printing what failed on
 * stderr with the library's message; the programs turn -1 into exit 1.
 */
#ifndef PS_BENCH_PAPER_H
#define PS_BENCH_PAPER_H

#include <stddef.h>

#include <mpi.h>

#include <proxystore/executor_mpi.h>

typedef struct paper_run {
    int rank, size;
    ps_executor_topology topology;
    const char *topology_name; /* "direct" or "scheduler" */
    int workers;               /* ranks that run tasks */
    ps_store *store;           /* NULL: by value */
    const char *store_name;    /* the URL's scheme, or "none" */
    const char *mode;          /* "proxy" or "value" */
} paper_run;

/* MPI_Init_thread (MPI_THREAD_MULTIPLE), the topology from its name and the
 * store at url ("none": no store, everything by value) with cache_size
 * cache entries on every rank.  Too few ranks for the topology: -1. */
int paper_start(paper_run *run, int *argc, char ***argv, const char *topology, const char *url,
                int cache_size);

/* Collective: rank 0 gets the executor in *ex (others serve inside and get
 * NULL once rank 0 shuts it down). */
int paper_executor(paper_run *run, const ps_executor_options *opts, ps_executor **ex);

/* Keeps `window` tasks in flight until `total` have finished: submit(k)
 * starts task k, and as each finishes (ps_task_waitany) collect(k, task)
 * takes its result, then the next task is submitted in its slot.  A
 * failed task, submit or collect stops the run (the tasks in flight are
 * waited for and freed). */
typedef ps_task *(*paper_submit_fn)(ps_executor *ex, size_t k, void *ctx);
typedef int (*paper_collect_fn)(size_t k, ps_task *task, void *ctx);
int paper_window(ps_executor *ex, size_t total, size_t window, paper_submit_fn submit,
                 paper_collect_fn collect, void *ctx);

/* A whole number from argv[i] in [min, max], or dflt when argc <= i. */
int paper_count_arg(int argc, char **argv, int i, size_t dflt, size_t min, size_t max, size_t *out);

/* Collective end of the run: rc is this rank's status; rank 0 also checks
 * that the store holds nothing.  Closes the store, finalizes MPI and
 * returns the exit code (0 only when every rank succeeded). */
int paper_finish(paper_run *run, int rc);

#endif /* PS_BENCH_PAPER_H */
