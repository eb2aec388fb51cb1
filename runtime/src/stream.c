/*
 * stream.c — streams of proxies over Redis Streams (proxystore/stream.h,
 * docs/streams.md).
 *
 * On the broker, topic T is the Redis stream "T".  One broker message
 * (stream entry) carries a batch of events: field "n" the count, then
 * "d<i>" the i-th item's descriptor and "m<i>" its metadata.  The end of a
 * topic is an entry with field "end" plus the key "T#end", which consumers
 * of a group check (the entry itself reaches only one of them).
 *
 * Groups are Redis consumer groups: XREADGROUP hands each entry to one
 * consumer and keeps it in the group's pending list until XACK; a consumer
 * acknowledges an entry when every item of it is acknowledged (or skipped by
 * its filter).  Entries pending longer than claim_idle_ms with a consumer
 * that stopped (died, or hangs) are taken over with XAUTOCLAIM, so delivery
 * is at least once: an item of a taken-over entry that its first consumer
 * did process comes again.  A group consumer's iteration ends when the end
 * key exists and the group has nothing pending, so nothing a dead consumer
 * held is left behind.  Waits block in the server, in slices of at most
 * STREAM_SLICE_MS so the end and stalled entries are noticed.
 *
 * A flush puts its items with one batch put, then writes the entry through
 * ADD_SCRIPT, which holds the producer back while the topic is full of
 * entries a group has not acknowledged (back-pressure) and trims the ones
 * every group has.
 */
#include "proxystore/stream.h"

#include <hiredis/hiredis.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "error.h"
#include "key.h"
#include "proxy.h"
#include "store.h"
#include "stream_queue.h"
#include "url.h"

#define STREAM_META_MAX 1024
#define STREAM_TOPIC_MAX 200
#define STREAM_SLICE_MS 200L
#define STREAM_DEFAULT_MAX_LEN 100000
#define STREAM_DEFAULT_CLAIM_MS 30000L
#define STREAM_BATCH_MAX 1024

/* ---------------------------------------------------------- the broker */

/* Redis (ctx) or the in-process queue named queue. */
typedef struct broker {
    redisContext *ctx;
    char *queue;
    char *where; /* host:port or queue://NAME, for messages */
} broker;

/* How long a producer waits for room in a full topic (back-pressure). */
#define STREAM_DEFAULT_SEND_TIMEOUT_MS 30000L

static ps_status broker_open(const char *text, broker *b)
{
    memset(b, 0, sizeof *b);
    ps_url url;
    ps_status st = ps_url_parse(text ? text : "", &url);
    if (st != PS_OK)
        return st;
    if (strcmp(url.scheme, "queue") == 0) {
        if (!url.host[0] || url.path[0] || url.port >= 0 || url.nparams || url.user || url.password)
            st = ps_error_set(PS_ERR_BAD_URL, "stream broker '%s': expected queue://NAME", text);
        else if (!(b->queue = ps_strdup(url.host)) || asprintf(&b->where, "queue://%s", url.host) < 0)
            st = PS_ERR_NO_MEMORY;
        ps_url_free(&url);
        if (st != PS_OK) {
            free(b->queue);
            b->queue = NULL;
        }
        return st;
    }
    if (strcmp(url.scheme, "redis") != 0) {
        st = ps_error_set(PS_ERR_BAD_URL, "stream broker '%s': brokers are redis://HOST:PORT or queue://NAME",
                          text);
        ps_url_free(&url);
        return st;
    }
    int port = url.port >= 0 ? url.port : 6379;
    const char *host = url.host[0] ? url.host : "127.0.0.1";
    struct timeval tv = {5, 0};
    b->ctx = redisConnectWithTimeout(host, port, tv);
    if (asprintf(&b->where, "redis://%s:%d", host, port) < 0)
        b->where = NULL;
    if (!b->ctx || b->ctx->err) {
        st = ps_error_set(PS_ERR_CONNECTION, "stream broker %s: %s", b->where ? b->where : text,
                          b->ctx ? b->ctx->errstr : "out of memory");
    } else if (url.password || (url.path[0] && strcmp(url.path, "/") != 0)) {
        redisReply *r = NULL;
        if (url.password)
            r = redisCommand(b->ctx, "AUTH %s", url.password);
        if (r && r->type == REDIS_REPLY_ERROR)
            st = ps_error_set(PS_ERR_SERVER, "stream broker %s: AUTH: %s", b->where, r->str);
        freeReplyObject(r);
        if (st == PS_OK && url.path[0] && strcmp(url.path, "/") != 0) {
            r = redisCommand(b->ctx, "SELECT %s", url.path + 1);
            if (!r || r->type == REDIS_REPLY_ERROR)
                st = ps_error_set(PS_ERR_SERVER, "stream broker %s: SELECT %s failed", b->where, url.path + 1);
            freeReplyObject(r);
        }
    }
    ps_url_free(&url);
    if (st != PS_OK) {
        if (b->ctx)
            redisFree(b->ctx);
        free(b->where);
        memset(b, 0, sizeof *b);
    }
    return st;
}

static void broker_close(broker *b)
{
    if (b->ctx)
        redisFree(b->ctx);
    free(b->queue);
    free(b->where);
}

/* Run a command; a reply (caller frees) or NULL with the error set.  A
 * server error reply is an error too. */
