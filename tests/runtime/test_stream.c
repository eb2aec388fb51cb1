/*
 * test_stream.c — streams of proxies over Redis Streams (docs/streams.md):
 * several producers and consumers in a group with acknowledgement, a
 * consumer killed with SIGKILL whose items another one takes over, the end
 * of a topic, evict-on-ack leaving the store empty, filters on both sides,
 * batching, broadcast, per-topic stores and bad input.
 */
#include <criterion/criterion.h>

#include <hiredis/hiredis.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <proxystore/proxystore.h>
#include <proxystore/stream.h>

#include "redis_server.h"
#include "test_urls.h"

static const char *broker; /* redis:// unless a test switches to queue:// */
static ps_store *store;
static char *store_url;
static char topic[64];

static void setup(void)
{
    broker = ps_test_redis_url();
    cr_assert_not_null(broker, "no redis server");
    store_url = ps_test_url_for("file"); /* items readable from forked consumers */
    static int n;
    char name[64];
    snprintf(name, sizeof name, "items-%d", n);
    snprintf(topic, sizeof topic, "topic-%ld-%d", (long)getpid(), n++);
    store = ps_store_open(name, store_url, NULL);
    cr_assert_not_null(store, "%s", ps_last_error_message());
}

static void teardown(void)
{
    ps_store_close(store);
    free(store_url);
}

TestSuite(stream, .init = setup, .fini = teardown, .timeout = 120);

static ps_stream_producer *producer(const ps_stream_options *o)
{
    ps_stream_producer *p = ps_stream_producer_open(broker, store, o);
    cr_assert_not_null(p, "%s", ps_last_error_message());
    return p;
}

static void send_range(ps_stream_producer *p, int from, int to)
{
    for (int i = from; i < to; i++) {
        char meta[32];
        snprintf(meta, sizeof meta, "item=%d", i);
        int32_t v[4] = {i, i + 1, i + 2, i + 3};
        cr_assert_eq(ps_stream_send(p, topic, &ps_type_int32, v, 4, meta), PS_OK, "%s", ps_last_error_message());
    }
}

/* Take items until the end, acknowledging each; seen[i] counts item i. */
typedef struct drain_arg {
    ps_stream_options opts;
    int seen[1000];
    int total;
    char keys[1000][PS_KEY_MAX];
} drain_arg;

static void *drain(void *arg)
{
    drain_arg *d = arg;
    ps_stream_consumer *c = ps_stream_consumer_open(broker, topic, &ps_type_int32, &d->opts);
    if (!c)
        return "open failed";
    for (;;) {
        ps_proxy_t *p;
        char *meta;
        ps_status st = ps_stream_next(c, 20000, &p, &meta);
        if (st != PS_OK) {
            ps_stream_consumer_close(c);
            return "next failed";
        }
        if (!p)
            break;
        const int32_t *v = PS_RESOLVE(int32_t, p);
        int i = -1;
        sscanf(meta, "item=%d", &i);
        if (!v || i < 0 || i >= 1000 || v[0] != i || v[3] != i + 3) {
            ps_proxy_free(p);
            free(meta);
            ps_stream_consumer_close(c);
            return "bad item";
        }
        d->seen[i]++;
        snprintf(d->keys[d->total++ % 1000], PS_KEY_MAX, "%s", ps_proxy_key(p));
        free(meta);
        if (ps_stream_ack(c, p) != PS_OK) {
            ps_proxy_free(p);
            ps_stream_consumer_close(c);
            return "ack failed";
        }
        ps_proxy_free(p);
    }
    ps_stream_consumer_close(c);
    return NULL;
}

typedef struct send_arg {
    ps_stream_producer *p;
    int from, to;
} send_arg;

static void *send_thread(void *arg)
{
    send_arg *s = arg;
    send_range(s->p, s->from, s->to);
    return NULL;
}

/* Two producer threads send items [0, total) (the first in batches of
 * batch), three consumers of one group take them: each exactly once, and
 * (with share) more than one consumer got some. */
