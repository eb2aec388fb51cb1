/*
 * bench_runtime.c — libproxystore through its public API, beside the
 * cheapest way to move the same bytes without it, measured in the same run.
 *
 *   bench_runtime [--quick] [--floor-only] [--hash-placement] [--max-size BYTES]
 *   PS_BENCH_REDIS_URL=redis://127.0.0.1:PORT bench_runtime   (bench/run.sh)
 *
 * For each connector and size: put (ps_proxy_array), resolve (ps_resolve of
 * that proxy, with the store's cache off so every resolve reads the
 * connector) and evict (ps_store_evict), each the median of N runs, N scaled
 * to the size.  References:
 *   local, shm  "copy": malloc + memcpy of the payload, what passing the
 *               object by value costs (a put must fill fresh memory too);
 *               the 64 MiB line also shows memcpy into warm memory;
 *   file        write() of the payload to a new file in the same directory,
 *               read() of it into a new buffer, unlink();
 *   redis       raw hiredis SET / GET / DEL of the payload (redisCommand).
 * Then: resolving 64 MiB from shm against copying it; the cost of
 * ps_store_options.verify and of ps_store_get against a resolve; Redis
 * against its zero-copy floor (bench_floor.c); 1000 small puts as one
 * batch against 1000 single puts on Redis; and the three ways to send a SET
 * whose value comes in two parts (header + payload), which chose how the
 * Redis connector writes.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "bench_floor.h"
#include "bench_store.h"
#include "bench_time.h"
#include "proxystore/proxystore.h"
#include "url.h"

#define KiB ((size_t)1 << 10)
#define MiB ((size_t)1 << 20)

static const size_t sizes[] = {100, KiB, 10 * KiB, 100 * KiB, MiB, 10 * MiB, 64 * MiB};
#define NSIZES (sizeof sizes / sizeof sizes[0])

static bool quick;
static bool floor_only; /* --floor-only: just the Redis zero-copy floor table */
static bool hash_placement; /* --hash-placement: where a put's hash can go, against the floor */
static size_t max_size = 64 * MiB;

/* Runs per size: many for small objects, a few for large ones. */
static int runs_for(size_t size)
{
    int n = size <= 10 * KiB ? 300 : size <= 100 * KiB ? 100 : size <= MiB ? 40 : size <= 10 * MiB ? 12 : 6;
    return quick ? (n / 6 > 3 ? n / 6 : 3) : n;
}

static void die(const char *what)
{
    fprintf(stderr, "bench_runtime: %s: %s (%s)\n", what, ps_status_name(ps_last_error_code()),
            ps_last_error_message());
    exit(1);
}

static const char *size_name(size_t size)
{
    static char buf[8][32];
    static int slot;
    char *s = buf[slot++ % 8];
    if (size >= MiB)
        snprintf(s, 32, "%zu MiB", size / MiB);
    else if (size >= KiB)
        snprintf(s, 32, "%zu KiB", size / KiB);
    else
        snprintf(s, 32, "%zu B", size);
    return s;
}

/* ------------------------------------------------------ the references */

typedef enum { REF_COPY, REF_FILE, REF_REDIS } ref_kind;

typedef struct reference {
    ref_kind kind;
    char path[600];     /* REF_FILE */
    redisContext *redis; /* REF_REDIS */
} reference;

static redisContext *raw_redis(const char *url_text)
{
    ps_url url;
    if (ps_url_parse(url_text, &url) != PS_OK)
        die("parse the redis URL");
    redisContext *r = redisConnect(url.host[0] ? url.host : "127.0.0.1", url.port > 0 ? url.port : 6379);
    if (!r || r->err) {
        fprintf(stderr, "bench_runtime: cannot connect to %s\n", url_text);
        exit(1);
    }
    if (url.password) {
        redisReply *x = url.user ? redisCommand(r, "AUTH %s %s", url.user, url.password)
                                 : redisCommand(r, "AUTH %s", url.password);
        freeReplyObject(x);
    }
    if (url.path[0] == '/' && url.path[1]) {
        redisReply *x = redisCommand(r, "SELECT %s", url.path + 1);
        freeReplyObject(x);
    }
    ps_url_free(&url);
    return r;
}

/* After a large GET the server still frees its reply buffers for a
 * moment; a delete sent at once waits for that, and a client that reads
 * and releases faster would be charged more for the same command.  Pause
 * (untimed) before timing a delete of a large object. */
