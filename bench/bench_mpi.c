/*
 * bench_mpi.c — resolving a proxy on another rank: mpi:// beside redis://
 * and beside a plain MPI_Send/MPI_Recv of the same bytes, in one run.
 *
 * mpi:// is measured three ways: the same-node path (the resolve is a view
 * into the owner's arena: "view"), the same followed by a copy of every
 * byte into a warm buffer of the reader's ("view+copy": bytes delivered
 * into the reader's own memory, as the floor delivers them), and with
 * ?arena=0, where the owner's service thread sends the bytes over MPI
 * ("heap": the path between nodes).
 *
 *   mpirun -n 2 bench_mpi [--quick] [--max-size BYTES]      (bench/mpi.sh)
 *   PS_BENCH_REDIS_URL=redis://127.0.0.1:PORT  a loopback server (optional)
 *
 * Rank 0 produces, rank 1 consumes.  For each size and each repetition:
 *   mpi, redis  rank 0 puts the object (ps_proxy_array) and sends the proxy
 *               descriptor; rank 1 turns it into a proxy, asks whether the
 *               key exists (untimed: as within a burst of fetches, the
 *               owner's service thread is awake) and times ps_resolve (the
 *               store's cache off, so every resolve reads the connector);
 *               rank 0 then evicts it.  Rank 0 waits
 *               without spinning while rank 1 resolves, as a producer
 *               busy with its own work would.
 *   floor       rank 0 writes the payload into its send buffer (untimed,
 *               as a put leaves a freshly written copy: the same cache
 *               state), then rank 1 sends a one-byte request and receives
 *               the payload into a warm buffer allocated before the timing;
 *               rank 0 answers with one MPI_Send of the bytes: what any
 *               pull of the object over MPI must cost at least.  Measured twice:
 *               with malloc'd buffers (send/recv) and with buffers on huge
 *               pages (huge pg), see bench_alloc.
 * Each figure is the median of N repetitions after two warm-up ones, N
 * scaled to the size; within a repetition the six measurements take
 * turns in a rotating order, after an untimed 3 ms pause and a burst of
 * one-byte round trips.
 * Only the timing is in the loop; the first resolve of each size is
 * checked against the bytes put.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include <mpi.h>

#include "proxystore/mpi.h"
#include "proxystore/proxystore.h"

#define KiB ((size_t)1 << 10)
#define MiB ((size_t)1 << 20)

enum { TAG_DESC = 1, TAG_DONE = 2, TAG_ASK = 3, TAG_DATA = 4, DESC_MAX = 4096, WARMUP = 2 };

static const size_t sizes[] = {1000, 10000, 100000, 1000000, 10000000, 100000000};
#define NSIZES (sizeof sizes / sizeof sizes[0])

static int rank;
static bool quick;
static size_t max_size = 100000000;

static void die(const char *what)
{
    fprintf(stderr, "bench_mpi (rank %d): %s: %s (%s)\n", rank, what, ps_status_name(ps_last_error_code()),
            ps_last_error_message());
    MPI_Abort(MPI_COMM_WORLD, 1);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static int runs_for(size_t size)
{
    int n = size <= 10000 ? 300 : size <= 100000 ? 152 : size <= 1000000 ? 100 : size <= 10000000 ? 32 : 12;
    return quick ? (n / 6 > 3 ? n / 6 : 3) : n;
}

/* Wait for a message without spinning: the producer is not in the way. */
static void idle_recv(void *buf, int count, int source, int tag)
{
    MPI_Request req;
    MPI_Irecv(buf, count, MPI_BYTE, source, tag, MPI_COMM_WORLD, &req);
    for (;;) {
        int done = 0;
        MPI_Test(&req, &done, MPI_STATUS_IGNORE);
        if (done)
            return;
        struct timespec ts = {0, 500000};
        nanosleep(&ts, NULL);
    }
}

/* Microseconds for rank 1 to resolve a size-byte object rank 0 puts in
 * store (both ranks call it; rank 1's figure is returned on rank 1), and to
 * copy it into copy_to when that is not NULL. */