static void group_round(int total, size_t batch, bool share)
{
    ps_stream_producer *p1 = producer(&(ps_stream_options){.batch = batch}), *p2 = producer(NULL);
    enum { C = 3 };
    static drain_arg d[C];
    static char names[C][16];
    pthread_t ct[C], pt[2];
    for (int i = 0; i < C; i++) {
        memset(&d[i], 0, sizeof d[i]);
        snprintf(names[i], sizeof names[i], "w%d", i);
        d[i].opts = (ps_stream_options){.group = "workers", .consumer = names[i]};
        pthread_create(&ct[i], NULL, drain, &d[i]);
    }
    send_arg s1 = {p1, 0, total / 2}, s2 = {p2, total / 2, total};
    pthread_create(&pt[0], NULL, send_thread, &s1);
    pthread_create(&pt[1], NULL, send_thread, &s2);
    pthread_join(pt[0], NULL);
    pthread_join(pt[1], NULL);
    cr_assert_eq(ps_stream_flush(p1, topic), PS_OK);
    cr_assert_eq(ps_stream_end(p2, topic), PS_OK);
    int busy = 0;
    for (int i = 0; i < C; i++) {
        void *err;
        pthread_join(ct[i], &err);
        cr_assert_null(err, "consumer %d: %s (%s)", i, (char *)err, ps_last_error_message());
        busy += d[i].total > 0;
    }
    for (int k = 0; k < total; k++) {
        int n = d[0].seen[k] + d[1].seen[k] + d[2].seen[k];
        cr_assert_eq(n, 1, "item %d delivered %d times", k, n);
    }
    if (share)
        cr_assert_geq(busy, 2, "the group shared the work");
    ps_stream_producer_close(p1);
    ps_stream_producer_close(p2);
}

Test(stream, group_shares_items_once)
{
    group_round(120, 7, true);
}

Test(stream, broadcast_and_batches)
{
    ps_stream_producer *p = producer(&(ps_stream_options){.batch = 10});
    send_range(p, 0, 95);
    cr_assert_eq(ps_stream_end(p, topic), PS_OK);
    /* 95 items in 10 broker messages, then the end message. */
    int port = atoi(strrchr(broker, ':') + 1);
    redisContext *r = redisConnect("127.0.0.1", port);
    redisReply *len = redisCommand(r, "XLEN %s", topic);
    cr_assert_eq(len->integer, 11);
    freeReplyObject(len);
    redisFree(r);
    static drain_arg a, b;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    cr_assert_null(drain(&a));
    cr_assert_null(drain(&b));
    for (int k = 0; k < 95; k++)
        cr_assert(a.seen[k] == 1 && b.seen[k] == 1, "item %d: %d and %d", k, a.seen[k], b.seen[k]);
    ps_stream_producer_close(p);
}

Test(stream, evict_on_ack_empties_the_store)
{
    ps_stream_producer *p = producer(NULL);
    send_range(p, 0, 20);
    cr_assert_eq(ps_stream_end(p, topic), PS_OK);
    static drain_arg d;
    memset(&d, 0, sizeof d);
    d.opts = (ps_stream_options){.group = "g", .evict_on_ack = true};
    cr_assert_null(drain(&d));
    cr_assert_eq(d.total, 20);
    for (int i = 0; i < 20; i++) {
        bool there = true;
        cr_assert_eq(ps_store_exists(store, d.keys[i], &there), PS_OK);
        cr_assert_not(there, "item %d is still in the store", i);
    }
    ps_stream_producer_close(p);
}

static bool even_only(const char *meta, void *arg)
{
    (void)arg;
    int i = -1;
    return sscanf(meta, "item=%d", &i) == 1 && i % 2 == 0;
}

static bool below_10(const char *meta, void *arg)
{
    int limit = *(int *)arg, i = -1;
    return sscanf(meta, "item=%d", &i) == 1 && i < limit;
}

Test(stream, filters_on_both_sides)
{
    int limit = 10;
    ps_stream_producer *p = producer(&(ps_stream_options){.filter = below_10, .filter_arg = &limit});
    send_range(p, 0, 30);
    cr_assert_eq(ps_stream_end(p, topic), PS_OK);
    static drain_arg d;
    memset(&d, 0, sizeof d);
    d.opts = (ps_stream_options){.group = "g", .filter = even_only};
    cr_assert_null(drain(&d));
    for (int k = 0; k < 30; k++)
        cr_assert_eq(d.seen[k], k < 10 && k % 2 == 0, "item %d seen %d times", k, d.seen[k]);
    ps_stream_producer_close(p);
}