static redisReply *broker_call(broker *b, int argc, const char **argv, const size_t *lens)
{
    if (!b->ctx || b->ctx->err) {
        ps_error_set(PS_ERR_CONNECTION, "stream broker %s: the connection is broken", b->where);
        return NULL;
    }
    redisReply *r = redisCommandArgv(b->ctx, argc, argv, lens);
    if (!r) {
        ps_error_set(PS_ERR_CONNECTION, "stream broker %s: %s: %s", b->where, argv[0], b->ctx->errstr);
        return NULL;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        ps_error_set(PS_ERR_SERVER, "stream broker %s: %s: %s", b->where, argv[0], r->str);
        freeReplyObject(r);
        return NULL;
    }
    return r;
}

/* The socket waits this long for a reply to a command blocking block_ms. */
static void broker_timeout(broker *b, long block_ms)
{
    long ms = block_ms + 5000;
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    redisSetTimeout(b->ctx, tv);
}

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static ps_status check_topic(const char *topic)
{
    if (!topic || !*topic || strlen(topic) > STREAM_TOPIC_MAX)
        return ps_error_set(PS_ERR_INVALID_ARGUMENT, "a topic is 1 to %d bytes", STREAM_TOPIC_MAX);
    return ps_key_check(topic) == PS_OK ? PS_OK
                                        : ps_error_set(PS_ERR_INVALID_ARGUMENT, "topic '%.40s': %s", topic,
                                                       ps_last_error_message());
}

/* ------------------------------------------------------------ producer */

/* One sent item: until the flush puts it, its encoded bytes (owned) and
 * the store they go to; then its key and descriptor. */
typedef struct event {
    ps_encoded *item;
    ps_store *store;
    const ps_type *type;
    char key[PS_KEY_MAX];
    char *descriptor;
    char *metadata;
} event;

typedef struct topic_state {
    struct topic_state *next;
    char name[STREAM_TOPIC_MAX + 1];
    ps_store *store; /* NULL: the producer's */
    event *events;
    size_t n, cap;
} topic_state;

struct ps_stream_producer {
    pthread_mutex_t lock;
    broker b;
    ps_store *store;
    ps_stream_options opts;
    topic_state *topics;
    char add_sha[41]; /* ADD_SCRIPT loaded on the broker ("" not yet) */
};

ps_stream_producer *ps_stream_producer_open(const char *broker_url, ps_store *store, const ps_stream_options *opts)
{
    if (ps_store_usable(store) != PS_OK)
        return NULL;
    ps_stream_producer *p = ps_calloc(1, sizeof *p);
    if (!p)
        return NULL;
    if (broker_open(broker_url, &p->b) != PS_OK) {
        free(p);
        return NULL;
    }
    if (opts)
        p->opts = *opts;
    if (p->opts.batch == 0)
        p->opts.batch = 1;
    if (p->opts.batch > STREAM_BATCH_MAX)
        p->opts.batch = STREAM_BATCH_MAX;
    if (p->opts.max_len == 0)
        p->opts.max_len = STREAM_DEFAULT_MAX_LEN;
    if (p->opts.send_timeout_ms == 0)
        p->opts.send_timeout_ms = STREAM_DEFAULT_SEND_TIMEOUT_MS;
    else if (p->opts.send_timeout_ms < 0)
        p->opts.send_timeout_ms = 0; /* from here on: how long a flush waits, 0 not at all */
    p->store = store;
    pthread_mutex_init(&p->lock, NULL);
    return p;
}

static topic_state *topic_of(ps_stream_producer *p, const char *name)
{
    for (topic_state *t = p->topics; t; t = t->next)
        if (strcmp(t->name, name) == 0)
            return t;
    topic_state *t = ps_calloc(1, sizeof *t);
    if (!t)
        return NULL;
    snprintf(t->name, sizeof t->name, "%s", name);
    t->next = p->topics;
    p->topics = t;
    return t;
}

/* Forget an event; an item it put is evicted when evict (nobody else can
 * reach it). */
static void event_drop(event *e, bool evict)
{
    if (evict && e->key[0]) {
        ps_saved_error saved; /* the caller reports why the item was dropped */
        ps_error_save(&saved);
        ps_store_evict_key(e->store, e->key);
        ps_error_restore(&saved);
    }
    ps_encoded_free(e->item);
    free(e->descriptor);
    free(e->metadata);
    memset(e, 0, sizeof *e);
}

static void drop_events(topic_state *t, bool evict)
{
    for (size_t i = 0; i < t->n; i++)
        event_drop(&t->events[i], evict);
    t->n = 0;
}

/* Put the items of t's events that are not yet in their store: one batch
 * put per store (normally one for the whole flush).  An event whose item
 * is put gets its key and descriptor; on failure the others stay as they
 * were, for a retry. */
