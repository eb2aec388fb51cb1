/*
 * bench_future.c — futures' wake-up latency: from the producer's
 * ps_future_set call to the consumer's ps_proxy_wait returning with the
 * value, per connector, beside that connector's own round trip (one
 * ps_store_exists, and one ps_store_get of an object of the same size)
 * measured in the same run.
 *
 * The consumer is a thread of this process blocked in ps_proxy_wait before
 * the set starts (the producer lets it block for 1 ms first); it has its
 * own connection to Redis, and on shm and file its own inotify instance, as
 * a consumer in another process would.
 *
 * On Redis, raw hiredis rows follow, timed the same way: the round trip
 * of one small GET (back to back, and after 1 ms idle as a woken waiter
 * is); the floor of any wait done by the server, a client blocked in BLPOP
 * woken by another client's RPUSH of 64 bytes, with the waiter a thread
 * and a process; and our connector's commands sent by hand (BLMOVE and
 * EXISTS woken by the set-once script), to tell the commands' cost from
 * the library's.
 *
 *   bench_future [--quick] [--redis]   PS_BENCH_REDIS_URL adds the redis rows;
 *                                      --redis: only those
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include <proxystore/future.h>
#include <proxystore/proxystore.h>

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* The q-quantile of v[0..n) (sorts v). */
static double quantile(double *v, int n, double q)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return v[(int)(q * (n - 1))];
}

static void die(const char *what)
{
    fprintf(stderr, "bench_future: %s: %s\n", what, ps_last_error_message());
    exit(1);
}

/* The consumer thread and the producer hand each other one proxy a round. */
typedef struct consumer {
    pthread_mutex_t lock;
    pthread_cond_t cv;
    ps_proxy_t *proxy; /* to wait for; NULL: nothing yet */
    bool waiting, done, quit;
    double woke_us;
} consumer;

static void *consume(void *arg)
{
    consumer *c = arg;
    pthread_mutex_lock(&c->lock);
    for (;;) {
        while (!c->proxy && !c->quit)
            pthread_cond_wait(&c->cv, &c->lock);
        if (c->quit)
            break;
        ps_proxy_t *p = c->proxy;
        c->waiting = true;
        pthread_cond_broadcast(&c->cv);
        pthread_mutex_unlock(&c->lock);
        ps_status st = ps_proxy_wait(p, 10000);
        double t = now_us();
        if (st != PS_OK)
            die("consumer wait");
        pthread_mutex_lock(&c->lock);
        c->woke_us = t;
        c->proxy = NULL;
        c->done = true;
        pthread_cond_broadcast(&c->cv);
    }
    pthread_mutex_unlock(&c->lock);
    return NULL;
}

/* Median and 90th percentile of the wake-up latency for values of bytes. */
static void wake_latency(ps_store *store, consumer *c, size_t bytes, int rounds, double *med, double *p90)
{
    size_t count = bytes / sizeof(int64_t);
    int64_t *value = calloc(count, sizeof *value);
    double *lat = malloc((size_t)rounds * sizeof *lat);
    if (!value || !lat)
        die("out of memory");
    for (int r = 0; r < rounds; r++) {
        ps_future *f = ps_future_new(store, &ps_type_int64, NULL);
        ps_proxy_t *p = f ? ps_future_proxy(f) : NULL;
        if (!p)
            die("future");
        pthread_mutex_lock(&c->lock);
        c->proxy = p;
        c->waiting = c->done = false;
        pthread_cond_broadcast(&c->cv);
        while (!c->waiting)
            pthread_cond_wait(&c->cv, &c->lock);
        pthread_mutex_unlock(&c->lock);
        usleep(1000); /* let it block in the connector */
        double t0 = now_us();
        if (ps_future_set_array(f, value, count) != PS_OK)
            die("set");
        pthread_mutex_lock(&c->lock);
        while (!c->done)
            pthread_cond_wait(&c->cv, &c->lock);
        lat[r] = c->woke_us - t0;
        pthread_mutex_unlock(&c->lock);
        ps_proxy_free(p);
        ps_future_evict(f);
        ps_future_free(f);
    }
    *med = quantile(lat, rounds, 0.5);
    *p90 = quantile(lat, rounds, 0.9);
    free(lat);
    free(value);
}

/* The connector's own round trips: ps_store_exists, and ps_store_get of an
 * object of bytes. */
