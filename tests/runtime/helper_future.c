/* helper_future.c — a producer or consumer of futures in its own process,
 * for future_suite.c (protocol in helper_future.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <proxystore/future.h>
#include <proxystore/proxystore.h>

#include "helper_future.h"

static int wait_for(const char *descriptor, long timeout_ms, uint64_t seed, size_t count)
{
    ps_proxy_t *p = ps_proxy_deserialize(descriptor, &ps_type_int64);
    if (!p) {
        printf("error %s\n", ps_last_error_message());
        return HF_EXIT_ERROR;
    }
    ps_status st = ps_proxy_wait(p, timeout_ms);
    int rc = HF_EXIT_OK;
    if (st == PS_ERR_TIMEOUT) {
        printf("timeout %s\n", ps_last_error_message());
        rc = HF_EXIT_TIMEOUT;
    } else if (st != PS_OK) {
        printf("failed %s %s\n", ps_status_name(st), ps_last_error_message());
        rc = HF_EXIT_FAILED;
    } else {
        const int64_t *v = PS_RESOLVE(int64_t, p);
        if (!v || ps_proxy_count(p) != count) {
            printf("mismatch: %zu elements, %s\n", ps_proxy_count(p), v ? "" : ps_last_error_message());
            rc = HF_EXIT_MISMATCH;
        }
        for (size_t i = 0; v && rc == HF_EXIT_OK && i < count; i++)
            if (v[i] != hf_value(seed, i)) {
                printf("mismatch at %zu\n", i);
                rc = HF_EXIT_MISMATCH;
            }
        if (rc == HF_EXIT_OK)
            printf("ok\n");
    }
    ps_proxy_free(p);
    return rc;
}

static int produce(const char *mode, const char *name, const char *url, const char *key, const char *arg,
                   size_t count)
{
    ps_store *store = ps_store_open(name, url, NULL);
    ps_future *f = store ? ps_future_new(store, &ps_type_int64, key) : NULL;
    if (!f) {
        printf("error %s\n", ps_last_error_message());
        return HF_EXIT_ERROR;
    }
    ps_status st;
    if (strcmp(mode, "set") == 0) {
        uint64_t seed = strtoull(arg, NULL, 10);
        int64_t *v = malloc((count ? count : 1) * sizeof *v);
        for (size_t i = 0; v && i < count; i++)
            v[i] = hf_value(seed, i);
        st = v ? ps_future_set_array(f, v, count) : PS_ERR_NO_MEMORY;
        free(v);
    } else {
        st = ps_future_fail(f, PS_ERR_IO, arg);
    }
    if (st == PS_OK)
        printf("%s\n", mode);
    else
        printf("refused %s %s\n", ps_status_name(st), ps_last_error_message());
    fflush(stdout);
    char buf[64];
    while (read(0, buf, sizeof buf) > 0)
        ;
    ps_future_free(f);
    ps_store_close(store);
    return st == PS_OK ? HF_EXIT_OK : st == PS_ERR_STATE ? HF_EXIT_REFUSED : HF_EXIT_ERROR;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc == 6 && strcmp(argv[1], "wait") == 0)
        return wait_for(argv[2], strtol(argv[3], NULL, 10), strtoull(argv[4], NULL, 10),
                        strtoull(argv[5], NULL, 10));
    if (argc == 7 && strcmp(argv[1], "set") == 0)
        return produce("set", argv[2], argv[3], argv[4], argv[5], strtoull(argv[6], NULL, 10));
    if (argc == 6 && strcmp(argv[1], "fail") == 0)
        return produce("fail", argv[2], argv[3], argv[4], argv[5], 0);
    fprintf(stderr, "usage: see helper_future.h\n");
    return HF_EXIT_ERROR;
}