Test(stream, killed_consumer_items_are_redelivered)
{
    ps_stream_producer *p = producer(NULL);
    send_range(p, 0, 10);
    cr_assert_eq(ps_stream_end(p, topic), PS_OK);
    int ready[2];
    cr_assert_eq(pipe(ready), 0);
    pid_t child = fork();
    cr_assert_geq(child, 0);
    if (child == 0) {
        /* Take three items, acknowledge none, then hang until killed. */
        ps_stream_options o = {.group = "g", .consumer = "doomed"};
        ps_stream_consumer *c = ps_stream_consumer_open(broker, topic, &ps_type_int32, &o);
        for (int i = 0; c && i < 3; i++) {
            ps_proxy_t *x;
            if (ps_stream_next(c, 5000, &x, NULL) != PS_OK || !x)
                _exit(1);
        }
        if (write(ready[1], "t", 1) != 1)
            _exit(1);
        pause();
        _exit(0);
    }
    char buf;
    cr_assert_eq(read(ready[0], &buf, 1), 1, "the doomed consumer took its items");
    kill(child, SIGKILL);
    int status;
    waitpid(child, &status, 0);
    static drain_arg d;
    memset(&d, 0, sizeof d);
    d.opts = (ps_stream_options){.group = "g", .consumer = "survivor", .claim_idle_ms = 300};
    cr_assert_null(drain(&d));
    for (int k = 0; k < 10; k++)
        cr_assert_eq(d.seen[k], 1, "item %d seen %d times", k, d.seen[k]);
    ps_stream_producer_close(p);
}