static void round_trips(ps_store *store, size_t bytes, int rounds, double *exists_us, double *get_us)
{
    size_t count = bytes / sizeof(int64_t);
    int64_t *value = calloc(count, sizeof *value);
    double *t = malloc((size_t)rounds * sizeof *t);
    char key[PS_KEY_MAX];
    if (!value || !t || ps_store_put(store, &ps_type_int64, value, count, key) != PS_OK)
        die("put");
    for (int r = 0; r < rounds; r++) {
        bool e;
        double t0 = now_us();
        if (ps_store_exists(store, key, &e) != PS_OK)
            die("exists");
        t[r] = now_us() - t0;
    }
    *exists_us = quantile(t, rounds, 0.5);
    for (int r = 0; r < rounds; r++) {
        double t0 = now_us();
        void *obj = ps_store_get(store, key, &ps_type_int64, NULL);
        t[r] = now_us() - t0;
        if (!obj)
            die("get");
        ps_object_free(&ps_type_int64, obj);
    }
    *get_us = quantile(t, rounds, 0.5);
    ps_store_evict(store, key);
    free(t);
    free(value);
}

static void bench(const char *label, const char *url, int rounds)
{
    char name[64];
    snprintf(name, sizeof name, "bench-future-%s", label);
    ps_store *store = ps_store_open(name, url, NULL);
    if (!store)
        die(url);
    consumer c = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL, false, false, false, 0};
    pthread_t t;
    pthread_create(&t, NULL, consume, &c);
    static const size_t sizes[] = {64, 1 << 20};
    for (size_t i = 0; i < 2; i++) {
        double med, p90, exists_us, get_us;
        wake_latency(store, &c, sizes[i], sizes[i] > 4096 ? rounds / 4 : rounds, &med, &p90);
        round_trips(store, sizes[i], sizes[i] > 4096 ? rounds / 4 : rounds, &exists_us, &get_us);
        printf("%-6s %8s %10.1f %10.1f %10.1f %10.1f %8.2fx %8.2fx\n", label, sizes[i] > 4096 ? "1 MiB" : "64 B",
               med, p90, exists_us, get_us, med / exists_us, med / get_us);
    }
    pthread_mutex_lock(&c.lock);
    c.quit = true;
    pthread_cond_broadcast(&c.cv);
    pthread_mutex_unlock(&c.lock);
    pthread_join(t, NULL);
    ps_store_close(store);
}

/* ------------------------------------------------ raw Redis references */

/* What a raw hiredis waiter blocks in and what wakes it:
 * RAW_BLPOP   BLPOP, woken by RPUSH of 64 bytes (the floor of any wait
 *             done by the server);
 * RAW_BLMOVE  our waiter's commands: BLMOVE of the signal list onto itself
 *             with EXISTS of the head in the same write, woken by RPUSH;
 * RAW_SCRIPT  the same wait, woken by a set-once script (SET NX and RPUSH
 *             in Lua);
 * RAW_OURS    our connector's commands without the library: the same wait,
 *             woken by MULTI, SET NX, RPUSH, EXEC. */
typedef enum { RAW_BLPOP, RAW_BLMOVE, RAW_SCRIPT, RAW_OURS } raw_kind;

static const char raw_set_script[] = "if redis.call('SET', KEYS[1], ARGV[1], 'NX') then "
                                     "redis.call('RPUSH', KEYS[2], ARGV[1]) return 1 end return 0";

static void raw_block(redisContext *ctx, raw_kind kind, int round)
{
    redisReply *r = NULL;
    if (kind == RAW_BLPOP) {
        r = redisCommand(ctx, "BLPOP psbench:wake 10");
    } else {
        redisAppendCommand(ctx, "BLMOVE psbench:f%d#w psbench:f%d#w RIGHT LEFT 10", round, round);
        redisAppendCommand(ctx, "EXISTS psbench:f%d", round);
        redisReply *e = NULL;
        if (redisGetReply(ctx, (void **)&r) != REDIS_OK || redisGetReply(ctx, (void **)&e) != REDIS_OK)
            r = NULL;
        if (e)
            freeReplyObject(e);
    }
    if (!r || r->type == REDIS_REPLY_NIL || r->type == REDIS_REPLY_ERROR) {
        fprintf(stderr, "bench_future: the raw waiter was not woken\n");
        exit(1);
    }
    freeReplyObject(r);
}

