/*
 * round_trip.c — the paper's task round trip (its Figure 3), in C: a
 * no-op task whose argument and result are N bytes (it returns its
 * argument), from submit to the result in the caller's hands, by value and
 * by proxy, for N from 1 kB to 100 MB.
 *
 *   round_trip threads [STORE_URL]          the threads backend, 1 thread
 *   mpirun -n 2 round_trip direct [URL]     MPI: client and one worker
 *   mpirun -n 3 round_trip scheduler [URL]  MPI: client, scheduler, worker
 *
 * By value: the executor has no store, so both the argument and the result
 * ride in the task messages (through the scheduler rank when there is
 * one).  By proxy: threshold 0 and the store at URL (default shm://), so
 * only descriptors travel and the worker resolves from the store.  The
 * by-proxy time includes putting the argument, resolving it, putting the
 * result, resolving it in the caller and evicting both.
 *
 * Prints CSV: backend,store,mode,bytes,reps,median_us,min_us
 * (the by-value rows are the reference each by-proxy row is compared to).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mpi.h>

#include <proxystore/executor_mpi.h>

static ps_status noop(const ps_value args[], size_t nargs, ps_result *out, void *user)
{
    (void)nargs, (void)user;
    size_t n = args[0].count;
    out->data = malloc(n ? n : 1);
    if (!out->data)
        return ps_task_error(PS_ERR_NO_MEMORY, "noop: out of memory");
    memcpy(out->data, args[0].data, n);
    out->count = n;
    return PS_OK;
}

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* One round trip: submit, wait, take the result and touch every byte of
 * it (a proxied result is resolved), then release it. */
static int round_trip(ps_executor *ex, const unsigned char *in, size_t n)
{
    ps_value arg = {&ps_type_bytes, in, n, NULL};
    ps_task *t = ps_submit(ex, "noop", 1, &arg);
    ps_result r = {0};
    if (!t || ps_task_wait(t) != PS_OK || ps_task_result(t, &r) != PS_OK) {
        fprintf(stderr, "round trip of %zu bytes: %s\n", n, ps_last_error_message());
        ps_task_free(t);
        return -1;
    }
    const unsigned char *out = r.proxy ? ps_resolve_ref(r.proxy, "unsigned char", 1) : r.data;
    int ok = out && out[n - 1] == in[n - 1] && out[0] == in[0];
    if (r.proxy)
        ps_owned_release(r.proxy);
    free(r.data);
    ps_task_free(t);
    return ok ? 0 : -1;
}

static int reps_for(size_t n)
{
    return n <= 100000 ? 200 : n <= 1000000 ? 50 : n <= 10000000 ? 10 : 4;
}

static int measure(ps_executor *ex, const char *backend, const char *store, const char *mode)
{
    static const size_t sizes[] = {1000, 10000, 100000, 1000000, 10000000, 100000000};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        size_t n = sizes[s];
        unsigned char *in = malloc(n);
        if (!in)
            return -1;
        for (size_t i = 0; i < n; i++)
            in[i] = (unsigned char)(i * 131 + 7);
        int reps = reps_for(n);
        double *t = malloc((size_t)reps * sizeof *t);
        if (round_trip(ex, in, n) != 0) /* warm-up */
            return -1;
        for (int r = 0; r < reps; r++) {
            double t0 = now_us();
            if (round_trip(ex, in, n) != 0)
                return -1;
            t[r] = now_us() - t0;
        }
        qsort(t, (size_t)reps, sizeof *t, cmp_double);
        printf("%s,%s,%s,%zu,%d,%.1f,%.1f\n", backend, store, mode, n, reps, t[reps / 2], t[0]);
        fflush(stdout);
        free(t);
        free(in);
    }
    return 0;
}

/* Store name as the CSV calls it: the URL's scheme. */
static const char *scheme(const char *url)
{
    static char s[16];
    snprintf(s, sizeof s, "%.*s", (int)strcspn(url, ":"), url);
    return s;
}

int main(int argc, char **argv)
{
    const char *backend = argc > 1 ? argv[1] : "threads";
    const char *url = argc > 2 ? argv[2] : "shm://ps-bench-rt";
    bool threads = strcmp(backend, "threads") == 0;
    int rank = 0;
    if (!threads) {
        int provided;
        MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &provided);
        MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    }
    const ps_type *in[] = {&ps_type_bytes};
    ps_task_register("noop", noop, 1, in, &ps_type_bytes, NULL);
    /* No cache: a resolved object would stay mapped after its evict. */
    ps_store_options so = {.cache_size = 0};
    ps_store *store = ps_store_open("bench-rt", url, &so);
    if (!store) {
        fprintf(stderr, "open %s: %s\n", url, ps_last_error_message());
        return 1;
    }
    if (rank == 0)
        printf("backend,store,mode,bytes,reps,median_us,min_us\n");
    int rc = 0;
    for (int by_proxy = 0; by_proxy <= 1 && rc == 0; by_proxy++) {
        ps_executor_options opts;
        ps_executor_options_init(&opts);
        opts.threads = 1;
        opts.store = by_proxy ? store : NULL;
        opts.threshold = 0;
        ps_executor *ex = NULL;
        if (threads) {
            ex = ps_executor_threads(&opts);
            rc = ex ? 0 : 1;
        } else {
            ps_executor_topology topo = strcmp(backend, "scheduler") == 0 ? PS_EXECUTOR_SCHEDULER
                                                                          : PS_EXECUTOR_DIRECT;
            rc = ps_executor_mpi(MPI_COMM_WORLD, topo, &opts, &ex) == PS_OK ? 0 : 1;
        }
        if (rc)
            fprintf(stderr, "executor: %s\n", ps_last_error_message());
        if (ex) {
            rc = measure(ex, backend, by_proxy ? scheme(url) : "none", by_proxy ? "proxy" : "value");
            ps_executor_shutdown(ex);
        }
    }
    ps_store_close(store);
    if (!threads) {
        MPI_Allreduce(MPI_IN_PLACE, &rc, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
        MPI_Finalize();
    }
    return rc;
}
