/*
 * paper.c — the parts the paper's experiments share (paper.h).
 */
#include "paper.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store.h" /* the connector's list: is the store empty at the end? */

static int failed(const char *what)
{
    fprintf(stderr, "%s: %s\n", what, ps_last_error_message());
    return -1;
}

/* The URL's scheme, as the CSV names the store. */
static const char *scheme_of(const char *url)
{
    static char s[16];
    snprintf(s, sizeof s, "%.*s", (int)strcspn(url, ":"), url);
    return s;
}

int paper_start(paper_run *run, int *argc, char ***argv, const char *topology, const char *url,
                int cache_size)
{
    memset(run, 0, sizeof *run);
    int provided = 0;
    MPI_Init_thread(argc, argv, MPI_THREAD_MULTIPLE, &provided);
    MPI_Comm_rank(MPI_COMM_WORLD, &run->rank);
    MPI_Comm_size(MPI_COMM_WORLD, &run->size);
    bool scheduler = strcmp(topology, "scheduler") == 0;
    if (!scheduler && strcmp(topology, "direct") != 0) {
        fprintf(stderr, "topology '%s': expected direct or scheduler\n", topology);
        return -1;
    }
    run->topology = scheduler ? PS_EXECUTOR_SCHEDULER : PS_EXECUTOR_DIRECT;
    run->topology_name = scheduler ? "scheduler" : "direct";
    run->workers = run->size - (scheduler ? 2 : 1);
    if (run->workers < 1) {
        fprintf(stderr, "%s needs at least %d ranks, %d given\n", topology, scheduler ? 3 : 2, run->size);
        return -1;
    }
    run->store_name = "none";
    run->mode = "value";
    if (strcmp(url, "none") == 0)
        return 0;
    ps_store_options so = {.cache_size = cache_size};
    run->store = ps_store_open("paper", url, &so);
    if (!run->store) { /* the library's message names the store, never a password */
        fprintf(stderr, "%s\n", ps_last_error_message());
        return -1;
    }
    run->store_name = scheme_of(url);
    run->mode = "proxy";
    return 0;
}

int paper_executor(paper_run *run, const ps_executor_options *opts, ps_executor **ex)
{
    *ex = NULL;
    if (ps_executor_mpi(MPI_COMM_WORLD, run->topology, opts, ex) != PS_OK)
        return failed("executor");
    return 0;
}

int paper_window(ps_executor *ex, size_t total, size_t window, paper_submit_fn submit,
                 paper_collect_fn collect, void *ctx)
{
    if (window > total)
        window = total;
    ps_task **slot = calloc(window ? window : 1, sizeof *slot);
    size_t *task_of = calloc(window ? window : 1, sizeof *task_of);
    int rc = slot && task_of ? 0 : -1;
    size_t next = 0, in_flight = 0;
    for (; rc == 0 && next < window; next++, in_flight++) {
        task_of[next] = next;
        if (!(slot[next] = submit(ex, next, ctx)))
            rc = failed("submit");
    }
    while (rc == 0 && in_flight > 0) {
        size_t i;
        if (ps_task_waitany(window, slot, &i) != PS_OK) {
            rc = failed("task");
            break;
        }
        rc = collect(task_of[i], slot[i], ctx);
        ps_task_free(slot[i]);
        slot[i] = NULL;
        in_flight--;
        if (rc == 0 && next < total) {
            task_of[i] = next;
            if (!(slot[i] = submit(ex, next++, ctx)))
                rc = failed("submit");
            else
                in_flight++;
        }
    }
    /* After a failure: let what is still running finish, drop its results. */
    for (size_t i = 0; slot && i < window; i++) {
        if (slot[i]) {
            ps_task_wait(slot[i]);
            ps_task_free(slot[i]);
        }
    }
    free(slot);
    free(task_of);
    return rc;
}

int paper_count_arg(int argc, char **argv, int i, size_t dflt, size_t min, size_t max, size_t *out)
{
    *out = dflt;
    if (argc <= i)
        return 0;
    char *end;
    unsigned long long v = strtoull(argv[i], &end, 10);
    if (!*argv[i] || *end || argv[i][0] == '-' || v < min || v > max) {
        fprintf(stderr, "argument %d: '%s' is not a whole number from %zu to %zu\n", i, argv[i], min, max);
        return -1;
    }
    *out = (size_t)v;
    return 0;
}

static bool count_entry(const ps_list_entry *entry, void *ctx)
{
    fprintf(stderr, "left in the store: %s (%llu bytes)\n", entry->key ? entry->key : entry->entry,
            (unsigned long long)entry->len);
    ++*(size_t *)ctx;
    return true;
}

int paper_finish(paper_run *run, int rc)
{
    /* The serving ranks are back from ps_executor_mpi only once rank 0 has
     * shut the executor down, so after this barrier nothing is in flight. */
    MPI_Barrier(MPI_COMM_WORLD);
    if (run->rank == 0 && run->store) {
        size_t left = 0;
        if (run->store->conn->ops->list(run->store->conn, count_entry, &left) != PS_OK)
            rc = failed("listing the store");
        else if (left) {
            fprintf(stderr, "%zu objects left in the store\n", left);
            rc = -1;
        }
    }
    if (run->store)
        ps_store_close(run->store);
    MPI_Allreduce(MPI_IN_PLACE, &rc, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    MPI_Finalize();
    return rc == 0 ? 0 : 1;
}