static void raw_push(redisContext *ctx, raw_kind kind, int round)
{
    char value[64] = {0};
    redisReply *x;
    if (kind == RAW_BLPOP)
        x = redisCommand(ctx, "RPUSH psbench:wake %b", value, sizeof value);
    else if (kind == RAW_BLMOVE)
        x = redisCommand(ctx, "RPUSH psbench:f%d#w %b", round, value, sizeof value);
    else if (kind == RAW_SCRIPT)
        x = redisCommand(ctx, "EVAL %s 2 psbench:f%d psbench:f%d#w %b", raw_set_script, round, round, value,
                         sizeof value);
    else {
        redisAppendCommand(ctx, "MULTI");
        redisAppendCommand(ctx, "SET psbench:f%d %b NX", round, value, sizeof value);
        redisAppendCommand(ctx, "RPUSH psbench:f%d#w %b", round, value, sizeof value);
        redisAppendCommand(ctx, "EXEC");
        for (int i = 0; i < 3; i++)
            if (redisGetReply(ctx, (void **)&x) == REDIS_OK)
                freeReplyObject(x);
        x = NULL;
        if (redisGetReply(ctx, (void **)&x) != REDIS_OK)
            x = NULL;
    }
    if (x)
        freeReplyObject(x);
}

static void raw_clean(redisContext *ctx, raw_kind kind, int round)
{
    if (kind != RAW_BLPOP)
        freeReplyObject(redisCommand(ctx, "DEL psbench:f%d psbench:f%d#w", round, round));
}

typedef struct raw_waiter {
    redisContext *ctx;
    raw_kind kind;
    pthread_mutex_t lock;
    pthread_cond_t cv;
    int round, served; /* the round to wait for, the last one served */
    bool quit;
    double woke_us;
} raw_waiter;

static void *raw_wait(void *arg)
{
    raw_waiter *w = arg;
    for (;;) {
        pthread_mutex_lock(&w->lock);
        while (w->round == w->served && !w->quit)
            pthread_cond_wait(&w->cv, &w->lock);
        bool quit = w->quit;
        int round = w->round;
        pthread_mutex_unlock(&w->lock);
        if (quit)
            return NULL;
        raw_block(w->ctx, w->kind, round);
        double t = now_us();
        pthread_mutex_lock(&w->lock);
        w->woke_us = t;
        w->served = round;
        pthread_cond_broadcast(&w->cv);
        pthread_mutex_unlock(&w->lock);
    }
}

static void print_raw(const char *label, double *lat, int rounds, const char *what)
{
    double med = quantile(lat, rounds, 0.5), p90 = quantile(lat, rounds, 0.9);
    printf("%-9s %5s %10.1f %10.1f   (%s)\n", label, "64 B", med, p90, what);
}

/* A waiter thread of this process, woken by this thread. */
static void raw_thread_floor(int port, raw_kind kind, int rounds, double *lat)
{
    redisContext *prod = redisConnect("127.0.0.1", port);
    raw_waiter w = {redisConnect("127.0.0.1", port), kind, PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER,
                    0, 0, false, 0};
    if (!prod || prod->err || !w.ctx || w.ctx->err)
        die("connecting for the raw reference");
    pthread_t t;
    pthread_create(&t, NULL, raw_wait, &w);
    for (int r = 0; r < rounds; r++) {
        pthread_mutex_lock(&w.lock);
        w.round++;
        pthread_cond_broadcast(&w.cv);
        pthread_mutex_unlock(&w.lock);
        usleep(1000);
        double t0 = now_us();
        raw_push(prod, kind, w.round);
        pthread_mutex_lock(&w.lock);
        while (w.served != w.round)
            pthread_cond_wait(&w.cv, &w.lock);
        lat[r] = w.woke_us - t0;
        pthread_mutex_unlock(&w.lock);
        raw_clean(prod, kind, w.round);
    }
    pthread_mutex_lock(&w.lock);
    w.quit = true;
    pthread_cond_broadcast(&w.cv);
    pthread_mutex_unlock(&w.lock);
    pthread_join(t, NULL);
    redisFree(prod);
    redisFree(w.ctx);
}

/* A waiter in another process (fork), told each round through a pipe; it
 * sends back the CLOCK_MONOTONIC time it woke at (one clock for both). */
static void raw_process_floor(int port, int rounds, double *lat)
{
    int to_child[2], from_child[2];
    if (pipe(to_child) != 0 || pipe(from_child) != 0)
        die("pipe");
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0)
        die("fork");
    if (pid == 0) {
        redisContext *ctx = redisConnect("127.0.0.1", port);
        int round;
        while (ctx && !ctx->err && read(to_child[0], &round, sizeof round) == sizeof round && round > 0) {
            raw_block(ctx, RAW_BLPOP, round);
            double t = now_us();
            if (write(from_child[1], &t, sizeof t) != sizeof t)
                break;
        }
        _exit(0);
    }
    redisContext *prod = redisConnect("127.0.0.1", port);
    if (!prod || prod->err)
        die("connecting for the raw reference");
    for (int r = 1; r <= rounds; r++) {
        if (write(to_child[1], &r, sizeof r) != sizeof r)
            die("pipe write");
        usleep(1000);
        double t0 = now_us(), woke;
        raw_push(prod, RAW_BLPOP, r);
        if (read(from_child[0], &woke, sizeof woke) != sizeof woke)
            die("pipe read");
        lat[r - 1] = woke - t0;
    }
    int stop = 0;
    if (write(to_child[1], &stop, sizeof stop) != sizeof stop)
        die("pipe write");
    waitpid(pid, NULL, 0);
    close(to_child[0]);
    close(to_child[1]);
    close(from_child[0]);
    close(from_child[1]);
    redisFree(prod);
}