static ps_status put_items(topic_state *t)
{
    ps_encoded **items = ps_calloc(t->n, sizeof *items);
    char (*keys)[PS_KEY_MAX] = ps_calloc(t->n, sizeof *keys);
    size_t *which = ps_calloc(t->n, sizeof *which);
    ps_status st = items && keys && which ? PS_OK : PS_ERR_NO_MEMORY;
    for (size_t first = 0; st == PS_OK && first < t->n; first++) {
        if (!t->events[first].item)
            continue;
        ps_store *store = t->events[first].store;
        size_t n = 0;
        for (size_t i = first; i < t->n; i++)
            if (t->events[i].item && t->events[i].store == store) {
                which[n] = i;
                items[n++] = t->events[i].item;
            }
        if ((st = ps_store_put_encoded_batch(store, n, items, keys)) != PS_OK) {
            ps_error_wrap("putting %zu items of topic '%s'", n, t->name);
            break;
        }
        for (size_t k = 0; k < n; k++) {
            event *e = &t->events[which[k]];
            ps_proxy_t *proxy = ps_proxy_of_put(store, e->type, keys[k], ps_encoded_info(e->item));
            e->descriptor = proxy ? ps_proxy_serialize(proxy) : NULL;
            ps_proxy_free(proxy);
            if (!e->descriptor) { /* the item stays encoded: the next flush puts it again */
                ps_store_evict_key(store, keys[k]);
                st = ps_error_set(PS_ERR_NO_MEMORY, "out of memory describing a stream item");
                continue;
            }
            snprintf(e->key, sizeof e->key, "%s", keys[k]);
            ps_encoded_free(e->item);
            e->item = NULL;
        }
    }
    free(items);
    free(keys);
    free(which);
    return st;
}

/* The queued events of t onto the in-process queue (lock held). */
static ps_status flush_queue(ps_stream_producer *p, topic_state *t)
{
    sq_topic *qt;
    ps_status st = sq_topic_open(p->b.queue, t->name, &qt);
    char **descs = ps_calloc(t->n, sizeof *descs), **metas = ps_calloc(t->n, sizeof *metas);
    if (st == PS_OK && (!descs || !metas))
        st = PS_ERR_NO_MEMORY;
    for (size_t i = 0; st == PS_OK && i < t->n; i++) {
        descs[i] = t->events[i].descriptor;
        metas[i] = t->events[i].metadata;
    }
    if (st == PS_OK &&
        (st = sq_publish(qt, t->n, descs, metas, p->opts.max_len, p->opts.send_timeout_ms)) == PS_OK) {
        for (size_t i = 0; i < t->n; i++) /* the queue owns the strings now */
            t->events[i].descriptor = t->events[i].metadata = NULL;
        drop_events(t, false);
    }
    free(descs);
    free(metas);
    return st;
}

/*
 * XADD of one entry, with back-pressure, in one atomic step on the server.
 * A topic that has consumer groups and holds max_len entries first loses
 * the entries every group has acknowledged (those older than each group's
 * oldest pending entry, or than its first undelivered one).  If it is
 * still full the script adds nothing and returns the length: the producer
 * waits.  Trimming only when full keeps as much as max_len allows for
 * broadcast readers and for groups created later.  A topic with no group
 * keeps its newest max_len entries (XADD MAXLEN ~): broadcast readers are
 * not known to the server, so they cannot hold the producer back.
 * KEYS[1] the topic; ARGV[1] max_len; ARGV[2..] the entry's fields.
 * Returns the new entry's id, or the length of a full topic.
 */
static const char ADD_SCRIPT[] =
    "local topic, max = KEYS[1], tonumber(ARGV[1])\n"
    "local function older(a, b)\n"
    "  local am, as = string.match(a, '(%d+)-(%d+)')\n"
    "  local bm, bs = string.match(b, '(%d+)-(%d+)')\n"
    "  am, as, bm, bs = tonumber(am), tonumber(as), tonumber(bm), tonumber(bs)\n"
    "  return am < bm or (am == bm and as < bs)\n"
    "end\n"
    "local trim = false\n"
    "local len = redis.call('XLEN', topic)\n"
    "if len >= max then\n"
    "  local groups = redis.call('XINFO', 'GROUPS', topic)\n"
    "  if #groups == 0 then\n"
    "    trim = true\n"
    "  else\n"
    "    local keep\n"
    "    for _, g in ipairs(groups) do\n"
    "      local info = {}\n"
    "      for i = 1, #g, 2 do info[g[i]] = g[i + 1] end\n"
    "      local first\n"
    "      if info['pending'] > 0 then\n"
    "        first = redis.call('XPENDING', topic, info['name'])[2]\n"
    "      else\n"
    "        local after = redis.call('XRANGE', topic, '(' .. info['last-delivered-id'], '+', 'COUNT', 1)[1]\n"
    "        first = after and after[1]\n"
    "      end\n"
    "      if first and (not keep or older(first, keep)) then keep = first end\n"
    "    end\n"
    "    if keep then\n"
    "      redis.call('XTRIM', topic, 'MINID', keep)\n"
    "    else\n"
    "      redis.call('XTRIM', topic, 'MAXLEN', 0)\n"
    "    end\n"
    "    len = redis.call('XLEN', topic)\n"
    "    if len >= max then return len end\n"
    "  end\n"
    "end\n"
    "local args = {'XADD', topic}\n"
    "if trim then\n"
    "  args[3], args[4], args[5] = 'MAXLEN', '~', ARGV[1]\n"
    "end\n"
    "args[#args + 1] = '*'\n"
    "for i = 2, #ARGV do args[#args + 1] = ARGV[i] end\n"
    "return redis.call(unpack(args))\n";

/* The script is sent once per producer (SCRIPT LOAD), then named by its
 * SHA1: a flush does not carry its text. */
static ps_status load_add_script(ps_stream_producer *p)
{
    if (p->add_sha[0])
        return PS_OK;
    const char *argv[] = {"SCRIPT", "LOAD", ADD_SCRIPT};
    size_t lens[] = {6, 4, sizeof ADD_SCRIPT - 1};
    redisReply *r = broker_call(&p->b, 3, argv, lens);
    if (r && r->type == REDIS_REPLY_STRING && r->len < sizeof p->add_sha)
        memcpy(p->add_sha, r->str, r->len + 1);
    else if (r)
        ps_error_set(PS_ERR_SERVER, "stream broker %s: SCRIPT LOAD gave no SHA1", p->b.where);
    freeReplyObject(r);
    return p->add_sha[0] ? PS_OK : ps_last_error_code();
}

