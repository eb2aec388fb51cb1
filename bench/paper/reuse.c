/*
 * reuse.c — data reuse (the PyCOMPSs shared-memory result), in C: a blocked
 * matrix product C = A B whose tasks read the same large blocks many times.
 *
 *   mpirun -n W+2 reuse scheduler URL [N [BLOCKS [REPS [WINDOW]]]]
 *   mpirun -n W+1 reuse direct URL ...
 *
 * A and B are N x N doubles (default 1024).  A is cut into BLOCKS row
 * panels and B into BLOCKS column panels (default 16); task (p, q) takes
 * row panel p and column panel q and returns the block C[p][q], so every
 * panel is read by BLOCKS tasks.  BLOCKS^2 tasks run WINDOW at a time
 * (default 2 per worker), a new one submitted as each finishes.
 *
 * URL "none": by value, every task message carries copies of its two
 * panels.  A store URL: by proxy, the client puts each panel once (an
 * owned proxy, lent to every task that reads it) and the tasks carry
 * descriptors; a worker maps a panel on its first use and its store's
 * cache serves the repeats.  The blocks of C come back by value in both
 * modes.  The timed part is everything from the first put or submit to the
 * last block of C and the panels' eviction, REPS times (default 3).
 *
 * Checks: C against A (B x) for two integer vectors x (Freivalds' test,
 * exact: every entry is a small integer), every task's status, and, by
 * proxy, that no worker resolved a panel more than once per repetition and
 * that the store is empty at the end.  Rank 0 prints one CSV row:
 * topology,store,mode,workers,n,blocks,tasks,reps,median_s,min_s,
 * worker_maps,worker_cache_hits
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../bench_time.h"
#include "paper.h"

/* panel_product(double a[r*k], double b[k*c], int64 dims[3] = {r, k, c})
 * -> double[r*c]: the row panel a (r x k) times the column panel b (k x c). */
static ps_status panel_product(const ps_value args[], size_t nargs, ps_result *out, void *user)
{
    (void)nargs, (void)user;
    const double *a = args[0].data, *b = args[1].data;
    const int64_t *dims = args[2].data;
    if (args[2].count != 3 || dims[0] < 1 || dims[1] < 1 || dims[2] < 1)
        return ps_task_error(PS_ERR_INVALID_ARGUMENT, "panel_product: dims must be 3 positive sizes");
    size_t r = (size_t)dims[0], k = (size_t)dims[1], c = (size_t)dims[2];
    if (args[0].count != r * k || args[1].count != k * c)
        return ps_task_error(PS_ERR_INVALID_ARGUMENT, "panel_product: panels of %zu and %zu doubles for %zu x %zu x %zu",
                             args[0].count, args[1].count, r, k, c);
    double *m = calloc(r * c, sizeof *m);
    if (!m)
        return ps_task_error(PS_ERR_NO_MEMORY, "panel_product: out of memory");
    for (size_t i = 0; i < r; i++)
        for (size_t l = 0; l < k; l++) {
            double x = a[i * k + l];
            for (size_t j = 0; j < c; j++)
                m[i * c + j] += x * b[l * c + j];
        }
    out->data = m;
    out->count = r * c;
    return PS_OK;
}

typedef struct product {
    size_t n, blocks, nb;     /* nb = n / blocks */
    double *a;                /* n x n; row panel p starts at a + p*nb*n */
    double **bpanel;          /* column panel q of B, n x nb, contiguous */
    double *c;                /* the product, n x n */
    ps_proxy_t **apx, **bpx;  /* by proxy: an owner per panel */
    ps_store *store;
    int64_t dims[3];
} product;

static ps_task *submit(ps_executor *ex, size_t k, void *ctx)
{
    product *m = ctx;
    size_t p = k / m->blocks, q = k % m->blocks, panel = m->nb * m->n;
    ps_value args[3] = {
        {&ps_type_double, m->a + p * panel, panel, NULL},
        {&ps_type_double, m->bpanel[q], panel, NULL},
        {&ps_type_int64, m->dims, 3, NULL},
    };
    if (m->store) { /* lend the owners: the tasks resolve, the client keeps them */
        args[0] = (ps_value){&ps_type_double, NULL, 0, m->apx[p]};
        args[1] = (ps_value){&ps_type_double, NULL, 0, m->bpx[q]};
    }
    return ps_submit(ex, "panel_product", 3, args);
}

static int collect(size_t k, ps_task *task, void *ctx)
{
    product *m = ctx;
    size_t p = k / m->blocks, q = k % m->blocks, nb = m->nb;
    ps_result r = {0};
    if (ps_task_result(task, &r) != PS_OK || !r.data || r.count != nb * nb) {
        fprintf(stderr, "block (%zu, %zu): %s\n", p, q,
                r.proxy ? "came back as a proxy" : r.data ? "wrong size" : ps_last_error_message());
        ps_object_free(&ps_type_double, r.data);
        ps_proxy_free(r.proxy);
        return -1;
    }
    const double *blk = r.data;
    for (size_t i = 0; i < nb; i++)
        memcpy(m->c + (p * nb + i) * m->n + q * nb, blk + i * nb, nb * sizeof *blk);
    ps_object_free(&ps_type_double, r.data);
    return 0;
}