static void settle(size_t size)
{
    if (size >= MiB)
        usleep(3000);
}

/* One reference put/get/delete; times in microseconds. */
static void reference_run(reference *ref, const unsigned char *buf, size_t size, double *put, double *get,
                          double *del)
{
    double t0, t1, t2, t3;
    /* Freeing is outside the timings, as the store frees at evict/free. */
    if (ref->kind == REF_COPY) {
        t0 = now_us();
        unsigned char *copy = malloc(size);
        memcpy(copy, buf, size);
        __asm__ volatile("" : : "r"(copy) : "memory"); /* the copy is used */
        t1 = now_us();
        free(copy);
        *put = *get = t1 - t0;
        *del = 0;
        return;
    }
    if (ref->kind == REF_FILE) {
        t0 = now_us();
        int fd = open(ref->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0 || write(fd, buf, size) != (ssize_t)size)
            die("reference write");
        close(fd);
        t1 = now_us();
        fd = open(ref->path, O_RDONLY | O_CLOEXEC);
        unsigned char *back = malloc(size);
        if (fd < 0 || read(fd, back, size) != (ssize_t)size)
            die("reference read");
        close(fd);
        t2 = now_us();
        free(back);
        double t2b = now_us();
        unlink(ref->path);
        t3 = now_us();
        *put = t1 - t0;
        *get = t2 - t1;
        *del = t3 - t2b;
        return;
    }
    t0 = now_us();
    redisReply *x = redisCommand(ref->redis, "SET psbench:raw %b", buf, size);
    if (!x || x->type == REDIS_REPLY_ERROR)
        die("raw SET");
    freeReplyObject(x);
    t1 = now_us();
    x = redisCommand(ref->redis, "GET psbench:raw");
    t2 = now_us();
    if (!x || x->len != size)
        die("raw GET");
    freeReplyObject(x);
    settle(size);
    double t2b = now_us();
    x = redisCommand(ref->redis, "DEL psbench:raw");
    freeReplyObject(x);
    t3 = now_us();
    *put = t1 - t0;
    *get = t2 - t1;
    *del = t3 - t2b;
}

/* ------------------------------------------------------ one connector */

typedef struct result {
    double put, resolve, evict;
    double ref_put, ref_get, ref_del;
} result;

static result results[5][NSIZES];
static const char *conn_names[5];
static int nconns;

static void bench_store(const char *label, const char *url, reference *ref)
{
    ps_store_options opts = {.cache_size = 0};
    char name[64];
    snprintf(name, sizeof name, "bench-%s", label);
    ps_store *store = ps_store_open(name, url, &opts);
    if (!store)
        die(url);
    int c = nconns++;
    conn_names[c] = label;
    for (size_t s = 0; s < NSIZES; s++) {
        size_t size = sizes[s];
        if (size > max_size)
            continue;
        int n = runs_for(size);
        unsigned char *buf = malloc(size);
        for (size_t i = 0; i < size; i++)
            buf[i] = (unsigned char)(i * 131 + 7);
        double *tp = calloc((size_t)n, sizeof(double)), *tr = calloc((size_t)n, sizeof(double)),
               *te = calloc((size_t)n, sizeof(double)), *rp = calloc((size_t)n, sizeof(double)),
               *rg = calloc((size_t)n, sizeof(double)), *rd = calloc((size_t)n, sizeof(double));
        for (int i = -2; i < n; i++) { /* two warm-up rounds */
            bench_round r;
            const char *failed = bench_store_round(store, buf, size, i == -2, settle, &r);
            if (failed)
                die(failed);
            double a, b, d;
            reference_run(ref, buf, size, &a, &b, &d);
            if (i >= 0) {
                tp[i] = r.put;
                tr[i] = r.resolve;
                te[i] = r.evict;
                rp[i] = a;
                rg[i] = b;
                rd[i] = d;
            }
        }
        results[c][s] = (result){median(tp, n), median(tr, n), median(te, n),
                                 median(rp, n), median(rg, n), median(rd, n)};
        free(tp), free(tr), free(te), free(rp), free(rg), free(rd);
        free(buf);
        fprintf(stderr, ".");
    }
    ps_store_close(store);
}

static double mbps(size_t size, double us)
{
    return us > 0 ? (double)size / us : 0; /* bytes per microsecond = MB/s */
}