/* How long a producer held back by a full topic sleeps between looks:
 * 1 ms, doubling, up to this (the worst-case delay once there is room). */
#define STREAM_FULL_POLL_MAX_MS 50L

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* One XADD with every queued event of t (lock held), waiting while the
 * topic is full (see ADD_SCRIPT) up to the producer's send timeout. */
static ps_status flush_redis(ps_stream_producer *p, topic_state *t)
{
    size_t argc = 7 + 4 * t->n;
    const char **argv = ps_calloc(argc, sizeof *argv);
    size_t *lens = ps_calloc(argc, sizeof *lens);
    char (*names)[24] = ps_calloc(2 * t->n, sizeof *names);
    char maxlen[32], count[32];
    if (!argv || !lens || !names) {
        free(argv);
        free(lens);
        free(names);
        return PS_ERR_NO_MEMORY;
    }
    snprintf(maxlen, sizeof maxlen, "%zu", p->opts.max_len);
    snprintf(count, sizeof count, "%zu", t->n);
    size_t a = 0;
    const char *head[] = {"EVALSHA", p->add_sha, "1", t->name, maxlen, "n", count};
    for (size_t i = 0; i < 7; i++)
        argv[a++] = head[i];
    for (size_t i = 0; i < t->n; i++) {
        snprintf(names[2 * i], sizeof names[0], "d%zu", i);
        snprintf(names[2 * i + 1], sizeof names[0], "m%zu", i);
        argv[a++] = names[2 * i];
        argv[a++] = t->events[i].descriptor;
        argv[a++] = names[2 * i + 1];
        argv[a++] = t->events[i].metadata;
    }
    for (size_t i = 0; i < a; i++)
        lens[i] = strlen(argv[i]);
    long deadline = now_ms() + p->opts.send_timeout_ms, pause = 1;
    ps_status st = PS_OK;
    bool reloaded = false;
    for (;;) {
        redisReply *r = NULL;
        if (load_add_script(p) == PS_OK) {
            lens[1] = strlen(p->add_sha);
            r = broker_call(&p->b, (int)a, argv, lens);
        }
        if (!r && !reloaded && strstr(ps_last_error_message(), "NOSCRIPT")) {
            p->add_sha[0] = '\0'; /* the server lost its scripts (restart, SCRIPT FLUSH) */
            reloaded = true;
            continue;
        }
        if (!r) {
            st = ps_error_wrap("flushing %zu events of topic '%s' (kept for a retry)", t->n, t->name);
            break;
        }
        bool full = r->type == REDIS_REPLY_INTEGER;
        long long len = full ? r->integer : 0;
        freeReplyObject(r);
        if (!full)
            break;
        long left = deadline - now_ms();
        if (left <= 0) {
            st = ps_error_set(PS_ERR_TIMEOUT, "topic '%s' holds %lld messages (max_len %zu) its slowest consumer "
                              "group has not acknowledged, and no room came within %ld ms", t->name, len,
                              p->opts.max_len, p->opts.send_timeout_ms);
            break;
        }
        sleep_ms(pause < left ? pause : left);
        pause = pause * 2 < STREAM_FULL_POLL_MAX_MS ? pause * 2 : STREAM_FULL_POLL_MAX_MS;
    }
    free(argv);
    free(lens);
    free(names);
    if (st == PS_OK)
        drop_events(t, false);
    return st;
}

/* Put the items and write the events of t as one broker message (lock
 * held).  On failure every event stays queued for the next flush. */
static ps_status flush_locked(ps_stream_producer *p, topic_state *t)
{
    if (t->n == 0)
        return PS_OK;
    ps_status st = put_items(t);
    if (st != PS_OK)
        return st;
    return p->b.queue ? flush_queue(p, t) : flush_redis(p, t);
}

/*
 * An item is encoded at once; while its batch is not full its bytes are
 * copied (the caller may reuse its memory), and the send that fills the
 * batch puts every item of it with one batch put, straight from the
 * caller's memory for its own item, then writes the broker message.  If
 * that fails, this item is withdrawn (evicted if it was put), so an error
 * means it was not sent, and the earlier items stay queued.
 */
ps_status ps_stream_send(ps_stream_producer *p, const char *topic, const ps_type *type, const void *obj,
                         size_t count, const char *metadata)
{
    if (!p)
        return ps_error_set(PS_ERR_INVALID_ARGUMENT, "ps_stream_send: no producer given");
    ps_status st = check_topic(topic);
    if (st != PS_OK)
        return st;
    const char *meta = metadata ? metadata : "";
    if (strlen(meta) > STREAM_META_MAX)
        return ps_error_set(PS_ERR_INVALID_ARGUMENT, "item metadata is longer than %d bytes", STREAM_META_MAX);
    if (p->opts.filter && !p->opts.filter(meta, p->opts.filter_arg))
        return PS_OK; /* filtered out on the producer's side */
    pthread_mutex_lock(&p->lock);
    topic_state *t = topic_of(p, topic);
    st = t ? PS_OK : PS_ERR_NO_MEMORY;
    ps_store *store = t && t->store ? t->store : p->store;
    event e = {.store = store, .type = type};
    if (st == PS_OK && (st = ps_store_usable(store)) == PS_OK &&
        (st = ps_encoded_new(type, obj, count, &e.item)) == PS_OK && !(e.metadata = ps_strdup(meta)))
        st = PS_ERR_NO_MEMORY;
    if (st == PS_OK && t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 8;
        event *grown = realloc(t->events, cap * sizeof *grown);
        if (!grown)
            st = ps_error_set(PS_ERR_NO_MEMORY, "out of memory queueing an event");
        else
            t->events = grown, t->cap = cap;
    }
    if (st == PS_OK) {
        t->events[t->n++] = e;
        memset(&e, 0, sizeof e);
        if (t->n >= p->opts.batch)
            st = flush_locked(p, t);
        else
            st = ps_encoded_keep(t->events[t->n - 1].item);
        if (st != PS_OK) {
            event_drop(&t->events[--t->n], true);
            ps_error_wrap("topic '%s': this item was not sent (%zu earlier ones stay queued)", topic, t->n);
        }
    }
    event_drop(&e, false);
    pthread_mutex_unlock(&p->lock);
    return st;
}