/* Puts every panel once (by proxy). */
static int put_panels(product *m)
{
    size_t panel = m->nb * m->n;
    for (size_t p = 0; p < m->blocks; p++) {
        m->apx[p] = ps_owned_array(m->store, &ps_type_double, m->a + p * panel, panel);
        m->bpx[p] = ps_owned_array(m->store, &ps_type_double, m->bpanel[p], panel);
        if (!m->apx[p] || !m->bpx[p]) {
            fprintf(stderr, "putting panel %zu: %s\n", p, ps_last_error_message());
            return -1;
        }
    }
    return 0;
}

/* Evicts the panels (releasing an owner evicts its object). */
static int release_panels(product *m)
{
    int rc = 0;
    for (size_t p = 0; p < m->blocks; p++) {
        if (m->apx[p] && ps_owned_release(m->apx[p]) != PS_OK)
            rc = -1;
        if (m->bpx[p] && ps_owned_release(m->bpx[p]) != PS_OK)
            rc = -1;
        m->apx[p] = m->bpx[p] = NULL;
    }
    if (rc)
        fprintf(stderr, "releasing the panels: %s\n", ps_last_error_message());
    return rc;
}

/* Freivalds' test, exact because every entry and every partial sum is a
 * small integer: C x == A (B x) for two integer vectors x. */
static int check_product(const product *m)
{
    size_t n = m->n, nb = m->nb;
    double *x = malloc(n * sizeof *x), *bx = malloc(n * sizeof *bx);
    int rc = x && bx ? 0 : -1;
    for (int t = 0; rc == 0 && t < 2; t++) {
        for (size_t i = 0; i < n; i++)
            x[i] = (double)((i * (t ? 5 : 3) + 1) % 7);
        for (size_t i = 0; i < n; i++) { /* B x, B read from its column panels */
            double s = 0;
            for (size_t j = 0; j < n; j++)
                s += m->bpanel[j / nb][i * nb + j % nb] * x[j];
            bx[i] = s;
        }
        for (size_t i = 0; i < n && rc == 0; i++) {
            double cx = 0, abx = 0;
            for (size_t j = 0; j < n; j++) {
                cx += m->c[i * n + j] * x[j];
                abx += m->a[i * n + j] * bx[j];
            }
            if (cx != abx) {
                fprintf(stderr, "wrong product: row %zu of C x is %.17g, of A B x %.17g\n", i, cx, abx);
                rc = -1;
            }
        }
    }
    free(x);
    free(bx);
    return rc;
}

typedef struct timing {
    double median_s, min_s;
} timing;

static int run_client(ps_executor *ex, const paper_run *run, product *m, int reps, size_t window,
                      timing *out)
{
    size_t tasks = m->blocks * m->blocks;
    double *t = calloc((size_t)reps, sizeof *t);
    if (!t)
        return -1;
    int rc = 0;
    /* Warm-up: a 1 x 1 product on every worker, by value. */
    for (int w = 0; rc == 0 && w < run->workers; w++) {
        double one = 1;
        int64_t d1[3] = {1, 1, 1};
        ps_value args[3] = {{&ps_type_double, &one, 1, NULL}, {&ps_type_double, &one, 1, NULL},
                            {&ps_type_int64, d1, 3, NULL}};
        ps_task *task = ps_submit(ex, "panel_product", 3, args);
        if (!task || ps_task_wait(task) != PS_OK)
            rc = -1;
        ps_task_free(task);
    }
    for (int r = 0; rc == 0 && r < reps; r++) {
        memset(m->c, 0, m->n * m->n * sizeof *m->c);
        double t0 = now_us();
        if (m->store)
            rc = put_panels(m);
        if (rc == 0)
            rc = paper_window(ex, tasks, window, submit, collect, m);
        if (m->store && release_panels(m) != 0)
            rc = -1;
        t[r] = (now_us() - t0) / 1e6;
        if (rc == 0)
            rc = check_product(m);
    }
    if (rc == 0) {
        out->median_s = median(t, reps);
        out->min_s = t[0]; /* median sorted them */
    } else {
        fprintf(stderr, "the product failed: %s\n", ps_last_error_message());
    }
    free(t);
    return rc;
}

