/*
 * bench_arena.c — shm:// puts into the store's arena against puts into one
 * segment per object, beside memcpy measured in the same run.
 *
 *   flock /tmp/ps-bench.lock env PS_BENCH=bench_arena bench/run.sh [--quick]
 *
 * For 64 KiB, 1 MiB, 10 MiB and 100 MiB, each run in one loop, so every
 * figure of a line sees the same machine state:
 *   memcpy warm   the second of two memcpy calls into one buffer, back to
 *                 back (both buffers as cached as they can be: the floor);
 *   memcpy fresh  malloc + memcpy (passing the object by value);
 *   hash          the payload hash every store put computes (XXH3-64);
 *   conn put      the connector's put of header + payload (no hash), then
 *                 evict (untimed), into the arena and into a new segment;
 *   store put     ps_proxy_array (header, hash, connector put), arena and
 *                 segment; resolve: ps_resolve of it (cache off), evict:
 *                 ps_store_evict.
 * Medians of N runs after two warm-up runs; ratios are against memcpy warm.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_store.h"
#include "bench_time.h"
#include "connector.h"
#include "hash.h"
#include "proxystore/proxystore.h"
#include "url.h"

#define KiB ((size_t)1 << 10)
#define MiB ((size_t)1 << 20)

static const size_t sizes[] = {64 * KiB, MiB, 10 * MiB, 100 * MiB};
#define NSIZES (sizeof sizes / sizeof sizes[0])
#define ARENA_URL_SIZE "512M"

static bool quick;

static int runs_for(size_t size)
{
    int n = size <= 64 * KiB ? 400 : size <= MiB ? 100 : size <= 10 * MiB ? 30 : 10;
    return quick ? (n / 5 > 3 ? n / 5 : 3) : n;
}

static void die(const char *what)
{
    fprintf(stderr, "bench_arena: %s: %s (%s)\n", what, ps_status_name(ps_last_error_code()),
            ps_last_error_message());
    exit(1);
}

static ps_connector *open_conn(const char *text)
{
    ps_url url;
    ps_connector *c = NULL;
    if (ps_url_parse(text, &url) != PS_OK)
        die(text);
    if (ps_shm_connector.open(&url, &c) != PS_OK)
        die(text);
    ps_url_free(&url);
    return c;
}

enum { M_WARM, M_FRESH, M_HASH, M_CONN_ARENA, M_CONN_SEG, M_PUT_ARENA, M_PUT_SEG, M_RES_ARENA, M_RES_SEG,
       M_EVICT_ARENA, M_EVICT_SEG, M_N };
static const char *const m_names[M_N] = {"memcpy warm", "memcpy fresh", "hash", "conn put arena",
                                         "conn put segment", "store put arena", "store put segment",
                                         "resolve arena", "resolve segment", "evict arena", "evict segment"};

/* bench_store_round into put/res/evict, or die. */
static void store_round(ps_store *store, const unsigned char *buf, size_t size, bool check, double *put,
                        double *res, double *evict)
{
    bench_round r;
    const char *failed = bench_store_round(store, buf, size, check, NULL, &r);
    if (failed)
        die(failed);
    *put = r.put;
    *res = r.resolve;
    *evict = r.evict;
}

