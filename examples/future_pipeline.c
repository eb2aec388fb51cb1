/*
 * future_pipeline.c — a workflow step that starts before its input exists.
 *
 * The producer creates two futures and hands their proxies, as descriptors,
 * to two consumer processes at once (here: this program run again with
 * "consume"; in a workflow: tasks sent to workers).  The consumers block in
 * ps_proxy_wait while the producer computes; one future gets a value, the
 * other a failure, which reaches the consumers as an error instead of a
 * wait that never ends.
 *
 *   future_pipeline [STORE_URL]      default: shm://future-example-PID
 *   future_pipeline consume DESCRIPTOR
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <proxystore/future.h>
#include <proxystore/proxystore.h>

#define N 1000

/* A consumer: wait up to 10 s for the future, then use the value. */
static int consume(const char *descriptor)
{
    PROXY(double) p = ps_proxy_deserialize(descriptor, &ps_type_double);
    if (!p) {
        fprintf(stderr, "consumer: %s\n", ps_last_error_message());
        return 2;
    }
    int rc = 0;
    if (ps_proxy_wait(p, 10000) != PS_OK) {
        printf("consumer %ld: no input: %s (%s)\n", (long)getpid(), ps_last_error_message(),
               ps_status_name(ps_last_error_code()));
        rc = 1;
    } else {
        const double *v = PS_RESOLVE(double, p);
        double sum = 0;
        for (size_t i = 0; v && i < ps_proxy_count(p); i++)
            sum += v[i];
        printf("consumer %ld: %zu values, sum %.1f\n", (long)getpid(), ps_proxy_count(p), sum);
    }
    ps_proxy_free(p);
    return rc;
}

static pid_t start_consumer(const char *self, const char *store_url, const char *descriptor)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        /* A descriptor may only re-create a store its process trusts. */
        setenv("PS_TRUSTED_URLS", store_url, 1);
        execl(self, self, "consume", descriptor, (char *)NULL);
        _exit(127);
    }
    return pid;
}

static int wait_consumer(pid_t pid)
{
    int status;
    if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
        return -1;
    return WEXITSTATUS(status);
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "consume") == 0)
        return consume(argv[2]);
    char url[64];
    snprintf(url, sizeof url, "shm://future-example-%ld", (long)getpid());
    ps_store *store = ps_store_open("example", argc > 1 ? argv[1] : url, NULL);
    if (!store) {
        fprintf(stderr, "open: %s\n", ps_last_error_message());
        return 1;
    }
    ps_future *result = ps_future_new(store, &ps_type_double, NULL);
    ps_future *broken = ps_future_new(store, &ps_type_double, NULL);
    if (!result || !broken) {
        fprintf(stderr, "future: %s\n", ps_last_error_message());
        return 1;
    }
    /* Hand out the proxies before any value exists. */
    PROXY(double) rp = ps_future_proxy(result);
    PROXY(double) bp = ps_future_proxy(broken);
    char *rdesc = ps_proxy_serialize(rp), *bdesc = ps_proxy_serialize(bp);
    if (!rdesc || !bdesc) {
        fprintf(stderr, "serialize: %s\n", ps_last_error_message());
        free(rdesc);
        free(bdesc);
        ps_proxy_free(rp);
        ps_proxy_free(bp);
        return 1;
    }
    pid_t c1 = start_consumer(argv[0], ps_store_url(store), rdesc),
          c2 = start_consumer(argv[0], ps_store_url(store), bdesc);

    /* The producer's work, while the consumers wait. */
    double *values = malloc(N * sizeof *values);
    for (size_t i = 0; values && i < N; i++)
        values[i] = (double)i;
    usleep(100 * 1000);
    int rc = 0;
    if (!values || ps_future_set_array(result, values, N) != PS_OK ||
        ps_future_fail(broken, PS_ERR_IO, "the input file was truncated") != PS_OK) {
        fprintf(stderr, "producer: %s\n", ps_last_error_message());
        rc = 1;
    }
    /* A second set is refused: the value stays the first one. */
    if (values && ps_future_set_array(result, values, 1) != PS_ERR_STATE)
        rc = 1;

    int r1 = wait_consumer(c1), r2 = wait_consumer(c2);
    printf("producer: consumer of the value exited %d, consumer of the failure exited %d\n", r1, r2);
    if (r1 != 0 || r2 != 1)
        rc = 1;

    free(values);
    free(rdesc);
    free(bdesc);
    ps_proxy_evict(rp);
    ps_proxy_evict(bp);
    ps_future_free(result);
    ps_future_free(broken);
    ps_store_close(store);
    return rc;
}
