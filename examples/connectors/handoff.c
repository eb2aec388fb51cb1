/* handoff.c — see handoff.h. */
#include "handoff.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <proxystore/proxystore.h>

enum { SAMPLES = 1 << 20 }; /* 8 MiB of doubles */

static int fail(const char *who, const char *what)
{
    fprintf(stderr, "%s: %s: %s: %s\n", who, what, ps_status_name(ps_last_error_code()), ps_last_error_message());
    return 1;
}

/* The consumer: a descriptor on stdin, the sum on stdout.  It has opened
 * nothing: the producer told it to trust the store (PS_TRUSTED_URLS), and
 * the store is opened from the descriptor and closes with the proxy. */
static int consumer(void)
{
    char line[4096];
    if (!fgets(line, sizeof line, stdin))
        return fail("consumer", "no descriptor on stdin");
    PROXY(double) samples = ps_proxy_deserialize(line, &ps_type_double);
    if (!samples)
        return fail("consumer", "deserialize");
    const double *v = PS_RESOLVE(double, samples);
    if (!v) {
        ps_proxy_free(samples);
        return fail("consumer", "resolve");
    }
    double sum = 0;
    for (size_t i = 0; i < ps_proxy_count(samples); i++)
        sum += v[i];
    printf("%.1f\n", sum);
    fprintf(stderr, "consumer (pid %d): resolved %zu bytes from %s\n", (int)getpid(), ps_proxy_size(samples),
            ps_store_url(ps_proxy_store(samples)));
    ps_proxy_free(samples);
    return 0;
}

/* Start argv[0] --consumer with pipes on its stdin and stdout. */
static pid_t start_consumer(const char *self, const char *store_url, FILE **to, FILE **from)
{
    int down[2], up[2];
    if (pipe(down) != 0 || pipe(up) != 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(down[0], 0);
        dup2(up[1], 1);
        close(down[1]);
        close(up[0]);
        setenv("PS_TRUSTED_URLS", store_url, 1);
        execl(self, self, "--consumer", (char *)NULL);
        _exit(127);
    }
    close(down[0]);
    close(up[1]);
    *to = fdopen(down[1], "w");
    *from = fdopen(up[0], "r");
    return pid;
}

int handoff_main(int argc, char **argv, const char *store_url)
{
    if (argc > 1 && strcmp(argv[1], "--consumer") == 0)
        return consumer();
    if (!store_url)
        return fprintf(stderr, "producer: no store URL\n"), 2;
    ps_store *store = ps_store_open("samples", store_url, NULL);
    if (!store)
        return fail("producer", "open");
    double *v = malloc(SAMPLES * sizeof *v);
    double want = 0;
    for (size_t i = 0; i < SAMPLES; i++)
        want += v[i] = (double)(i % 1000);
    PROXY(double) samples = ps_proxy_array(store, &ps_type_double, v, SAMPLES);
    free(v);
    if (!samples) {
        ps_store_close(store);
        return fail("producer", "put");
    }
    char *descriptor = ps_proxy_serialize(samples);
    FILE *to = NULL, *from = NULL;
    pid_t pid = descriptor ? start_consumer(argv[0], store_url, &to, &from) : -1;
    double got = -1;
    int status = 1;
    if (pid > 0) {
        fprintf(to, "%s\n", descriptor);
        fclose(to);
        if (fscanf(from, "%lf", &got) != 1)
            got = -1;
        fclose(from);
        waitpid(pid, &status, 0);
    }
    free(descriptor);
    printf("producer: put %d samples in %s; the consumer summed %.1f (expected %.1f)\n", SAMPLES, store_url,
           got, want);
    ps_proxy_evict(samples);
    ps_store_close(store);
    return pid > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0 && got == want ? 0 : 1;
}