static void print_ratio(double ours, double ref)
{
    if (ref > 0)
        printf(" %5.2f", ours / ref);
    else
        printf("     -");
}

static void print_table(void)
{
    const char *ref_name[5];
    for (int c = 0; c < nconns; c++)
        ref_name[c] = strcmp(conn_names[c], "redis") == 0 ? "hiredis"
                      : strcmp(conn_names[c], "file") == 0 ? "write/read" : "copy";
    printf("\nLatency, median, microseconds (ratio = ProxyStore / reference; < 1 is faster)\n\n");
    printf("%-6s %-10s %-8s | %10s %10s %5s | %10s %10s %5s | %9s %9s %5s | %9s %9s\n", "store", "reference",
           "size", "put", "ref", "ratio", "resolve", "ref", "ratio", "evict", "ref", "ratio", "put MB/s",
           "get MB/s");
    for (int c = 0; c < nconns; c++) {
        for (size_t s = 0; s < NSIZES; s++) {
            if (sizes[s] > max_size)
                continue;
            const result *r = &results[c][s];
            printf("%-6s %-10s %-8s | %10.1f %10.1f", conn_names[c], ref_name[c], size_name(sizes[s]), r->put,
                   r->ref_put);
            print_ratio(r->put, r->ref_put);
            printf(" | %10.1f %10.1f", r->resolve, r->ref_get);
            print_ratio(r->resolve, r->ref_get);
            if (r->ref_del > 0)
                printf(" | %9.1f %9.1f", r->evict, r->ref_del);
            else
                printf(" | %9.1f %9s", r->evict, "-");
            print_ratio(r->evict, r->ref_del);
            printf(" | %9.0f %9.0f\n", mbps(sizes[s], r->put), mbps(sizes[s], r->resolve));
        }
        printf("\n");
    }
}

/* ---------------------------------------------------- special figures */

/* memcpy into fresh memory (as passing an object by value does) and into
 * memory touched before (the floor of any copy). */
static void copy_costs_us(size_t size, double *fresh, double *warm)
{
    unsigned char *src = malloc(size), *dst = malloc(size);
    memset(src, 5, size);
    memset(dst, 0, size);
    double tf[6], tw[6];
    for (int i = 0; i < 6; i++) {
        double t0 = now_us();
        unsigned char *copy = malloc(size);
        memcpy(copy, src, size);
        __asm__ volatile("" : : "r"(copy) : "memory");
        tf[i] = now_us() - t0;
        free(copy);
        t0 = now_us();
        memcpy(dst, src, size);
        __asm__ volatile("" : : "r"(dst) : "memory");
        tw[i] = now_us() - t0;
    }
    free(src);
    free(dst);
    *fresh = median(tf, 6);
    *warm = median(tw, 6);
}

static void shm_resolve_vs_copy(void)
{
    for (int c = 0; c < nconns; c++) {
        if (strcmp(conn_names[c], "shm") != 0 || sizes[NSIZES - 1] > max_size)
            continue;
        const result *r = &results[c][NSIZES - 1];
        double fresh, warm;
        copy_costs_us(sizes[NSIZES - 1], &fresh, &warm);
        printf("Resolve 64 MiB of plain data from shm: %.1f us; copying 64 MiB: %.1f us into fresh memory "
               "(%.0fx), %.1f us into warm memory (%.0fx) (target >= 10x: %s)\n", r->resolve, fresh,
               fresh / r->resolve, warm, warm / r->resolve, warm / r->resolve >= 10 ? "met" : "MISSED");
    }
}

