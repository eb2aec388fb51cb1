/*
 * proxystore/stream.h — streams of proxies (docs/streams.md).
 *
 * A producer publishes items on a topic: each item is put in the
 * producer's store (any connector) and only a small event — the item's
 * descriptor and the caller's metadata — goes through the broker, a Redis
 * stream.  Consumers iterate over proxies (resolved lazily).  With a
 * consumer group, several consumers share a topic and each item goes to one
 * of them, with acknowledgement: an item taken by a consumer that dies
 * before acknowledging it is delivered again to another one.  Without a
 * group every consumer sees every item.
 *
 * Broker URLs: redis://[:password@]host:port[/db] (the Redis server holding
 * the topics), or queue://NAME, an in-process queue for threads of one
 * process (same calls; nothing to re-deliver).  A topic holds at most
 * max_len messages its slowest consumer group has not acknowledged: a
 * producer waits for room (back-pressure), up to send_timeout_ms.
 */
#ifndef PROXYSTORE_STREAM_H
#define PROXYSTORE_STREAM_H

#include <proxystore/proxystore.h>

#ifdef __cplusplus
extern "C" {
#endif

#pragma GCC visibility push(default)

typedef struct ps_stream_producer ps_stream_producer;
typedef struct ps_stream_consumer ps_stream_consumer;

/* Keep an item (true) or skip it (false), from its metadata ("" if none). */
typedef bool (*ps_stream_filter)(const char *metadata, void *arg);

typedef struct ps_stream_options {
    /* Producer: events per broker message (flushed when full, by
     * ps_stream_flush and by ps_stream_end); 0 or 1: one message each. */
    size_t batch;
    /* Producer: the topic holds at most this many broker messages (Redis)
     * or events (queue) that its slowest consumer group has not
     * acknowledged; a flush into a full topic waits for room, up to
     * send_timeout_ms.  Redis topics without a group keep their newest
     * max_len messages instead (XADD MAXLEN ~).  0: 100000. */
    size_t max_len;
    /* Consumer: the consumer group (NULL: broadcast, every item) and this
     * consumer's name in it (NULL: host and pid). */
    const char *group;
    const char *consumer;
    /* Consumer: an item another consumer of the group took and has not
     * acknowledged for this long is taken over; 0: 30000 ms. */
    long claim_idle_ms;
    /* Consumer: evict each item from its store when it is acknowledged. */
    bool evict_on_ack;
    /* Both sides: items whose metadata the filter rejects are not sent
     * (producer) or are skipped and acknowledged (consumer). */
    ps_stream_filter filter;
    void *filter_arg;
    /* Producer: how long a flush waits for room in a full topic before it
     * fails with PS_ERR_TIMEOUT (its events stay queued; a send that fails
     * so did not send its item); 0: 30000 ms; negative: do not wait. */
    long send_timeout_ms;
} ps_stream_options;

/* A producer putting items in store and events on broker; opts may be NULL. */
ps_stream_producer *ps_stream_producer_open(const char *broker, ps_store *store, const ps_stream_options *opts);
/* Put count objects of type in the store (the topic's store if one was set)
 * and queue the event with metadata (NULL: none; at most 1024 bytes). */
ps_status ps_stream_send(ps_stream_producer *producer, const char *topic, const ps_type *type,
                         const void *obj, size_t count, const char *metadata);
/* Items of topic go to store instead of the producer's. */
ps_status ps_stream_topic_store(ps_stream_producer *producer, const char *topic, ps_store *store);
ps_status ps_stream_flush(ps_stream_producer *producer, const char *topic);
/* Flush and mark the end of topic: consumers' iteration ends once they have
 * everything sent before it. */
ps_status ps_stream_end(ps_stream_producer *producer, const char *topic);
/* Flush every topic and release the producer. */
ps_status ps_stream_producer_close(ps_stream_producer *producer);

/* A consumer of topic; items are proxies of type (NULL: raw plain data). */
ps_stream_consumer *ps_stream_consumer_open(const char *broker, const char *topic, const ps_type *type,
                                            const ps_stream_options *opts);
/*
 * The next item, waiting up to timeout_ms (negative: no limit): PS_OK with
 * *proxy_out a new proxy (free it with ps_proxy_free) and *metadata_out (if
 * not NULL) a malloc'd copy of its metadata; PS_OK with *proxy_out NULL at
 * the end of the topic; PS_ERR_TIMEOUT if nothing came.
 */
ps_status ps_stream_next(ps_stream_consumer *consumer, long timeout_ms, ps_proxy_t **proxy_out,
                         char **metadata_out);
/* Acknowledge the item proxy stands for (before freeing it): in a group it
 * will not be delivered again; with evict_on_ack it is evicted. */
ps_status ps_stream_ack(ps_stream_consumer *consumer, ps_proxy_t *proxy);
void ps_stream_consumer_close(ps_stream_consumer *consumer);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif

#endif /* PROXYSTORE_STREAM_H */