static int make_matrices(product *m)
{
    size_t n = m->n, nb = m->nb;
    m->a = malloc(n * n * sizeof *m->a);
    m->c = malloc(n * n * sizeof *m->c);
    m->bpanel = calloc(m->blocks, sizeof *m->bpanel);
    m->apx = calloc(m->blocks, sizeof *m->apx);
    m->bpx = calloc(m->blocks, sizeof *m->bpx);
    if (!m->a || !m->c || !m->bpanel || !m->apx || !m->bpx)
        return -1;
    for (size_t q = 0; q < m->blocks; q++)
        if (!(m->bpanel[q] = malloc(n * nb * sizeof **m->bpanel)))
            return -1;
    /* Small integers: every product and sum is exact in a double. */
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++) {
            m->a[i * n + j] = (double)((i * 7 + j * 3) % 8);
            m->bpanel[j / nb][i * nb + j % nb] = (double)((i * 5 + j * 11) % 8) - 3;
        }
    m->dims[0] = (int64_t)nb, m->dims[1] = (int64_t)n, m->dims[2] = (int64_t)nb;
    return 0;
}

static void free_matrices(product *m)
{
    for (size_t q = 0; m->bpanel && q < m->blocks; q++)
        free(m->bpanel[q]);
    free(m->bpanel);
    free(m->a);
    free(m->c);
    free(m->apx);
    free(m->bpx);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: mpirun -n N %s direct|scheduler URL|none [N [BLOCKS [REPS [WINDOW]]]]\n",
                argv[0]);
        return 2;
    }
    const ps_type *in[] = {&ps_type_double, &ps_type_double, &ps_type_int64};
    ps_task_register("panel_product", panel_product, 3, in, &ps_type_double, NULL);
    size_t n = 0, blocks = 0, reps = 0, window = 0;
    int rc = paper_count_arg(argc, argv, 3, 1024, 1, 65536, &n) |
             paper_count_arg(argc, argv, 4, 16, 1, 4096, &blocks) | paper_count_arg(argc, argv, 5, 3, 1, 1000, &reps);
    if (rc == 0 && n % blocks) {
        fprintf(stderr, "N (%zu) must be a multiple of BLOCKS (%zu)\n", n, blocks);
        rc = -1;
    }
    paper_run run;
    /* Room in every worker's cache for all the panels (and a little more):
     * a panel is mapped once and every later task reading it is a hit. */
    int cache = (int)(2 * blocks + 4);
    if (paper_start(&run, &argc, &argv, argv[1], argv[2], cache) != 0)
        rc = -1;
    if (rc == 0)
        rc = paper_count_arg(argc, argv, 6, 2 * (size_t)run.workers, 1, 1000000, &window);
    product m = {.n = n, .blocks = blocks, .nb = blocks ? n / blocks : 0, .store = run.store};
    if (rc == 0 && run.rank == 0 && make_matrices(&m) != 0) {
        fprintf(stderr, "out of memory for two %zu x %zu matrices\n", n, n);
        rc = -1;
    }
    ps_executor_options opts;
    ps_executor_options_init(&opts);
    opts.store = run.store;
    /* Only the panels the client proxies explicitly travel as descriptors:
     * the dims and the blocks of C go by value in both modes. */
    opts.threshold = SIZE_MAX;
    MPI_Allreduce(MPI_IN_PLACE, &rc, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    ps_executor *ex = NULL;
    timing tm = {0};
    if (rc == 0)
        rc = paper_executor(&run, &opts, &ex);
    if (ex) {
        rc = run_client(ex, &run, &m, (int)reps, window, &tm);
        if (ps_executor_shutdown(ex) != PS_OK && rc == 0)
            rc = -1;
    }
    /* What the workers' stores did: maps (cache misses) and cache hits. */
    unsigned long long mine[2] = {0, 0}, all[2] = {0, 0};
    ps_metrics mt;
    if (run.rank > 0 && run.store && ps_store_metrics(run.store, &mt) == PS_OK)
        mine[0] = mt.cache_misses, mine[1] = mt.cache_hits;
    MPI_Reduce(mine, all, 2, MPI_UNSIGNED_LONG_LONG, MPI_SUM, 0, MPI_COMM_WORLD);
    if (run.rank == 0 && rc == 0) {
        size_t tasks = blocks * blocks;
        unsigned long long most = (unsigned long long)reps * (unsigned long long)run.workers * 2 * blocks;
        if (run.store && (all[0] > most || all[0] + all[1] != (unsigned long long)reps * 2 * tasks)) {
            fprintf(stderr, "the workers mapped %llu panels and hit the cache %llu times: expected at most "
                            "%llu maps and %zu resolves in all\n", all[0], all[1], most, reps * 2 * tasks);
            rc = -1;
        } else {
            printf("%s,%s,%s,%d,%zu,%zu,%zu,%zu,%.4f,%.4f,%llu,%llu\n", run.topology_name, run.store_name,
                   run.mode, run.workers, n, blocks, tasks, reps, tm.median_s, tm.min_s, all[0], all[1]);
        }
    }
    free_matrices(&m);
    return paper_finish(&run, rc);
}
