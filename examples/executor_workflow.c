/*
 * executor_workflow.c — a two-step workflow on the executor: scale a batch
 * of matrices, then take the trace of each scaled matrix.  A matrix is
 * 512 kB, above the executor's 100 kB threshold, so every matrix travels
 * by proxy through the store and every scale factor by value.  The scaled
 * matrices come back as owned proxies and go straight into the trace tasks
 * (lent, never copied through the client); releasing them evicts them.
 *
 *   executor_workflow [STORE_URL]                    threads, default shm:// with an arena
 *   mpirun -n 3 executor_workflow --mpi [STORE_URL]  rank 0 submits
 *   mpirun -n 4 executor_workflow --mpi-scheduler    rank 1 schedules
 *
 * Copy it to start a workflow of your own: register tasks, open a store,
 * pick a backend, submit, wait, release.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <proxystore/executor.h>
#ifdef PS_EXAMPLE_MPI
#include <proxystore/executor_mpi.h>
#endif

#include "matrix.h"

PS_TYPE_POD_DEFINE(matrix_type, struct matrix);

#define BATCH 6

/* scale(matrix m, double f) -> matrix: every cell times f. */
static ps_status scale(const ps_value args[], size_t nargs, ps_result *out, void *user)
{
    (void)nargs, (void)user;
    const struct matrix *m = args[0].data;
    double f = *(const double *)args[1].data;
    struct matrix *r = malloc(sizeof *r);
    if (!r)
        return ps_task_error(PS_ERR_NO_MEMORY, "scale: out of memory");
    r->n = m->n;
    for (size_t i = 0; i < MATRIX_N; i++)
        for (size_t j = 0; j < MATRIX_N; j++)
            r->cell[i][j] = m->cell[i][j] * f;
    out->data = r;
    out->count = 1;
    return PS_OK;
}

/* trace(matrix m) -> double */
static ps_status trace(const ps_value args[], size_t nargs, ps_result *out, void *user)
{
    (void)nargs, (void)user;
    const struct matrix *m = args[0].data;
    double *t = malloc(sizeof *t);
    if (!t)
        return ps_task_error(PS_ERR_NO_MEMORY, "trace: out of memory");
    *t = 0;
    for (size_t i = 0; i < m->n; i++)
        *t += m->cell[i][i];
    out->data = t;
    out->count = 1;
    return PS_OK;
}

static void register_tasks(void)
{
    const ps_type *scale_args[] = {&matrix_type, &ps_type_double};
    const ps_type *trace_args[] = {&matrix_type};
    ps_task_register("scale", scale, 2, scale_args, &matrix_type, NULL);
    ps_task_register("trace", trace, 1, trace_args, &ps_type_double, NULL);
}

void matrix_fill(struct matrix *m, double seed)
{
    m->n = MATRIX_N;
    for (size_t i = 0; i < MATRIX_N; i++)
        for (size_t j = 0; j < MATRIX_N; j++)
            m->cell[i][j] = seed + (double)(i == j);
}

/* The workflow, on whichever backend ex is.  Returns 0 when every trace is
 * what it should be. */
