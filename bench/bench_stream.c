/*
 * bench_stream.c — items per second through a stream, by proxy against by
 * value, in the same run (the streaming result of "Object Proxy Patterns").
 *
 * By proxy: ps_stream_send puts each item in a store (shm://, or the same
 * Redis server as the broker) and sends its descriptor through the Redis
 * stream; the consumer takes the event and resolves the proxy (reading
 * every byte), then evicts the item.  By value: the item's bytes are the
 * stream entry (XADD of the payload, XREAD of it, hiredis), the way a
 * broker-only pipeline moves them.  A producer thread sends N items while a
 * consumer thread takes them; the rate is N over the time from the first
 * send to the last item read.  Each figure is the median of 3 runs.  The
 * row "10 kB/16" sends by proxy with batch = 16 (one batch put of the 16
 * items and one XADD per flush), against the same by-value figure.
 *
 *   bench_stream [--quick]      needs PS_BENCH_REDIS_URL (bench/run.sh)
 */
#include <hiredis/hiredis.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <proxystore/proxystore.h>
#include <proxystore/stream.h>

static const char *broker;
static int port;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
    fprintf(stderr, "bench_stream: %s: %s\n", what, ps_last_error_message());
    exit(1);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

typedef struct run {
    size_t size, n;
    size_t batch; /* by proxy: items per flush (0: one) */
    char topic[64];
    ps_store *store;
    unsigned char *item;
    volatile unsigned long sink;
} run;

static unsigned long touch(const unsigned char *p, size_t n)
{
    unsigned long s = 0;
    for (size_t i = 0; i < n; i += 4096)
        s += p[i];
    return s + p[n - 1];
}

/* ----------------------------------------------------------- by proxy */

static void *proxy_consumer(void *arg)
{
    run *r = arg;
    ps_stream_consumer *c = ps_stream_consumer_open(broker, r->topic, &ps_type_bytes, NULL);
    if (!c)
        die("consumer");
    for (size_t i = 0; i < r->n; i++) {
        ps_proxy_t *p;
        if (ps_stream_next(c, 60000, &p, NULL) != PS_OK || !p)
            die("next");
        const unsigned char *v = ps_resolve(p);
        if (!v)
            die("resolve");
        r->sink += touch(v, ps_proxy_size(p));
        ps_proxy_evict(p);
    }
    ps_stream_consumer_close(c);
    return NULL;
}

static double by_proxy(run *r)
{
    static int n;
    snprintf(r->topic, sizeof r->topic, "bench-%ld-%d", (long)getpid(), n++);
    ps_stream_producer *p = ps_stream_producer_open(broker, r->store, &(ps_stream_options){.batch = r->batch});
    if (!p)
        die("producer");
    pthread_t t;
    double t0 = now_s();
    pthread_create(&t, NULL, proxy_consumer, r);
    for (size_t i = 0; i < r->n; i++)
        if (ps_stream_send(p, r->topic, &ps_type_bytes, r->item, r->size, NULL) != PS_OK)
            die("send");
    if (ps_stream_flush(p, r->topic) != PS_OK)
        die("flush");
    pthread_join(t, NULL);
    double rate = (double)r->n / (now_s() - t0);
    ps_stream_producer_close(p);
    redisContext *x = redisConnect("127.0.0.1", port);
    freeReplyObject(redisCommand(x, "DEL %s", r->topic));
    redisFree(x);
    return rate;
}

/* ----------------------------------------------------------- by value */

static void *value_consumer(void *arg)
{
    run *r = arg;
    redisContext *x = redisConnect("127.0.0.1", port);
    struct timeval tv = {60, 0};
    redisSetTimeout(x, tv);
    char last[64] = "0-0";
    for (size_t got = 0; got < r->n;) {
        redisReply *rep = redisCommand(x, "XREAD COUNT 1 BLOCK 60000 STREAMS %s %s", r->topic, last);
        if (!rep || rep->type != REDIS_REPLY_ARRAY)
            die("XREAD");
        redisReply *entries = rep->element[0]->element[1];
        for (size_t i = 0; i < entries->elements; i++, got++) {
            redisReply *e = entries->element[i];
            snprintf(last, sizeof last, "%s", e->element[0]->str);
            redisReply *v = e->element[1]->element[1];
            r->sink += touch((const unsigned char *)v->str, v->len);
            freeReplyObject(redisCommand(x, "XDEL %s %s", r->topic, last));
        }
        freeReplyObject(rep);
    }
    redisFree(x);
    return NULL;
}