static void redis_batch_vs_single(const char *url)
{
    ps_store_options opts = {.cache_size = 0};
    ps_store *store = ps_store_open("bench-batch", url, &opts);
    if (!store)
        die("open the batch store");
    enum { N = 1000, ROUNDS = 7 };
    static unsigned char objs[N][100];
    static const void *objp[N];
    static size_t counts[N];
    static char keys[N][PS_KEY_MAX];
    static const char *keyp[N];
    for (size_t i = 0; i < N; i++) {
        memset(objs[i], (int)i, sizeof objs[i]);
        objp[i] = objs[i];
        counts[i] = sizeof objs[i];
        keyp[i] = keys[i];
    }
    double single[ROUNDS], batch[ROUNDS];
    for (int r = 0; r < ROUNDS; r++) {
        double t0 = now_us();
        for (size_t i = 0; i < N; i++)
            if (ps_store_put(store, &ps_type_bytes, objs[i], sizeof objs[i], keys[i]) != PS_OK)
                die("ps_store_put");
        double t1 = now_us();
        if (ps_store_evict_batch(store, N, keyp) != PS_OK)
            die("ps_store_evict_batch");
        double t2 = now_us();
        if (ps_store_put_batch(store, &ps_type_bytes, N, objp, counts, keys) != PS_OK)
            die("ps_store_put_batch");
        double t3 = now_us();
        if (ps_store_evict_batch(store, N, keyp) != PS_OK)
            die("ps_store_evict_batch");
        single[r] = t1 - t0;
        batch[r] = t3 - t2;
    }
    double s = median(single, ROUNDS), b = median(batch, ROUNDS);
    printf("Redis, 1000 puts of 100 B: one at a time %.2f ms, one batch %.2f ms: %.1fx faster "
           "(target >= 10x: %s)\n", s / 1e3, b / 1e3, s / b, s / b >= 10 ? "met" : "MISSED");
    ps_store_close(store);
}

/* The three ways to send SET key <header><payload>: join the parts and use
 * redisCommandArgv; format the RESP ourselves and use
 * redisAppendFormattedCommand; or gather the parts with sendmsg and let
 * hiredis read the reply (what the connector does). */
static double set_argv(redisContext *r, const unsigned char *hdr, const unsigned char *payload, size_t n)
{
    double t0 = now_us();
    unsigned char *joined = malloc(64 + n);
    memcpy(joined, hdr, 64);
    memcpy(joined + 64, payload, n);
    const char *argv[3] = {"SET", "psbench:set", (const char *)joined};
    size_t lens[3] = {3, 11, 64 + n};
    redisReply *x = redisCommandArgv(r, 3, argv, lens);
    freeReplyObject(x);
    free(joined);
    return now_us() - t0;
}

static int resp_header(char *out, size_t total)
{
    return sprintf(out, "*3\r\n$3\r\nSET\r\n$11\r\npsbench:set\r\n$%zu\r\n", total);
}

static double set_formatted(redisContext *r, const unsigned char *hdr, const unsigned char *payload, size_t n)
{
    double t0 = now_us();
    char head[96];
    int h = resp_header(head, 64 + n);
    char *cmd = malloc((size_t)h + 64 + n + 2);
    memcpy(cmd, head, (size_t)h);
    memcpy(cmd + h, hdr, 64);
    memcpy(cmd + h + 64, payload, n);
    memcpy(cmd + h + 64 + n, "\r\n", 2);
    redisAppendFormattedCommand(r, cmd, (size_t)h + 64 + n + 2);
    void *x;
    redisGetReply(r, &x);
    freeReplyObject(x);
    free(cmd);
    return now_us() - t0;
}

static double set_gather(redisContext *r, const unsigned char *hdr, const unsigned char *payload, size_t n)
{
    double t0 = now_us();
    char head[96];
    int h = resp_header(head, 64 + n);
    struct iovec iov[4] = {{head, (size_t)h}, {(void *)hdr, 64}, {(void *)payload, n}, {"\r\n", 2}};
    size_t total = (size_t)h + 64 + n + 2, sent = 0;
    int i = 0;
    while (sent < total) {
        struct msghdr msg = {.msg_iov = iov + i, .msg_iovlen = (size_t)(4 - i)};
        ssize_t w = sendmsg(r->fd, &msg, MSG_NOSIGNAL);
        if (w < 0)
            die("sendmsg");
        sent += (size_t)w;
        while (w > 0) {
            size_t k = (size_t)w < iov[i].iov_len ? (size_t)w : iov[i].iov_len;
            iov[i].iov_base = (char *)iov[i].iov_base + k;
            iov[i].iov_len -= k;
            w -= (ssize_t)k;
            if (iov[i].iov_len == 0)
                i++;
        }
    }
    void *x;
    redisGetReply(r, &x);
    freeReplyObject(x);
    return now_us() - t0;
}

