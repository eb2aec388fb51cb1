/*
 * stream_threads.c — two threads send on one stream producer (batches of
 * 5, back-pressure at max_len 8) while three consumers of one group take,
 * resolve and acknowledge the items, on the in-process queue broker with
 * the items in the store given on the command line; built with
 * ThreadSanitizer by scripts/tsan.sh.  Exit 0 only if every item arrived
 * exactly once; TSan makes any data race a failure.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include <proxystore/proxystore.h>
#include <proxystore/stream.h>

#define PER_SENDER 400
#define SENDERS 2
#define CONSUMERS 3

static ps_stream_producer *producer;
static int seen[SENDERS * PER_SENDER];

static void *send_items(void *arg)
{
    int first = (int)(long)arg * PER_SENDER;
    for (int i = first; i < first + PER_SENDER; i++) {
        int64_t v[2] = {i, -i};
        if (ps_stream_send(producer, "frames", &ps_type_int64, v, 2, NULL) != PS_OK)
            abort();
    }
    return NULL;
}

static void *consume(void *arg)
{
    char name[16];
    snprintf(name, sizeof name, "c%ld", (long)arg);
    ps_stream_options o = {.group = "workers", .consumer = name, .evict_on_ack = true};
    ps_stream_consumer *c = ps_stream_consumer_open("queue://tsan", "frames", &ps_type_int64, &o);
    if (!c)
        abort();
    for (;;) {
        ps_proxy_t *x;
        if (ps_stream_next(c, 20000, &x, NULL) != PS_OK)
            abort();
        if (!x)
            break;
        const int64_t *v = PS_RESOLVE(int64_t, x);
        if (!v || v[0] < 0 || v[0] >= SENDERS * PER_SENDER || v[1] != -v[0])
            abort();
        __atomic_add_fetch(&seen[v[0]], 1, __ATOMIC_RELAXED);
        if (ps_stream_ack(c, x) != PS_OK)
            abort();
        ps_proxy_free(x);
    }
    ps_stream_consumer_close(c);
    return NULL;
}

int main(int argc, char **argv)
{
    ps_store *store = ps_store_open("tsan-stream", argc > 1 ? argv[1] : "local://", NULL);
    if (!store)
        return 1;
    producer = ps_stream_producer_open("queue://tsan", store, &(ps_stream_options){.batch = 5, .max_len = 8});
    if (!producer)
        return 1;
    pthread_t consumers[CONSUMERS], senders[SENDERS];
    for (long i = 0; i < CONSUMERS; i++)
        pthread_create(&consumers[i], NULL, consume, (void *)i);
    for (long i = 0; i < SENDERS; i++)
        pthread_create(&senders[i], NULL, send_items, (void *)i);
    for (int i = 0; i < SENDERS; i++)
        pthread_join(senders[i], NULL);
    if (ps_stream_end(producer, "frames") != PS_OK)
        return 1;
    for (int i = 0; i < CONSUMERS; i++)
        pthread_join(consumers[i], NULL);
    int bad = 0;
    for (int i = 0; i < SENDERS * PER_SENDER; i++)
        bad += seen[i] != 1;
    ps_stream_producer_close(producer);
    ps_store_close(store);
    printf("stream_threads: %d items, %d not delivered exactly once\n", SENDERS * PER_SENDER, bad);
    return bad != 0;
}