/* One GET of a 64-byte value: back to back (both sides busy), and after
 * 1 ms of idleness, as a waiter is woken after blocking. */
static void raw_get_rtt(int port, int rounds, double *warm, double *cold)
{
    redisContext *ctx = redisConnect("127.0.0.1", port);
    if (!ctx || ctx->err)
        die("connecting for the raw reference");
    char value[64] = {0};
    freeReplyObject(redisCommand(ctx, "SET psbench:small %b", value, sizeof value));
    for (int pass = 0; pass < 2; pass++)
        for (int r = 0; r < rounds; r++) {
            if (pass == 1)
                usleep(1000);
            double t0 = now_us();
            redisReply *x = redisCommand(ctx, "GET psbench:small");
            (pass ? cold : warm)[r] = now_us() - t0;
            if (x)
                freeReplyObject(x);
        }
    freeReplyObject(redisCommand(ctx, "DEL psbench:small"));
    redisFree(ctx);
}

static void raw_redis_floor(const char *url, int rounds)
{
    int port = 6379;
    const char *colon = strrchr(url, ':');
    if (colon)
        port = atoi(colon + 1);
    double *lat = malloc((size_t)rounds * sizeof *lat), *cold = malloc((size_t)rounds * sizeof *cold);
    if (!lat || !cold)
        die("out of memory");
    raw_get_rtt(port, rounds, lat, cold);
    print_raw("raw-get", lat, rounds, "hiredis GET, back to back: one round trip");
    print_raw("raw-get1ms", cold, rounds, "hiredis GET after 1 ms idle: one round trip from idle");
    raw_thread_floor(port, RAW_BLPOP, rounds, lat);
    print_raw("raw-blpop", lat, rounds, "hiredis BLPOP in a thread woken by RPUSH: the floor of a server wait");
    raw_process_floor(port, rounds, lat);
    print_raw("raw-proc", lat, rounds, "the same, the BLPOP in another process");
    raw_thread_floor(port, RAW_BLMOVE, rounds, lat);
    print_raw("raw-blmove", lat, rounds, "our wait, BLMOVE onto itself + EXISTS, woken by RPUSH");
    raw_thread_floor(port, RAW_SCRIPT, rounds, lat);
    print_raw("raw-script", lat, rounds, "the same wait woken by a Lua script: SET NX, RPUSH");
    raw_thread_floor(port, RAW_OURS, rounds, lat);
    print_raw("raw-ours", lat, rounds, "our commands without the library: the wait woken by MULTI SET NX RPUSH EXEC");
    free(lat);
    free(cold);
}

int main(int argc, char **argv)
{
    bool quick = false, redis_only = false;
    for (int i = 1; i < argc; i++) {
        quick |= strcmp(argv[i], "--quick") == 0;
        redis_only |= strcmp(argv[i], "--redis") == 0;
    }
    int rounds = quick ? 40 : 400;
    char shm[64], dir[] = "/tmp/ps-bench-future-XXXXXX", file[128];
    snprintf(shm, sizeof shm, "shm://bench-future-%ld", (long)getpid());
    if (!mkdtemp(dir))
        return 1;
    snprintf(file, sizeof file, "file://%s", dir);
    printf("# wake-up latency of a future (set -> consumer's wait returns), medians in us, %d rounds\n",
           rounds);
    printf("%-6s %8s %10s %10s %10s %10s %9s %9s\n", "conn", "value", "wake", "wake p90", "exists",
           "get", "wake/ex", "wake/get");
    if (!redis_only) {
        bench("local", "local://", rounds);
        bench("shm", shm, rounds);
        bench("file", file, rounds);
    }
    const char *redis = getenv("PS_BENCH_REDIS_URL");
    if (redis && *redis) {
        bench("redis", redis, rounds);
        raw_redis_floor(redis, rounds);
    }
    rmdir(dir);
    return 0;
}
