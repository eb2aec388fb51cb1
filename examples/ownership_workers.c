/*
 * ownership_workers.c — a producer owns a large object and hands borrows of
 * it to worker processes; the object goes away by itself when the producer
 * releases it, which the runtime allows only once every worker is done.
 *
 *   ownership_workers [URL]          the producer (default shm://workers-demo)
 *   ownership_workers --worker DESC  one worker (started by the producer)
 *
 * See docs/ownership.md.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <proxystore/proxystore.h>

#define NWORKERS 3
#define LEN (1 << 18) /* 256 Ki doubles: 2 MiB */

static int worker(const char *descriptor)
{
    PROXY_REF(double[LEN]) view = ps_proxy_deserialize(descriptor, &ps_type_double);
    if (!view) {
        fprintf(stderr, "worker: %s\n", ps_last_error_message());
        return 1;
    }
    const double *v = PS_RESOLVE_REF(double, view); /* const: a shared borrow never writes */
    if (!v) {
        fprintf(stderr, "worker: %s\n", ps_last_error_message());
        ps_borrow_release(view);
        return 1;
    }
    double sum = 0;
    for (size_t i = 0; i < ps_proxy_count(view); i++)
        sum += v[i];
    printf("worker %d: sum %.1f\n", (int)getpid(), sum);
    if (ps_borrow_release(view) != PS_OK) {
        fprintf(stderr, "worker: %s\n", ps_last_error_message());
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--worker") == 0)
        return worker(argv[2]);
    const char *url = argc > 1 ? argv[1] : "shm://workers-demo";
    ps_store *store = ps_store_open("workers", url, NULL);
    if (!store) {
        fprintf(stderr, "producer: %s\n", ps_last_error_message());
        return 1;
    }
    double *data = malloc(LEN * sizeof *data);
    if (!data)
        return 1;
    for (size_t i = 0; i < LEN; i++)
        data[i] = (double)(i % 100);

    PROXY_OWNED(double[LEN]) owner = ps_owned_array(store, &ps_type_double, data, LEN);
    free(data);
    if (!owner) {
        fprintf(stderr, "producer: %s\n", ps_last_error_message());
        ps_store_close(store);
        return 1;
    }
    char key[PS_KEY_MAX];
    snprintf(key, sizeof key, "%s", ps_proxy_key(owner));

    pid_t pids[NWORKERS];
    int started = 0;
    for (int w = 0; w < NWORKERS; w++) {
        PROXY_REF(double[LEN]) view = ps_borrow(owner);
        char *descriptor = view ? ps_proxy_serialize(view) : NULL; /* moves the borrow */
        if (!descriptor) {
            fprintf(stderr, "producer: %s\n", ps_last_error_message());
            break;
        }
        pid_t pid = fork();
        if (pid == 0) {
            /* A descriptor may only re-create a store its process trusts. */
            setenv("PS_TRUSTED_URLS", url, 1);
            execl("/proc/self/exe", argv[0], "--worker", descriptor, (char *)NULL);
            fprintf(stderr, "cannot start a worker: %s\n", strerror(errno));
            _exit(127);
        }
        free(descriptor);
        if (pid < 0)
            break;
        pids[started++] = pid;
    }

    /* While any worker holds its borrow, the release is refused and nothing
     * is evicted; the workers' releases are seen through the store. */
    int failed = 0, waited = 0;
    ps_status st = PS_OK;
    if (ps_owned_release(owner) != PS_OK) {
        printf("release while workers hold borrows: %s\n", ps_status_name(ps_last_error_code()));
        for (; waited < started; waited++) {
            int status;
            waitpid(pids[waited], &status, 0);
            failed |= !WIFEXITED(status) || WEXITSTATUS(status) != 0;
        }
        if ((st = ps_owned_release(owner)) != PS_OK)
            fprintf(stderr, "producer: %s\n", ps_last_error_message());
    }
    for (; waited < started; waited++) { /* they had all released already */
        int status;
        waitpid(pids[waited], &status, 0);
        failed |= !WIFEXITED(status) || WEXITSTATUS(status) != 0;
    }
    bool there = true;
    ps_store_exists(store, key, &there);
    printf("release after the workers: %s; object %s\n", ps_status_name(st), there ? "still stored" : "evicted");
    ps_store_close(store);
    return failed || st != PS_OK || there || started != NWORKERS;
}