Test(stream, topic_store_and_bad_input)
{
    ps_store *other = ps_store_open("other-items", "local://", NULL);
    ps_stream_producer *p = producer(NULL);
    cr_assert_eq(ps_stream_topic_store(p, topic, other), PS_OK);
    int32_t v = 42;
    cr_assert_eq(ps_stream_send(p, topic, &ps_type_int32, &v, 1, NULL), PS_OK);
    ps_stream_consumer *c = ps_stream_consumer_open(broker, topic, &ps_type_int32, NULL);
    ps_proxy_t *x;
    cr_assert_eq(ps_stream_next(c, 5000, &x, NULL), PS_OK);
    cr_assert_not_null(x);
    cr_assert_str_eq(ps_store_name(ps_proxy_store(x)), "other-items");
    cr_assert_eq(*PS_RESOLVE(int32_t, x), 42);
    ps_proxy_free(x);
    /* Nothing more: a timeout, and the consumer still works after it. */
    cr_assert_eq(ps_stream_next(c, 100, &x, NULL), PS_ERR_TIMEOUT);
    cr_assert_eq(ps_stream_ack(c, (ps_proxy_t *)&v), PS_ERR_INVALID_ARGUMENT);
    ps_stream_consumer_close(c);
    cr_assert_eq(ps_stream_send(p, "", &ps_type_int32, &v, 1, NULL), PS_ERR_INVALID_ARGUMENT);
    cr_assert_eq(ps_stream_send(p, "a/b", &ps_type_int32, &v, 1, NULL), PS_ERR_INVALID_ARGUMENT);
    char big[2000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    cr_assert_eq(ps_stream_send(p, topic, &ps_type_int32, &v, 1, big), PS_ERR_INVALID_ARGUMENT);
    cr_assert_null(ps_stream_producer_open("amqp://x", store, NULL));
    cr_assert_eq(ps_last_error_code(), PS_ERR_BAD_URL);
    cr_assert_null(ps_stream_consumer_open("redis://127.0.0.1:1", topic, NULL, NULL));
    cr_assert_eq(ps_last_error_code(), PS_ERR_CONNECTION);
    ps_stream_producer_close(p);
    ps_store_close(other);
}

/* batch = n: the n items of a flush go into their store with one batch put
 * (one call, counted by the store's metrics), from copies, so the caller's
 * buffer may change between sends. */
Test(stream, batch_puts_items_with_one_call)
{
    char *url = ps_test_url_for("redis");
    ps_store *items = ps_store_open("batched-items", url, NULL);
    cr_assert_not_null(items, "%s", ps_last_error_message());
    ps_stream_producer *p = ps_stream_producer_open(broker, items, &(ps_stream_options){.batch = 7});
    cr_assert_not_null(p, "%s", ps_last_error_message());
    send_range(p, 0, 21);
    ps_metrics m;
    cr_assert_eq(ps_store_metrics(items, &m), PS_OK);
    cr_assert_eq(m.op[PS_OP_PUT].count, 21);
    cr_assert_eq(m.op[PS_OP_PUT].calls, 3, "one batch put per flush of 7, not %llu puts",
                 (unsigned long long)m.op[PS_OP_PUT].calls);
    send_range(p, 21, 24);
    cr_assert_eq(ps_store_metrics(items, &m), PS_OK);
    cr_assert_eq(m.op[PS_OP_PUT].calls, 3, "queued items are not put before their flush");
    cr_assert_eq(ps_stream_end(p, topic), PS_OK);
    cr_assert_eq(ps_store_metrics(items, &m), PS_OK);
    cr_assert_eq(m.op[PS_OP_PUT].count, 24);
    cr_assert_eq(m.op[PS_OP_PUT].calls, 4);
    static drain_arg d;
    memset(&d, 0, sizeof d);
    cr_assert_null(drain(&d));
    for (int k = 0; k < 24; k++)
        cr_assert_eq(d.seen[k], 1, "item %d seen %d times", k, d.seen[k]);
    ps_stream_producer_close(p);
    ps_store_close(items);
    free(url);
}

static long long xlen(const char *t)
{
    int port = atoi(strrchr(broker, ':') + 1);
    redisContext *r = redisConnect("127.0.0.1", port);
    redisReply *len = redisCommand(r, "XLEN %s", t);
    long long n = len && len->type == REDIS_REPLY_INTEGER ? len->integer : -1;
    freeReplyObject(len);
    redisFree(r);
    return n;
}

static double seconds_since(const struct timespec *t0)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

/* A full topic: the send waits for the group, gives up with PS_ERR_TIMEOUT
 * without sending its item (the earlier ones stay), and goes through once
 * the group acknowledged something; nothing is lost. */
Test(stream, redis_full_topic_times_out_and_loses_nothing)
{
    ps_stream_options po = {.max_len = 3, .batch = 2, .send_timeout_ms = 300};
    ps_stream_producer *p = producer(&po);
    ps_stream_options co = {.group = "g", .evict_on_ack = true};
    ps_stream_consumer *c = ps_stream_consumer_open(broker, topic, &ps_type_int32, &co);
    cr_assert_not_null(c, "%s", ps_last_error_message());
    send_range(p, 0, 6); /* three messages of two items: full */
    cr_assert_eq(xlen(topic), 3);
    int32_t v[4] = {6, 7, 8, 9};
    cr_assert_eq(ps_stream_send(p, topic, &ps_type_int32, v, 4, "item=6"), PS_OK, "queued, not flushed");
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    v[0] = 7, v[1] = 8, v[2] = 9, v[3] = 10;
    cr_assert_eq(ps_stream_send(p, topic, &ps_type_int32, v, 4, "item=7"), PS_ERR_TIMEOUT);
    double waited = seconds_since(&t0);
    cr_assert(waited >= 0.29 && waited < 5, "waited %.3f s for room (send_timeout_ms 300)", waited);
    cr_assert(strstr(ps_last_error_message(), "max_len 3") && strstr(ps_last_error_message(), "not sent"), "%s",
              ps_last_error_message());
    cr_assert_eq(xlen(topic), 3, "nothing was trimmed");
    cr_assert_eq(ps_stream_flush(p, topic), PS_ERR_TIMEOUT, "item 6 is still queued");
    /* The group takes and acknowledges one message: room for one more. */
    for (int i = 0; i < 2; i++) {
        ps_proxy_t *x;
        cr_assert_eq(ps_stream_next(c, 5000, &x, NULL), PS_OK);
        cr_assert_not_null(x);
        cr_assert_eq(ps_stream_ack(c, x), PS_OK);
        ps_proxy_free(x);
    }
    cr_assert_eq(ps_stream_send(p, topic, &ps_type_int32, v, 4, "item=7"), PS_OK, "%s", ps_last_error_message());
    cr_assert_eq(xlen(topic), 3, "the acknowledged message was trimmed");
    ps_stream_consumer_close(c);
    /* The rest, after the two taken above: items 2 to 7, once each. */
    ps_stream_producer *ender = producer(NULL);
    cr_assert_eq(ps_stream_end(ender, topic), PS_OK);
    static drain_arg d;
    memset(&d, 0, sizeof d);
    d.opts = co;
    cr_assert_null(drain(&d));
    for (int k = 2; k < 8; k++)
        cr_assert_eq(d.seen[k], 1, "item %d seen %d times", k, d.seen[k]);
    cr_assert_eq(d.total, 6);
    ps_stream_producer_close(ender);
    ps_stream_producer_close(p);
}

/* Take one item as consumer name of group "g" and acknowledge it (ack) or
 * leave it pending; the item's number. */
static int take_one(const char *name, long claim_idle_ms, bool ack)
{
    ps_stream_options o = {.group = "g", .consumer = name, .claim_idle_ms = claim_idle_ms};
    ps_stream_consumer *c = ps_stream_consumer_open(broker, topic, &ps_type_int32, &o);
    cr_assert_not_null(c, "%s", ps_last_error_message());
    ps_proxy_t *x;
    cr_assert_eq(ps_stream_next(c, 5000, &x, NULL), PS_OK, "%s", ps_last_error_message());
    cr_assert_not_null(x);
    int item = *PS_RESOLVE(int32_t, x);
    if (ack)
        cr_assert_eq(ps_stream_ack(c, x), PS_OK);
    ps_proxy_free(x);
    ps_stream_consumer_close(c);
    return item;
}

/* A message left pending by a consumer that went away holds the topic full
 * (it is not trimmed though newer ones were acknowledged) until another
 * consumer takes it over and acknowledges it. */
Test(stream, redis_full_topic_keeps_what_a_dead_consumer_held)
{
    ps_stream_producer *p = producer(&(ps_stream_options){.max_len = 3, .send_timeout_ms = 300});
    ps_stream_consumer *join = ps_stream_consumer_open(broker, topic, &ps_type_int32, &(ps_stream_options){.group = "g"});
    ps_stream_consumer_close(join);
    send_range(p, 0, 3);
    cr_assert_eq(take_one("gone", 30000, false), 0);
    cr_assert_eq(take_one("fast", 30000, true), 1);
    cr_assert_eq(take_one("fast", 30000, true), 2);
    int32_t v[4] = {3, 4, 5, 6};
    cr_assert_eq(ps_stream_send(p, topic, &ps_type_int32, v, 4, "item=3"), PS_ERR_TIMEOUT,
                 "item 0 is pending: nothing may be trimmed");
    cr_assert_eq(xlen(topic), 3);
    usleep(400 * 1000);
    cr_assert_eq(take_one("survivor", 300, true), 0, "the pending item is taken over");
    cr_assert_eq(ps_stream_send(p, topic, &ps_type_int32, v, 4, "item=3"), PS_OK, "%s", ps_last_error_message());
    cr_assert_eq(take_one("fast", 30000, true), 3);
    ps_stream_producer_close(p);
}

/* Broadcast (no group): nobody acknowledges, so the producer never waits;
 * the topic keeps about its newest max_len messages. */
Test(stream, redis_broadcast_topic_is_trimmed_not_held)
{
    ps_stream_producer *p = producer(&(ps_stream_options){.max_len = 5, .send_timeout_ms = -1});
    send_range(p, 0, 200);
    /* The server forgets its scripts: the producer loads its own again. */
    int port = atoi(strrchr(broker, ':') + 1);
    redisContext *r = redisConnect("127.0.0.1", port);
    freeReplyObject(redisCommand(r, "SCRIPT FLUSH"));
    redisFree(r);
    send_range(p, 200, 400);
    long long n = xlen(topic);
    cr_assert(n >= 5 && n < 400, "XLEN %lld: trimmed to about 5", n);
    ps_stream_producer_close(p);
}

/* ------------------------------------------- the in-process queue broker */

/* The Redis tests above, on queue://NAME: broker is what drain and
 * producer use. */
static void use_queue(void)
{
    static char name[64];
    static int n;
    snprintf(name, sizeof name, "queue://q%d", n++);
    broker = name;
}

Test(stream, queue_group_shares_items_once)
{
    use_queue();
    group_round(100, 3, false);
}

Test(stream, queue_broadcast_filters_evict)
{
    use_queue();
    /* Readers join before the items come: they see all of them. */
    static drain_arg a, b;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    a.opts = (ps_stream_options){.evict_on_ack = false};
    b.opts = (ps_stream_options){.filter = even_only};
    pthread_t ta, tb;
    pthread_create(&ta, NULL, drain, &a);
    pthread_create(&tb, NULL, drain, &b);
    usleep(100 * 1000);
    ps_stream_producer *p = producer(NULL);
    send_range(p, 0, 30);
    cr_assert_eq(ps_stream_end(p, topic), PS_OK);
    void *ea, *eb;
    pthread_join(ta, &ea);
    pthread_join(tb, &eb);
    cr_assert(!ea && !eb, "%s %s", (char *)ea, (char *)eb);
    for (int k = 0; k < 30; k++) {
        cr_assert_eq(a.seen[k], 1, "item %d", k);
        cr_assert_eq(b.seen[k], k % 2 == 0, "item %d", k);
    }
    /* A group consuming with evict_on_ack empties the store. */
    static drain_arg g;
    memset(&g, 0, sizeof g);
    g.opts = (ps_stream_options){.group = "cleaners", .evict_on_ack = true};
    char *t2 = strdup(topic);
    snprintf(topic, sizeof topic, "%s-b", t2);
    send_range(p, 0, 10);
    cr_assert_eq(ps_stream_end(p, topic), PS_OK);
    cr_assert_null(drain(&g));
    cr_assert_eq(g.total, 10);
    for (int i = 0; i < 10; i++) {
        bool there = true;
        cr_assert_eq(ps_store_exists(store, g.keys[i], &there), PS_OK);
        cr_assert_not(there);
    }
    free(t2);
    ps_stream_producer_close(p);
}

/* Back-pressure: the producer never gets more than max_len items ahead of
 * a slow consumer. */
static int sent, taken_count, worst_lead;
static int slow_seen[100];

static void *slow_drain(void *arg)
{
    (void)arg;
    ps_stream_consumer *c = ps_stream_consumer_open(broker, topic, &ps_type_int32, &(ps_stream_options){.group = "slow"});
    for (;;) {
        ps_proxy_t *x;
        if (ps_stream_next(c, 20000, &x, NULL) != PS_OK || !x)
            break;
        int lead = __atomic_load_n(&sent, __ATOMIC_SEQ_CST) - ++taken_count;
        if (lead > worst_lead)
            worst_lead = lead;
        const int32_t *v = PS_RESOLVE(int32_t, x);
        if (v && v[0] >= 0 && v[0] < 100)
            slow_seen[v[0]]++;
        usleep(3000);
        ps_stream_ack(c, x);
        ps_proxy_free(x);
    }
    ps_stream_consumer_close(c);
    return NULL;
}

/* A producer held max_len items ahead of a slow group consumer. */
static void back_pressure_round(size_t max_len)
{
    sent = taken_count = worst_lead = 0;
    memset(slow_seen, 0, sizeof slow_seen);
    ps_stream_producer *p = producer(&(ps_stream_options){.max_len = max_len});
    /* The group exists before the producer starts. */
    ps_stream_consumer *join = ps_stream_consumer_open(broker, topic, &ps_type_int32, &(ps_stream_options){.group = "slow"});
    pthread_t t;
    pthread_create(&t, NULL, slow_drain, NULL);
    for (int i = 0; i < 40; i++) {
        int32_t v[4] = {i, i + 1, i + 2, i + 3};
        cr_assert_eq(ps_stream_send(p, topic, &ps_type_int32, v, 4, "x"), PS_OK, "%s", ps_last_error_message());
        __atomic_add_fetch(&sent, 1, __ATOMIC_SEQ_CST);
    }
    cr_assert_eq(ps_stream_end(p, topic), PS_OK);
    pthread_join(t, NULL);
    ps_stream_consumer_close(join);
    cr_assert_eq(taken_count, 40);
    for (int k = 0; k < 40; k++)
        cr_assert_eq(slow_seen[k], 1, "item %d seen %d times", k, slow_seen[k]);
    cr_assert_leq(worst_lead, (int)max_len + 1, "the producer ran %d items ahead (max_len %zu)", worst_lead,
                  max_len);
    ps_stream_producer_close(p);
}

Test(stream, redis_back_pressure)
{
    back_pressure_round(4);
    cr_assert_leq(xlen(topic), 4 + 1, "at most max_len messages and the end");
}

/* max_len 1: each send waits until the group acknowledged the last one. */
Test(stream, redis_back_pressure_one_at_a_time)
{
    back_pressure_round(1);
}

Test(stream, queue_back_pressure)
{
    use_queue();
    back_pressure_round(4);
    cr_assert_eq(ps_stream_producer_open("queue://", store, NULL), NULL);
    cr_assert_eq(ps_last_error_code(), PS_ERR_BAD_URL);
}