/* Events already queued keep the store they were sent to. */
ps_status ps_stream_topic_store(ps_stream_producer *p, const char *topic, ps_store *store)
{
    ps_status st = p ? check_topic(topic) : ps_error_set(PS_ERR_INVALID_ARGUMENT, "no producer given");
    if (st != PS_OK || (st = ps_store_usable(store)) != PS_OK)
        return st;
    pthread_mutex_lock(&p->lock);
    topic_state *t = topic_of(p, topic);
    if (t)
        t->store = store;
    pthread_mutex_unlock(&p->lock);
    return t ? PS_OK : PS_ERR_NO_MEMORY;
}

ps_status ps_stream_flush(ps_stream_producer *p, const char *topic)
{
    ps_status st = p ? check_topic(topic) : ps_error_set(PS_ERR_INVALID_ARGUMENT, "no producer given");
    if (st != PS_OK)
        return st;
    pthread_mutex_lock(&p->lock);
    topic_state *t = topic_of(p, topic);
    st = t ? flush_locked(p, t) : PS_ERR_NO_MEMORY;
    pthread_mutex_unlock(&p->lock);
    return st;
}

static void end_key(char *out, size_t size, const char *topic)
{
    snprintf(out, size, "%s#end", topic);
}

ps_status ps_stream_end(ps_stream_producer *p, const char *topic)
{
    ps_status st = ps_stream_flush(p, topic);
    if (st != PS_OK)
        return st;
    if (p->b.queue) {
        sq_topic *qt;
        if ((st = sq_topic_open(p->b.queue, topic, &qt)) == PS_OK)
            sq_end(qt);
        return st;
    }
    char key[STREAM_TOPIC_MAX + 8];
    end_key(key, sizeof key, topic);
    pthread_mutex_lock(&p->lock);
    const char *set[] = {"SET", key, "1"};
    size_t set_lens[] = {3, strlen(key), 1};
    redisReply *r = broker_call(&p->b, 3, set, set_lens);
    const char *add[] = {"XADD", topic, "*", "end", "1"};
    size_t add_lens[] = {4, strlen(topic), 1, 3, 1};
    redisReply *r2 = r ? broker_call(&p->b, 5, add, add_lens) : NULL;
    st = r && r2 ? PS_OK : ps_last_error_code();
    freeReplyObject(r);
    freeReplyObject(r2);
    pthread_mutex_unlock(&p->lock);
    return st;
}

/* Events that cannot be written at close are dropped with their items
 * (nobody could reach them). */
ps_status ps_stream_producer_close(ps_stream_producer *p)
{
    if (!p)
        return PS_OK;
    ps_status first = PS_OK;
    pthread_mutex_lock(&p->lock);
    while (p->topics) {
        topic_state *t = p->topics;
        ps_status st = flush_locked(p, t);
        if (st != PS_OK && first == PS_OK)
            first = st;
        drop_events(t, true);
        free(t->events);
        p->topics = t->next;
        free(t);
    }
    pthread_mutex_unlock(&p->lock);
    broker_close(&p->b);
    pthread_mutex_destroy(&p->lock);
    free(p);
    return first;
}

/* ------------------------------------------------------------ consumer */

/* A broker message taken by this consumer, until all its items are
 * acknowledged. */
typedef struct taken {
    char id[64];
    size_t n, next;     /* items; the next one to hand out */
    size_t unacked;     /* handed out or still to hand out */
    char **desc, **meta;
} taken;

/* An item handed out: its proxy and the message it came in. */
typedef struct handed {
    ps_proxy_t *proxy;
    char id[64];
} handed;

struct ps_stream_consumer {
    pthread_mutex_t lock;
    broker b;
    char topic[STREAM_TOPIC_MAX + 1];
    const ps_type *type;
    ps_stream_options opts;
    char *group, *name;
    char last_id[64]; /* broadcast: the last message read */
    bool ended;
    sq_reader *reader; /* queue:// brokers */
    taken *takens;
    size_t ntakens, captakens;
    handed *handeds;
    size_t nhandeds, caphandeds;
};

static void taken_free(taken *t)
{
    for (size_t i = 0; i < t->n; i++) {
        free(t->desc[i]);
        free(t->meta[i]);
    }
    free(t->desc);
    free(t->meta);
}