static double conn_put(ps_connector *c, const unsigned char *head, const unsigned char *buf, size_t size)
{
    ps_iov parts[2] = {{head, 64}, {buf, size}};
    double t0 = now_us();
    if (c->ops->put(c, "bench-object", parts, 2) != PS_OK)
        die("connector put");
    double t1 = now_us();
    if (c->ops->evict(c, "bench-object") != PS_OK)
        die("connector evict");
    return t1 - t0;
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0)
            quick = true;
        else {
            fprintf(stderr, "usage: bench_arena [--quick]\n");
            return 2;
        }
    }
    char seg_url[64], arena_url[96];
    snprintf(seg_url, sizeof seg_url, "shm://bench-seg-%d", (int)getpid());
    snprintf(arena_url, sizeof arena_url, "shm://bench-arena-%d?arena=" ARENA_URL_SIZE, (int)getpid());
    ps_store_options opts = {.cache_size = 0};
    ps_store *seg = ps_store_open("bench-seg", seg_url, &opts);
    ps_store *arena = ps_store_open("bench-arena", arena_url, &opts);
    if (!seg || !arena)
        die("ps_store_open");
    char cseg_url[64], carena_url[96];
    snprintf(cseg_url, sizeof cseg_url, "shm://bench-cseg-%d", (int)getpid());
    snprintf(carena_url, sizeof carena_url, "shm://bench-carena-%d?arena=" ARENA_URL_SIZE, (int)getpid());
    ps_connector *cseg = open_conn(cseg_url), *carena = open_conn(carena_url);
    unsigned char head[64] = {0};

    printf("Median microseconds (ratio = figure / memcpy warm of the same size, same run)\n\n");
    printf("%-18s", "");
    for (size_t s = 0; s < NSIZES; s++)
        printf(" | %9zu KiB  ratio", sizes[s] / KiB);
    printf("\n");
    double med[M_N][NSIZES];
    for (size_t s = 0; s < NSIZES; s++) {
        size_t size = sizes[s];
        int n = runs_for(size);
        unsigned char *buf = malloc(size), *dst = malloc(size);
        if (!buf || !dst)
            die("malloc");
        for (size_t i = 0; i < size; i++)
            buf[i] = (unsigned char)(i * 131 + 7);
        memset(dst, 0, size);
        double *v[M_N];
        for (int m = 0; m < M_N; m++)
            v[m] = calloc((size_t)n, sizeof(double));
        for (int i = -2; i < n; i++) {
            double t[M_N];
            memcpy(dst, buf, size); /* untimed: the timed copy finds both buffers as warm as they get */
            __asm__ volatile("" : : "r"(dst) : "memory");
            double t0 = now_us();
            memcpy(dst, buf, size);
            __asm__ volatile("" : : "r"(dst) : "memory");
            t[M_WARM] = now_us() - t0;
            t0 = now_us();
            unsigned char *copy = malloc(size);
            memcpy(copy, buf, size);
            __asm__ volatile("" : : "r"(copy) : "memory");
            t[M_FRESH] = now_us() - t0;
            free(copy);
            t0 = now_us();
            volatile uint64_t h = ps_payload_hash(buf, size);
            (void)h;
            t[M_HASH] = now_us() - t0;
            /* Each put row is the second of two rounds of its kind, as
             * "memcpy warm" is the second of two copies: the untimed round
             * leaves the source and the space the next put reuses as
             * cached as they get, whatever the rows before it touched. */
            double untimed[3];
            (void)conn_put(carena, head, buf, size);
            t[M_CONN_ARENA] = conn_put(carena, head, buf, size);
            (void)conn_put(cseg, head, buf, size);
            t[M_CONN_SEG] = conn_put(cseg, head, buf, size);
            store_round(arena, buf, size, false, &untimed[0], &untimed[1], &untimed[2]);
            store_round(arena, buf, size, i == -2, &t[M_PUT_ARENA], &t[M_RES_ARENA], &t[M_EVICT_ARENA]);
            store_round(seg, buf, size, false, &untimed[0], &untimed[1], &untimed[2]);
            store_round(seg, buf, size, i == -2, &t[M_PUT_SEG], &t[M_RES_SEG], &t[M_EVICT_SEG]);
            if (i >= 0)
                for (int m = 0; m < M_N; m++)
                    v[m][i] = t[m];
        }
        for (int m = 0; m < M_N; m++) {
            med[m][s] = median(v[m], n);
            free(v[m]);
        }
        free(buf);
        free(dst);
        fprintf(stderr, ".");
    }
    fprintf(stderr, "\n");
    for (int m = 0; m < M_N; m++) {
        printf("%-18s", m_names[m]);
        for (size_t s = 0; s < NSIZES; s++)
            printf(" | %13.1f %6.2f", med[m][s], med[m][s] / med[M_WARM][s]);
        printf("\n");
    }
    cseg->ops->close(cseg);
    carena->ops->close(carena);
    ps_store_close(seg);
    ps_store_close(arena);
    return 0;
}