static void set_strategies(const char *url)
{
    redisContext *r = raw_redis(url);
    const size_t ss[] = {KiB, 100 * KiB, 10 * MiB};
    unsigned char hdr[64];
    memset(hdr, 1, sizeof hdr);
    printf("\nSET of a two-part value (64 B header + payload), median microseconds:\n");
    printf("%-8s %12s %12s %12s\n", "payload", "argv+join", "formatted", "sendmsg");
    for (size_t s = 0; s < sizeof ss / sizeof ss[0]; s++) {
        if (ss[s] > max_size)
            continue;
        unsigned char *payload = malloc(ss[s]);
        memset(payload, 2, ss[s]);
        int n = runs_for(ss[s]);
        double *a = calloc((size_t)n, sizeof(double)), *f = calloc((size_t)n, sizeof(double)),
               *g = calloc((size_t)n, sizeof(double));
        for (int i = -2; i < n; i++) {
            double x = set_argv(r, hdr, payload, ss[s]);
            double y = set_formatted(r, hdr, payload, ss[s]);
            double z = set_gather(r, hdr, payload, ss[s]);
            if (i >= 0)
                a[i] = x, f[i] = y, g[i] = z;
        }
        printf("%-8s %12.1f %12.1f %12.1f\n", size_name(ss[s]), median(a, n), median(f, n), median(g, n));
        free(a), free(f), free(g), free(payload);
    }
    redisReply *x = redisCommand(r, "DEL psbench:set");
    freeReplyObject(x);
    redisFree(r);
}

/* ------------------------------------------------------------------ main */

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0) {
            quick = true;
        } else if (strcmp(argv[i], "--floor-only") == 0) {
            floor_only = true;
        } else if (strcmp(argv[i], "--hash-placement") == 0) {
            hash_placement = true;
        } else if (strcmp(argv[i], "--max-size") == 0 && i + 1 < argc) {
            max_size = strtoull(argv[++i], NULL, 10);
        } else {
            fprintf(stderr, "usage: %s [--quick] [--floor-only] [--hash-placement] [--max-size BYTES]\n"
                    "  PS_BENCH_REDIS_URL=redis://host:port adds the redis rows (bench/run.sh sets it)\n", argv[0]);
            return 2;
        }
    }
    const char *redis_url = getenv("PS_BENCH_REDIS_URL");
    if (floor_only || hash_placement) {
        if (!redis_url || !*redis_url) {
            fprintf(stderr, "%s: --floor-only and --hash-placement need PS_BENCH_REDIS_URL (bench/run.sh sets it)\n",
                    argv[0]);
            return 2;
        }
        if (floor_only)
            bench_redis_floor(redis_url, sizes, NSIZES, max_size, runs_for);
        if (hash_placement)
            bench_redis_hash_placement(redis_url, sizes, NSIZES, max_size, runs_for);
        return 0;
    }
    char shm_url[64], file_url[600], dir[512];
    snprintf(shm_url, sizeof shm_url, "shm://psbench%d", (int)getpid());
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/psbench-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(file_url, sizeof file_url, "file://%s", dir);

    reference copy = {.kind = REF_COPY};
    reference file = {.kind = REF_FILE};
    snprintf(file.path, sizeof file.path, "%s/reference.bin", dir);
    fprintf(stderr, "measuring");
    bench_store("local", "local://", &copy);
    bench_store("shm", shm_url, &copy);
    bench_store("file", file_url, &file);
    if (redis_url && *redis_url) {
        reference redis = {.kind = REF_REDIS, .redis = raw_redis(redis_url)};
        char url[600];
        snprintf(url, sizeof url, "%s%sprefix=psbench%d", redis_url, strchr(redis_url, '?') ? "&" : "?",
                 (int)getpid());
        bench_store("redis", url, &redis);
        redisFree(redis.redis);
    }
    fprintf(stderr, "\n");
    print_table();
    shm_resolve_vs_copy();
    bench_verify_cost("shm", shm_url, sizes, NSIZES, max_size, runs_for);
    bench_verify_cost("file", file_url, sizes, NSIZES, max_size, runs_for);
    if (redis_url && *redis_url) {
        bench_verify_cost("redis", redis_url, sizes, NSIZES, max_size, runs_for);
        bench_redis_floor(redis_url, sizes, NSIZES, max_size, runs_for);
        char url[600];
        snprintf(url, sizeof url, "%s%sprefix=psbatch%d", redis_url, strchr(redis_url, '?') ? "&" : "?",
                 (int)getpid());
        redis_batch_vs_single(url);
        set_strategies(redis_url);
    } else {
        printf("(no PS_BENCH_REDIS_URL: redis rows skipped; bench/run.sh starts a private server)\n");
    }
    rmdir(dir);
    return 0;
}