ps_stream_consumer *ps_stream_consumer_open(const char *broker_url, const char *topic, const ps_type *type,
                                            const ps_stream_options *opts)
{
    if (check_topic(topic) != PS_OK)
        return NULL;
    ps_stream_consumer *c = ps_calloc(1, sizeof *c);
    if (!c)
        return NULL;
    if (broker_open(broker_url, &c->b) != PS_OK) {
        free(c);
        return NULL;
    }
    snprintf(c->topic, sizeof c->topic, "%s", topic);
    snprintf(c->last_id, sizeof c->last_id, "0-0");
    c->type = type;
    if (opts)
        c->opts = *opts;
    if (c->opts.claim_idle_ms <= 0)
        c->opts.claim_idle_ms = STREAM_DEFAULT_CLAIM_MS;
    pthread_mutex_init(&c->lock, NULL);
    ps_status st = PS_OK;
    if (c->b.queue) {
        sq_topic *qt;
        if ((st = sq_topic_open(c->b.queue, c->topic, &qt)) == PS_OK)
            st = sq_reader_open(qt, c->opts.group, &c->reader);
    } else if (c->opts.group) {
        char host[128] = "host";
        gethostname(host, sizeof host - 1);
        c->group = ps_strdup(c->opts.group);
        if (c->opts.consumer)
            c->name = ps_strdup(c->opts.consumer);
        else if (asprintf(&c->name, "%s-%ld", host, (long)getpid()) < 0)
            c->name = NULL;
        if (!c->group || !c->name)
            st = ps_error_set(PS_ERR_NO_MEMORY, "out of memory opening a stream consumer");
        /* From the start of the stream: items sent before the group existed
         * are the group's too. */
        const char *argv[] = {"XGROUP", "CREATE", c->topic, c->group, "0", "MKSTREAM"};
        size_t lens[6];
        for (int i = 0; st == PS_OK && i < 6; i++)
            lens[i] = strlen(argv[i]);
        redisReply *r = st == PS_OK ? broker_call(&c->b, 6, argv, lens) : NULL;
        if (!r && st == PS_OK && !strstr(ps_last_error_message(), "BUSYGROUP"))
            st = ps_last_error_code();
        freeReplyObject(r);
        if (st == PS_OK)
            ps_error_clear();
    }
    if (st != PS_OK) {
        ps_stream_consumer_close(c);
        return NULL;
    }
    return c;
}

void ps_stream_consumer_close(ps_stream_consumer *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->ntakens; i++)
        taken_free(&c->takens[i]);
    free(c->takens);
    free(c->handeds);
    sq_reader_close(c->reader);
    free(c->group);
    free(c->name);
    broker_close(&c->b);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

static ps_status xack(ps_stream_consumer *c, const char *id)
{
    const char *argv[] = {"XACK", c->topic, c->group, id};
    size_t lens[] = {4, strlen(c->topic), strlen(c->group), strlen(id)};
    redisReply *r = broker_call(&c->b, 4, argv, lens);
    freeReplyObject(r);
    return r ? PS_OK : ps_last_error_code();
}

/* One acknowledged item of message i; the message is acknowledged and
 * dropped with its last. */
static ps_status settle_item(ps_stream_consumer *c, size_t i)
{
    taken *t = &c->takens[i];
    if (--t->unacked > 0)
        return PS_OK;
    ps_status st = c->group && !c->reader ? xack(c, t->id) : PS_OK;
    taken_free(t);
    c->takens[i] = c->takens[--c->ntakens];
    return st;
}

static const redisReply *field(const redisReply *fields, const char *name)
{
    for (size_t i = 0; i + 1 < fields->elements; i += 2)
        if (fields->element[i]->type == REDIS_REPLY_STRING && strcmp(fields->element[i]->str, name) == 0)
            return fields->element[i + 1];
    return NULL;
}

/* Record one stream entry ([id, [field, value, ...]]) as taken.  An end
 * entry ends a broadcast consumer; in a group it is acknowledged (the end
 * key decides). */
static ps_status take_entry(ps_stream_consumer *c, const redisReply *entry)
{
    if (entry->type != REDIS_REPLY_ARRAY || entry->elements != 2 || entry->element[0]->type != REDIS_REPLY_STRING)
        return PS_OK; /* a deleted (trimmed) entry: nothing to take */
    const char *id = entry->element[0]->str;
    const redisReply *fields = entry->element[1];
    if (!c->group)
        snprintf(c->last_id, sizeof c->last_id, "%s", id);
    if (fields->type != REDIS_REPLY_ARRAY)
        return c->group ? xack(c, id) : PS_OK;
    if (field(fields, "end")) {
        if (!c->group) {
            c->ended = true;
            return PS_OK;
        }
        return xack(c, id);
    }
    const redisReply *nf = field(fields, "n");
    size_t n = nf && nf->type == REDIS_REPLY_STRING ? strtoul(nf->str, NULL, 10) : 0;
    if (n == 0 || n > STREAM_BATCH_MAX)
        return c->group ? xack(c, id) : PS_OK; /* not one of ours */
    if (c->ntakens == c->captakens) {
        size_t cap = c->captakens ? c->captakens * 2 : 4;
        taken *grown = realloc(c->takens, cap * sizeof *grown);
        if (!grown)
            return ps_error_set(PS_ERR_NO_MEMORY, "out of memory taking a stream message");
        c->takens = grown;
        c->captakens = cap;
    }
    taken t = {.n = n, .unacked = n};
    snprintf(t.id, sizeof t.id, "%s", id);
    t.desc = ps_calloc(n, sizeof *t.desc);
    t.meta = ps_calloc(n, sizeof *t.meta);
    if (!t.desc || !t.meta) {
        free(t.desc);
        free(t.meta);
        return PS_ERR_NO_MEMORY;
    }
    for (size_t i = 0; i < n; i++) {
        char name[24];
        snprintf(name, sizeof name, "d%zu", i);
        const redisReply *d = field(fields, name);
        snprintf(name, sizeof name, "m%zu", i);
        const redisReply *m = field(fields, name);
        t.desc[i] = ps_strdup(d && d->type == REDIS_REPLY_STRING ? d->str : "");
        t.meta[i] = ps_strdup(m && m->type == REDIS_REPLY_STRING ? m->str : "");
    }
    c->takens[c->ntakens++] = t;
    return PS_OK;
}