static int run(ps_executor *ex, ps_store *store)
{
    static struct matrix inputs[BATCH];
    double factors[BATCH];
    ps_value scale_rows[BATCH][2];
    for (int i = 0; i < BATCH; i++) {
        matrix_fill(&inputs[i], (double)i);
        factors[i] = 0.5 * (i + 1);
        scale_rows[i][0] = (ps_value){&matrix_type, &inputs[i], 1, NULL};
        scale_rows[i][1] = (ps_value){&ps_type_double, &factors[i], 1, NULL};
    }
    ps_task *scaled[BATCH], *traces[BATCH];
    if (ps_map(ex, "scale", BATCH, 2, &scale_rows[0][0], scaled) != PS_OK ||
        ps_task_waitall(BATCH, scaled) != PS_OK) {
        fprintf(stderr, "scale: %s\n", ps_last_error_message());
        return 1;
    }
    ps_result matrices[BATCH];
    int bad = 0;
    for (int i = 0; i < BATCH; i++) {
        ps_task_result(scaled[i], &matrices[i]); /* an owned proxy: 512 kB */
        ps_task_free(scaled[i]);
        ps_value arg = {&matrix_type, NULL, 0, matrices[i].proxy};
        traces[i] = ps_submit(ex, "trace", 1, &arg);
        if (!traces[i]) {
            fprintf(stderr, "trace: %s\n", ps_last_error_message());
            return 1;
        }
    }
    for (int i = 0; i < BATCH; i++) {
        ps_result t;
        if (ps_task_wait(traces[i]) != PS_OK || ps_task_result(traces[i], &t) != PS_OK) {
            fprintf(stderr, "trace %d: %s\n", i, ps_last_error_message());
            bad++;
            continue;
        }
        /* trace of (seed + I) * f over an n x n matrix */
        double want = factors[i] * ((double)i * MATRIX_N + MATRIX_N);
        double got = *(double *)t.data;
        printf("matrix %d: trace %.1f (expected %.1f)\n", i, got, want);
        bad += got != want;
        free(t.data);
        ps_task_free(traces[i]);
        /* The trace task is done with the lent owner: release it (evicts). */
        if (matrices[i].proxy)
            ps_owned_release(matrices[i].proxy);
        else
            free(matrices[i].data);
    }
    /* This process's store operations: on MPI the workers put the results,
     * so the client counts only the inputs' puts, and every evict. */
    ps_metrics m;
    if (ps_store_metrics(store, &m) == PS_OK)
        printf("store here: %llu objects put, %llu evicted; workflow %s\n",
               (unsigned long long)m.op[PS_OP_PUT].count,
               (unsigned long long)m.op[PS_OP_EVICT].count, bad ? "FAILED" : "ok");
    return bad ? 1 : 0;
}

int main(int argc, char **argv)
{
    int arg = 1;
    bool mpi = false, scheduler = false;
    if (arg < argc && strncmp(argv[arg], "--mpi", 5) == 0) {
        mpi = true;
        scheduler = strcmp(argv[arg], "--mpi-scheduler") == 0;
        arg++;
    }
    /* An arena (docs/connectors/shm.md): a put is then a copy into memory
     * mapped once, not a fresh segment per object.  64 MiB holds this
     * workflow's matrices many times over; size it for yours. */
    const char *url = arg < argc ? argv[arg] : "shm://executor-workflow?arena=64M";
    register_tasks();
    ps_store *store = ps_store_open("workflow", url, NULL);
    if (!store) {
        fprintf(stderr, "open %s: %s\n", url, ps_last_error_message());
        return 1;
    }
    ps_executor_options opts;
    ps_executor_options_init(&opts); /* proxy from 100 kB up */
    opts.store = store;
    int rc = 0;
    if (!mpi) {
        ps_executor *ex = ps_executor_threads(&opts);
        rc = ex ? run(ex, store) : 1;
        if (ex)
            ps_executor_shutdown(ex);
    } else {
#ifdef PS_EXAMPLE_MPI
        int provided;
        MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &provided);
        ps_executor *ex = NULL;
        if (ps_executor_mpi(MPI_COMM_WORLD, scheduler ? PS_EXECUTOR_SCHEDULER : PS_EXECUTOR_DIRECT,
                            &opts, &ex) != PS_OK) {
            fprintf(stderr, "ps_executor_mpi: %s\n", ps_last_error_message());
            rc = 1;
        } else if (ex) {
            rc = run(ex, store);
            ps_executor_shutdown(ex);
        }
        MPI_Allreduce(MPI_IN_PLACE, &rc, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
        ps_store_close(store);
        MPI_Finalize();
        return rc;
#else
        (void)scheduler;
        fprintf(stderr, "this build of the example has no MPI\n");
        rc = 1;
#endif
    }
    ps_store_close(store);
    return rc;
}