static double by_value(run *r)
{
    static int n;
    snprintf(r->topic, sizeof r->topic, "bench-value-%ld-%d", (long)getpid(), n++);
    redisContext *x = redisConnect("127.0.0.1", port);
    pthread_t t;
    double t0 = now_s();
    pthread_create(&t, NULL, value_consumer, r);
    for (size_t i = 0; i < r->n; i++) {
        redisReply *rep = redisCommand(x, "XADD %s * v %b", r->topic, r->item, r->size);
        if (!rep || rep->type == REDIS_REPLY_ERROR)
            die("XADD");
        freeReplyObject(rep);
    }
    pthread_join(t, NULL);
    double rate = (double)r->n / (now_s() - t0);
    freeReplyObject(redisCommand(x, "DEL %s", r->topic));
    redisFree(x);
    return rate;
}

static double median3(double (*f)(run *), run *r)
{
    double v[3];
    for (int i = 0; i < 3; i++)
        v[i] = f(r);
    qsort(v, 3, sizeof *v, cmp_double);
    return v[1];
}

int main(int argc, char **argv)
{
    bool quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
    broker = getenv("PS_BENCH_REDIS_URL");
    if (!broker || !strrchr(broker, ':')) {
        fprintf(stderr, "bench_stream: set PS_BENCH_REDIS_URL (bench/run.sh does)\n");
        return 1;
    }
    port = atoi(strrchr(broker, ':') + 1);
    char shm[64];
    snprintf(shm, sizeof shm, "shm://bench-stream-%ld", (long)getpid());
    ps_store *shm_store = ps_store_open("bench-stream-shm", shm, NULL);
    ps_store *redis_store = ps_store_open("bench-stream-redis", broker, NULL);
    if (!shm_store || !redis_store)
        die("store");
    static const size_t sizes[] = {10 * 1000, 1000 * 1000, 100 * 1000 * 1000};
    size_t counts[] = {quick ? 500 : 3000, quick ? 30 : 200, quick ? 2 : 4};
    printf("# items per second through a Redis stream (median of 3 runs; higher is better)\n");
    printf("%-8s %6s %14s %14s %14s %10s %10s\n", "item", "items", "proxy(shm)", "proxy(redis)", "by value",
           "shm/value", "redis/value");
    for (int s = 0; s < 3; s++) {
        run r = {.size = sizes[s], .n = counts[s]};
        r.item = malloc(r.size);
        if (!r.item)
            die("malloc");
        memset(r.item, 0x5a, r.size);
        r.store = shm_store;
        double ps = median3(by_proxy, &r);
        r.store = redis_store;
        double pr = median3(by_proxy, &r);
        double v = median3(by_value, &r);
        printf("%-8s %6zu %14.1f %14.1f %14.1f %9.2fx %9.2fx\n",
               s == 0 ? "10 kB" : s == 1 ? "1 MB" : "100 MB", r.n, ps, pr, v, ps / v, pr / v);
        if (s == 0) {
            /* Batching: 16 items per flush, one batch put and one XADD. */
            r.batch = 16;
            r.store = shm_store;
            double bs = median3(by_proxy, &r);
            r.store = redis_store;
            double br = median3(by_proxy, &r);
            r.batch = 0;
            printf("%-8s %6zu %14.1f %14.1f %14s %9.2fx %9.2fx\n", "10 kB/16", r.n, bs, br, "", bs / v, br / v);
        }
        free(r.item);
    }
    ps_store_close(shm_store);
    ps_store_close(redis_store);
    return 0;
}