/* Entries of a reply shaped [[topic, [entry, ...]]] (XREAD, XREADGROUP) or
 * [cursor, [entry, ...], ...] (XAUTOCLAIM). */
static ps_status take_entries(ps_stream_consumer *c, const redisReply *list)
{
    ps_status st = PS_OK;
    for (size_t i = 0; list && list->type == REDIS_REPLY_ARRAY && st == PS_OK && i < list->elements; i++)
        st = take_entry(c, list->element[i]);
    return st;
}

/* Taken messages from the queue hold one item each. */
static ps_status fetch_queued(ps_stream_consumer *c, long block_ms, bool *got)
{
    char *desc, *meta;
    bool end;
    *got = false;
    ps_status st = sq_next(c->reader, block_ms, &desc, &meta, &end);
    if (st == PS_ERR_TIMEOUT) {
        ps_error_clear();
        return PS_OK;
    }
    if (st != PS_OK)
        return st;
    *got = true;
    if (end) {
        c->ended = true;
        return PS_OK;
    }
    if (c->ntakens == c->captakens) {
        size_t cap = c->captakens ? c->captakens * 2 : 4;
        taken *grown = realloc(c->takens, cap * sizeof *grown);
        if (!grown) {
            free(desc);
            free(meta);
            return ps_error_set(PS_ERR_NO_MEMORY, "out of memory taking a stream item");
        }
        c->takens = grown;
        c->captakens = cap;
    }
    taken t = {.n = 1, .unacked = 1, .desc = ps_malloc(sizeof(char *)), .meta = ps_malloc(sizeof(char *))};
    if (!t.desc || !t.meta) {
        free(t.desc);
        free(t.meta);
        free(desc);
        free(meta);
        return PS_ERR_NO_MEMORY;
    }
    static unsigned long serial;
    snprintf(t.id, sizeof t.id, "q%lu", __atomic_add_fetch(&serial, 1, __ATOMIC_RELAXED));
    t.desc[0] = desc;
    t.meta[0] = meta;
    c->takens[c->ntakens++] = t;
    return PS_OK;
}

/* Ask the broker for more: claim a stalled message, read a new one,
 * blocking up to block_ms; *got tells whether anything came. */
static ps_status fetch_more(ps_stream_consumer *c, long block_ms, bool *got)
{
    if (c->reader)
        return fetch_queued(c, block_ms, got);
    size_t before = c->ntakens;
    bool was_ended = c->ended;
    char block[32], idle[32];
    snprintf(block, sizeof block, "%ld", block_ms);
    snprintf(idle, sizeof idle, "%ld", c->opts.claim_idle_ms);
    ps_status st = PS_OK;
    redisReply *r;
    if (c->group) {
        const char *claim[] = {"XAUTOCLAIM", c->topic, c->group, c->name, idle, "0-0", "COUNT", "1"};
        size_t lens[8];
        for (int i = 0; i < 8; i++)
            lens[i] = strlen(claim[i]);
        if (!(r = broker_call(&c->b, 8, claim, lens)))
            return ps_last_error_code();
        if (r->type == REDIS_REPLY_ARRAY && r->elements >= 2)
            st = take_entries(c, r->element[1]);
        freeReplyObject(r);
        if (st != PS_OK || c->ntakens > before) {
            *got = c->ntakens > before;
            return st;
        }
    }
    broker_timeout(&c->b, block_ms);
    if (c->group) {
        const char *argv[] = {"XREADGROUP", "GROUP", c->group, c->name, "COUNT", "1", "BLOCK", block,
                              "STREAMS", c->topic, ">"};
        size_t lens[11];
        for (int i = 0; i < 11; i++)
            lens[i] = strlen(argv[i]);
        r = broker_call(&c->b, 11, argv, lens);
    } else {
        const char *argv[] = {"XREAD", "COUNT", "1", "BLOCK", block, "STREAMS", c->topic, c->last_id};
        size_t lens[8];
        for (int i = 0; i < 8; i++)
            lens[i] = strlen(argv[i]);
        r = broker_call(&c->b, 8, argv, lens);
    }
    broker_timeout(&c->b, 0);
    if (!r)
        return ps_last_error_code();
    for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && st == PS_OK && i < r->elements; i++)
        if (r->element[i]->type == REDIS_REPLY_ARRAY && r->element[i]->elements == 2)
            st = take_entries(c, r->element[i]->element[1]);
    freeReplyObject(r);
    *got = c->ntakens > before || c->ended != was_ended;
    return st;
}