static double one_resolve(ps_store *store, const unsigned char *payload, size_t size, bool check,
                          unsigned char *copy_to)
{
    char desc[DESC_MAX] = "";
    double t = 0;
    if (rank == 0) {
        ps_proxy_t *p = ps_proxy_array(store, &ps_type_bytes, payload, size);
        char *d = p ? ps_proxy_serialize(p) : NULL;
        if (!d)
            die("put");
        snprintf(desc, sizeof desc, "%s", d);
        free(d);
        MPI_Send(desc, DESC_MAX, MPI_CHAR, 1, TAG_DESC, MPI_COMM_WORLD);
        char done;
        idle_recv(&done, 1, 1, TAG_DONE);
        if (ps_proxy_evict(p) != PS_OK)
            die("evict");
    } else {
        MPI_Recv(desc, DESC_MAX, MPI_CHAR, 0, TAG_DESC, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        ps_proxy_t *q = ps_proxy_deserialize(desc, &ps_type_bytes);
        if (!q)
            die("deserialize");
        /* An untimed exists first, as in a burst of fetches: it wakes the
         * owner's service thread from its idle pace (docs/connectors/mpi.md),
         * so the resolve measures a transfer, not a wake-up. */
        bool exists = false;
        if (ps_store_exists(store, ps_proxy_key(q), &exists) != PS_OK || !exists)
            die("exists");
        double t0 = MPI_Wtime();
        const unsigned char *got = ps_resolve(q);
        if (got && copy_to)
            memcpy(copy_to, got, size);
        t = (MPI_Wtime() - t0) * 1e6;
        if (!got)
            die("resolve");
        if (check && memcmp(got, payload, size) != 0) {
            fprintf(stderr, "bench_mpi: resolved bytes differ at %zu bytes\n", size);
            MPI_Abort(MPI_COMM_WORLD, 1);
        }
        ps_proxy_free(q);
        char done = 1;
        MPI_Send(&done, 1, MPI_CHAR, 0, TAG_DONE, MPI_COMM_WORLD);
    }
    return t;
}

/*
 * Buffers for the floor.  Plain malloc is what a program sending its own
 * array has.  With huge, from 4 MiB on, they are aligned to and advised
 * onto 2 MiB transparent huge pages, as the library allocates its large
 * buffers: the kernel's cross-process copy under MPI was up to 2.7x faster
 * from huge pages here, so this floor is the better of the two.
 */
static unsigned char *bench_alloc(size_t size, bool huge_pages)
{
    void *p = NULL;
    size_t huge = (size_t)2 << 20;
    if (huge_pages && size >= 2 * huge) {
        if (posix_memalign(&p, huge, size) != 0)
            return NULL;
        madvise(p, size & ~(huge - 1), MADV_HUGEPAGE);
        return p;
    }
    return malloc(size ? size : 1);
}

/* The floor's two buffers: rank 0 sends from send, rank 1 receives into
 * recv (allocated and touched before any timing: warm memory). */
typedef struct floor_buffers {
    unsigned char *send, *recv;
} floor_buffers;

static floor_buffers floor_alloc(size_t size, bool huge_pages)
{
    floor_buffers b = {NULL, NULL};
    if (rank == 0 && !(b.send = bench_alloc(size, huge_pages)))
        die("floor buffer");
    if (rank == 1 && (b.recv = bench_alloc(size, huge_pages)))
        memset(b.recv, 0, size);
    else if (rank == 1)
        die("floor buffer");
    return b;
}

/* One pull of the payload by plain messages: rank 0 writes its send buffer
 * and both exchange a byte (untimed, so neither starts the timing asleep),
 * then rank 1 times a one-byte request and the MPI_Recv of the payload rank
 * 0 answers with. */
static double one_floor(const floor_buffers *b, const unsigned char *data, size_t size, bool check)
{
    char ask = 1;
    double t = 0;
    if (rank == 0) {
        memcpy(b->send, data, size); /* freshly written, as a put leaves the stored copy */
        MPI_Send(&ask, 1, MPI_CHAR, 1, TAG_DESC, MPI_COMM_WORLD); /* ready: rank 1 answers, then times */
        MPI_Recv(&ask, 1, MPI_CHAR, 1, TAG_DESC, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        MPI_Recv(&ask, 1, MPI_CHAR, 1, TAG_ASK, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        MPI_Send(b->send, (int)size, MPI_BYTE, 1, TAG_DATA, MPI_COMM_WORLD);
    } else {
        MPI_Recv(&ask, 1, MPI_CHAR, 0, TAG_DESC, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        MPI_Send(&ask, 1, MPI_CHAR, 0, TAG_DESC, MPI_COMM_WORLD); /* an untimed round trip first */
        double t0 = MPI_Wtime();
        MPI_Send(&ask, 1, MPI_CHAR, 0, TAG_ASK, MPI_COMM_WORLD);
        MPI_Recv(b->recv, (int)size, MPI_BYTE, 0, TAG_DATA, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        t = (MPI_Wtime() - t0) * 1e6;
        if (check && memcmp(b->recv, data, size) != 0) {
            fprintf(stderr, "bench_mpi: received bytes differ\n");
            MPI_Abort(MPI_COMM_WORLD, 1);
        }
    }
    return t;
}

/* Between repetitions: both ranks pause, untimed, long enough for the
 * connector's service threads to drop from spinning to their idle pace
 * (2 ms), so the floor is not measured beside a spinning thread. */
static void quiet(void)
{
    MPI_Barrier(MPI_COMM_WORLD);
    struct timespec ts = {0, 3 * 1000 * 1000};
    nanosleep(&ts, NULL);
    /* Then a burst of one-byte round trips: the first message after a
     * pause was several times slower for every method here (the cores wake
     * up), and no payload buffer is touched, so every measurement finds its
     * buffers as one repetition left them. */
    char ping = 0;
    for (int i = 0; i < 20; i++) {
        if (rank == 0) {
            MPI_Send(&ping, 1, MPI_CHAR, 1, TAG_ASK, MPI_COMM_WORLD);
            MPI_Recv(&ping, 1, MPI_CHAR, 1, TAG_ASK, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        } else {
            MPI_Recv(&ping, 1, MPI_CHAR, 0, TAG_ASK, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
            MPI_Send(&ping, 1, MPI_CHAR, 0, TAG_ASK, MPI_COMM_WORLD);
        }
    }
}

enum { M_VIEW, M_COPY, M_HEAP, M_REDIS, M_FLOOR, M_FLOOR_HUGE, M_COUNT };

/* The stores measured. */
typedef struct stores {
    ps_store *mpi;   /* same-node arenas */
    ps_store *heap;  /* ?arena=0: the service thread's messages */
    ps_store *redis; /* NULL without a server */
} stores;

/*
 * Median microseconds of each measurement for one size.  The measurements
 * take turns within each repetition, so a change in the machine's load
 * during the run reaches all of them alike and their ratios stay fair, and
 * the order rotates: the first one after the pause was slower here, for
 * every method.
 */
static void measure_size(const stores *st, const unsigned char *payload, size_t size, double out[M_COUNT])
{
    int runs = runs_for(size) + WARMUP;
    double *t[M_COUNT];
    for (int m = 0; m < M_COUNT; m++)
        t[m] = calloc((size_t)runs, sizeof *t[m]);
    floor_buffers plain = floor_alloc(size, false), huge = floor_alloc(size, true);
    unsigned char *copy_to = NULL; /* the reader's warm buffer for view+copy */
    if (rank == 1 && (copy_to = bench_alloc(size, true)))
        memset(copy_to, 0, size);
    else if (rank == 1)
        die("copy buffer");
    for (int i = 0; i < runs; i++) {
        quiet();
        for (int k = 0; k < M_COUNT; k++) {
            int m = (i + k) % M_COUNT; /* each measurement goes first as often as the others */
            bool check = i < M_COUNT;
            if (m == M_FLOOR)
                t[m][i] = one_floor(&plain, payload, size, check);
            else if (m == M_FLOOR_HUGE)
                t[m][i] = one_floor(&huge, payload, size, check);
            else if (m == M_VIEW)
                t[m][i] = one_resolve(st->mpi, payload, size, check, NULL);
            else if (m == M_COPY)
                t[m][i] = one_resolve(st->mpi, payload, size, check, copy_to);
            else if (m == M_HEAP)
                t[m][i] = one_resolve(st->heap, payload, size, check, NULL);
            else if (st->redis)
                t[m][i] = one_resolve(st->redis, payload, size, check, NULL);
        }
    }
    for (int m = 0; m < M_COUNT; m++) {
        out[m] = rank == 1 ? median(t[m] + WARMUP, runs - WARMUP) : 0;
        free(t[m]);
    }
    MPI_Bcast(out, M_COUNT, MPI_DOUBLE, 1, MPI_COMM_WORLD);
    free(plain.send), free(plain.recv), free(huge.send), free(huge.recv), free(copy_to);
}

static void size_name(size_t size, char *out, size_t cap)
{
    if (size >= 1000000)
        snprintf(out, cap, "%zu MB", size / 1000000);
    else
        snprintf(out, cap, "%zu kB", size / 1000);
}

int main(int argc, char **argv)
{
    int provided, nranks;
    MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &provided);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &nranks);
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0)
            quick = true;
        else if (strcmp(argv[i], "--max-size") == 0 && i + 1 < argc)
            max_size = strtoull(argv[++i], NULL, 10);
    }
    if (nranks != 2) {
        if (rank == 0)
            fprintf(stderr, "bench_mpi: run with mpirun -n 2\n");
        MPI_Finalize();
        return 2;
    }
    if (ps_mpi_init(MPI_COMM_WORLD) != PS_OK)
        die("ps_mpi_init");
    ps_store_options opts = {.cache_size = 0};
    stores st = {NULL, NULL, NULL};
    /* The arena holds the largest object (100 MB) with room to spare. */
    if (!(st.mpi = ps_store_open("bench-mpi", "mpi://bench?arena=256M", &opts)))
        die("open mpi://");
    if (!(st.heap = ps_store_open("bench-mpi-heap", "mpi://bench-heap?arena=0", &opts)))
        die("open mpi://?arena=0");
    const char *redis_url = getenv("PS_BENCH_REDIS_URL");
    if (redis_url && *redis_url) {
        char url[512];
        snprintf(url, sizeof url, "%s?prefix=psbench-mpi", redis_url);
        if (!(st.redis = ps_store_open("bench-redis", url, &opts)))
            die("open redis://");
    }
    if (rank == 0) {
        printf("# resolve on rank 1 of an object put on rank 0 (median us)\n");
        printf("# view: mpi:// same-node (zero-copy); +copy: view then every byte copied; heap: mpi://?arena=0\n");
        printf("%-7s %9s %9s %9s %10s %9s %9s %9s %9s %9s %9s\n", "size", "view", "+copy", "heap", "redis://",
               "send/recv", "(huge pg)", "redis/vw", "redis/cp", "cp/floor", "heap/flr");
    }
    for (size_t s = 0; s < NSIZES && sizes[s] <= max_size; s++) {
        size_t size = sizes[s];
        unsigned char *payload = malloc(size);
        for (size_t i = 0; i < size; i++)
            payload[i] = (unsigned char)(i * 131 + 7);
        /* The same bytes exist on both ranks, so rank 1 can check them. */
        double m[M_COUNT];
        measure_size(&st, payload, size, m);
        /* The better of the two floors (huge pages or not) is the reference. */
        double floor_us = m[M_FLOOR] < m[M_FLOOR_HUGE] ? m[M_FLOOR] : m[M_FLOOR_HUGE];
        if (rank == 0) {
            char name[32], rtext[32] = "-", rview[32] = "-", rcopy[32] = "-";
            size_name(size, name, sizeof name);
            if (st.redis) {
                snprintf(rtext, sizeof rtext, "%.1f", m[M_REDIS]);
                snprintf(rview, sizeof rview, "%.1fx", m[M_REDIS] / m[M_VIEW]);
                snprintf(rcopy, sizeof rcopy, "%.2fx", m[M_REDIS] / m[M_COPY]);
            }
            printf("%-7s %9.1f %9.1f %9.1f %10s %9.1f %9.1f %9s %9s %8.2fx %8.2fx\n", name, m[M_VIEW], m[M_COPY],
                   m[M_HEAP], rtext, m[M_FLOOR], m[M_FLOOR_HUGE], rview, rcopy, m[M_COPY] / floor_us,
                   m[M_HEAP] / floor_us);
            fflush(stdout);
        }
        free(payload);
    }
    if (st.redis)
        ps_store_close(st.redis);
    ps_store_close(st.heap);
    ps_store_close(st.mpi);
    ps_mpi_finalize();
    MPI_Finalize();
    return 0;
}
