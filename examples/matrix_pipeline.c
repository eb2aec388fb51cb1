/*
 * matrix_pipeline.c — a producer puts matrices in a store and hands out
 * proxies; consumers resolve them just in time.  Proxies travel as small
 * text descriptors, the way they would cross a task queue or a socket.
 *
 *   matrix_pipeline [STORE_URL]     default: local:// (in-process)
 *
 * ps-check reports nothing on this file.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "matrix.h"

PS_TYPE_POD_DEFINE(matrix_type, struct matrix);
PS_TYPE_POD_DEFINE(mesh_type, struct mesh);

void matrix_fill(struct matrix *m, double seed)
{
    m->n = MATRIX_N;
    for (size_t i = 0; i < MATRIX_N; i++)
        for (size_t j = 0; j < MATRIX_N; j++)
            m->cell[i][j] = seed + (double)(i == j);
}

double matrix_trace(PROXY(struct matrix) m)
{
    const struct matrix *mat = PS_RESOLVE(struct matrix, m);
    if (!mat)
        return -1.0;
    double t = 0;
    for (size_t i = 0; i < mat->n; i++)
        t += mat->cell[i][i];
    return t;
}

double matrix_sum(PROXY_OR(struct matrix) m)
{
    const struct matrix *mat = PS_RESOLVE_OR(struct matrix, m);
    if (!mat)
        return -1.0;
    double s = 0;
    for (size_t i = 0; i < mat->n; i++)
        for (size_t j = 0; j < mat->n; j++)
            s += mat->cell[i][j];
    return s;
}

static int fail(const char *what)
{
    fprintf(stderr, "matrix_pipeline: %s: %s (%s)\n", what, ps_last_error_message(),
            ps_status_name(ps_last_error_code()));
    return 1;
}

int main(int argc, char **argv)
{
    const char *url = argc > 1 ? argv[1] : "local://";
    ps_store *store = ps_store_open("example", url, NULL);
    if (!store)
        return fail("open store");

    struct matrix *m = malloc(sizeof *m);
    if (!m)
        return 1;
    matrix_fill(m, 0.5);

    /* Producer: put once, pass the proxy (here: as a descriptor string). */
    PROXY(struct matrix) p = ps_proxy(store, &matrix_type, m);
    if (!p)
        return fail("proxy");
    char *descriptor = ps_proxy_serialize(p);
    if (!descriptor) {
        ps_proxy_free(p);
        return fail("serialize");
    }
    printf("descriptor (%zu bytes for a %zu-byte matrix):\n  %s\n", strlen(descriptor),
           ps_proxy_size(p), descriptor);

    /* Consumer: rebuild the proxy from the descriptor and resolve it. */
    PROXY(struct matrix) q = ps_proxy_deserialize(descriptor, &matrix_type);
    if (!q) {
        ps_proxy_free(p);
        return fail("deserialize");
    }
    printf("target %s, %zu bytes, hash %016llx\n", ps_proxy_type_name(q), ps_proxy_size(q),
           (unsigned long long)ps_proxy_hash(q));
    printf("trace via proxy:     %.1f\n", matrix_trace(q));
    printf("sum via proxy:       %.1f\n", matrix_sum(q));
    printf("sum of local matrix: %.1f\n", matrix_sum(m));

    ps_metrics metrics;
    if (ps_store_metrics(store, &metrics) == PS_OK)
        printf("store metrics: %llu put (%llu bytes), %llu resolve (%llu bytes), cache %llu hits / %llu misses\n",
               (unsigned long long)metrics.op[PS_OP_PUT].count,
               (unsigned long long)metrics.op[PS_OP_PUT].bytes,
               (unsigned long long)metrics.op[PS_OP_RESOLVE].count,
               (unsigned long long)metrics.op[PS_OP_RESOLVE].bytes,
               (unsigned long long)metrics.cache_hits, (unsigned long long)metrics.cache_misses);

    ps_proxy_free(q);
    if (ps_proxy_evict(p) != PS_OK)
        return fail("evict");
    free(descriptor);
    free(m);
    ps_store_close(store);
    return 0;
}