/* In a group: the end key is set and the group holds nothing pending. */
static ps_status group_done(ps_stream_consumer *c, bool *done)
{
    *done = false;
    char key[STREAM_TOPIC_MAX + 8];
    end_key(key, sizeof key, c->topic);
    const char *ex[] = {"EXISTS", key};
    size_t ex_lens[] = {6, strlen(key)};
    redisReply *r = broker_call(&c->b, 2, ex, ex_lens);
    if (!r)
        return ps_last_error_code();
    bool end = r->type == REDIS_REPLY_INTEGER && r->integer == 1;
    freeReplyObject(r);
    if (!end)
        return PS_OK;
    const char *pend[] = {"XPENDING", c->topic, c->group};
    size_t pend_lens[] = {8, strlen(c->topic), strlen(c->group)};
    if (!(r = broker_call(&c->b, 3, pend, pend_lens)))
        return ps_last_error_code();
    *done = r->type == REDIS_REPLY_ARRAY && r->elements >= 1 && r->element[0]->type == REDIS_REPLY_INTEGER &&
            r->element[0]->integer == 0;
    freeReplyObject(r);
    return PS_OK;
}

/* The next item of a taken message, or false if none is left; filtered
 * items are settled on the way. */
static ps_status next_taken(ps_stream_consumer *c, ps_proxy_t **proxy_out, char **metadata_out, bool *found)
{
    *found = false;
    for (size_t i = 0; i < c->ntakens;) {
        taken *t = &c->takens[i];
        if (t->next == t->n) {
            i++;
            continue;
        }
        size_t k = t->next++;
        if (c->opts.filter && !c->opts.filter(t->meta[k], c->opts.filter_arg)) {
            ps_status st = settle_item(c, i); /* may drop message i */
            if (st != PS_OK)
                return st;
            i = 0;
            continue;
        }
        ps_proxy_t *p = ps_proxy_deserialize(t->desc[k], c->type);
        if (!p)
            return ps_error_wrap("stream '%s', message %s, item %zu", c->topic, t->id, k);
        if (c->nhandeds == c->caphandeds) {
            size_t cap = c->caphandeds ? c->caphandeds * 2 : 8;
            handed *grown = realloc(c->handeds, cap * sizeof *grown);
            if (!grown) {
                ps_proxy_free(p);
                t->next--;
                return ps_error_set(PS_ERR_NO_MEMORY, "out of memory handing out a stream item");
            }
            c->handeds = grown;
            c->caphandeds = cap;
        }
        handed h = {p, ""};
        snprintf(h.id, sizeof h.id, "%s", t->id);
        c->handeds[c->nhandeds++] = h;
        if (metadata_out && !(*metadata_out = ps_strdup(t->meta[k])))
            return PS_ERR_NO_MEMORY;
        *proxy_out = p;
        *found = true;
        return PS_OK;
    }
    return PS_OK;
}

ps_status ps_stream_next(ps_stream_consumer *c, long timeout_ms, ps_proxy_t **proxy_out, char **metadata_out)
{
    if (!c || !proxy_out)
        return ps_error_set(PS_ERR_INVALID_ARGUMENT, "ps_stream_next: no consumer or no output given");
    *proxy_out = NULL;
    if (metadata_out)
        *metadata_out = NULL;
    pthread_mutex_lock(&c->lock);
    long deadline = timeout_ms >= 0 ? now_ms() + timeout_ms : 0;
    ps_status st = PS_OK;
    for (;;) {
        bool found;
        if ((st = next_taken(c, proxy_out, metadata_out, &found)) != PS_OK || found)
            break;
        if (c->ended)
            break; /* PS_OK, no proxy: the end */
        long left = timeout_ms >= 0 ? deadline - now_ms() : STREAM_SLICE_MS;
        if (left <= 0 && timeout_ms >= 0) {
            st = ps_error_set(PS_ERR_TIMEOUT, "stream '%s': no item within %ld ms", c->topic, timeout_ms);
            break;
        }
        long block = left < STREAM_SLICE_MS ? (left > 0 ? left : 1) : STREAM_SLICE_MS;
        bool got = false;
        if ((st = fetch_more(c, block, &got)) != PS_OK)
            break;
        if (!got && c->group && !c->reader) {
            bool done;
            if ((st = group_done(c, &done)) != PS_OK)
                break;
            c->ended = done && c->ntakens == 0;
        }
    }
    pthread_mutex_unlock(&c->lock);
    return st;
}

ps_status ps_stream_ack(ps_stream_consumer *c, ps_proxy_t *proxy)
{
    if (!c || !proxy)
        return ps_error_set(PS_ERR_INVALID_ARGUMENT, "ps_stream_ack: no consumer or no proxy given");
    pthread_mutex_lock(&c->lock);
    size_t h = 0;
    while (h < c->nhandeds && c->handeds[h].proxy != proxy)
        h++;
    ps_status st = PS_OK;
    if (h == c->nhandeds) {
        st = ps_error_set(PS_ERR_INVALID_ARGUMENT, "ps_stream_ack: %p is not an unacknowledged item of stream "
                          "'%s'", (void *)proxy, c->topic);
    } else {
        char id[64];
        snprintf(id, sizeof id, "%s", c->handeds[h].id);
        c->handeds[h] = c->handeds[--c->nhandeds];
        if (c->opts.evict_on_ack)
            st = ps_store_evict(ps_proxy_store(proxy), ps_proxy_key(proxy));
        for (size_t i = 0; i < c->ntakens; i++)
            if (strcmp(c->takens[i].id, id) == 0) {
                ps_status s2 = settle_item(c, i);
                if (st == PS_OK)
                    st = s2;
                break;
            }
    }
    pthread_mutex_unlock(&c->lock);
    return st;
}
