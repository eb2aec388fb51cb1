/*
 * stream_pipeline.c — a flow of large items between processes, by proxy.
 *
 * The producer puts each item (a 1 MB array) in a shared-memory store and
 * sends only its descriptor through a Redis stream; two consumer processes
 * in one consumer group share the items, each acknowledged and evicted once
 * processed, and stop at the end of the topic.
 *
 *   stream_pipeline redis://HOST:PORT              producer (runs the consumers)
 *   stream_pipeline redis://HOST:PORT consume TOPIC NAME
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <proxystore/proxystore.h>
#include <proxystore/stream.h>

#define ITEMS 20
#define ELEMS (1000 * 1000 / sizeof(double))

static int consume(const char *broker, const char *topic, const char *name)
{
    ps_stream_options opts = {.group = "workers", .consumer = name, .evict_on_ack = true};
    ps_stream_consumer *c = ps_stream_consumer_open(broker, topic, &ps_type_double, &opts);
    if (!c) {
        fprintf(stderr, "%s: %s\n", name, ps_last_error_message());
        return 2;
    }
    int n = 0, rc = 0;
    for (;;) {
        PROXY(double) item;
        char *meta;
        if (ps_stream_next(c, 30000, &item, &meta) != PS_OK) {
            fprintf(stderr, "%s: %s\n", name, ps_last_error_message());
            rc = 1;
            break;
        }
        if (!item)
            break; /* the end of the topic */
        const double *v = PS_RESOLVE(double, item);
        int seq = atoi(meta + strlen("seq="));
        if (!v || v[0] != seq || v[ELEMS - 1] != seq)
            rc = 1;
        n++;
        free(meta);
        if (ps_stream_ack(c, item) != PS_OK)
            rc = 1;
        ps_proxy_free(item);
    }
    printf("%s: %d items\n", name, n);
    ps_stream_consumer_close(c);
    return rc ? rc : n == 0 ? 3 : 0; /* exit 3: got nothing (the producer decides) */
}

int main(int argc, char **argv)
{
    if (argc == 5 && strcmp(argv[2], "consume") == 0)
        return consume(argv[1], argv[3], argv[4]);
    if (argc != 2) {
        fprintf(stderr, "usage: %s redis://HOST:PORT\n", argv[0]);
        return 2;
    }
    char topic[64], shm[64];
    snprintf(topic, sizeof topic, "example-%ld", (long)getpid());
    snprintf(shm, sizeof shm, "shm://stream-example-%ld", (long)getpid());
    ps_store *store = ps_store_open("stream-items", shm, NULL);
    ps_stream_producer *p = store ? ps_stream_producer_open(argv[1], store, NULL) : NULL;
    if (!p) {
        fprintf(stderr, "producer: %s\n", ps_last_error_message());
        return 1;
    }
    pid_t kids[2];
    for (int i = 0; i < 2; i++) {
        fflush(stdout);
        if ((kids[i] = fork()) == 0) {
            char name[16];
            snprintf(name, sizeof name, "worker-%d", i);
            setenv("PS_TRUSTED_URLS", shm, 1); /* descriptors may re-create the item store */
            execl(argv[0], argv[0], argv[1], "consume", topic, name, (char *)NULL);
            _exit(127);
        }
    }
    double *item = malloc(ELEMS * sizeof *item);
    int rc = item ? 0 : 1;
    for (int seq = 0; item && seq < ITEMS && rc == 0; seq++) {
        for (size_t i = 0; i < ELEMS; i++)
            item[i] = seq;
        char meta[32];
        snprintf(meta, sizeof meta, "seq=%d", seq);
        if (ps_stream_send(p, topic, &ps_type_double, item, ELEMS, meta) != PS_OK)
            rc = 1;
    }
    if (ps_stream_end(p, topic) != PS_OK)
        rc = 1;
    if (rc)
        fprintf(stderr, "producer: %s\n", ps_last_error_message());
    for (int i = 0; i < 2; i++) {
        int status;
        /* A worker that got nothing (the other was quicker) is fine. */
        if (waitpid(kids[i], &status, 0) != kids[i] || !WIFEXITED(status) ||
            (WEXITSTATUS(status) != 0 && WEXITSTATUS(status) != 3))
            rc = 1;
    }
    printf("producer: %d items sent by proxy, %s\n", ITEMS, rc ? "FAILED" : "all consumed");
    free(item);
    ps_stream_producer_close(p);
    ps_store_close(store);
    return rc;
}
