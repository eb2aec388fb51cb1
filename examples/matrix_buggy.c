/*
 * matrix_buggy.c — mistakes that compile cleanly and crash at run time,
 * on another node, without ps-check.  `ps-check examples/` reports each
 * one; this file is never run.
 */
#include <stdlib.h>
#include <string.h>

#include "matrix.h"

/* A mesh step that was handed a proxy of the wrong kind. */
static void mesh_step(PROXY(struct mesh) mesh)
{
    (void)mesh;
}

static void scale(struct matrix *m, double by)
{
    for (size_t i = 0; i < m->n; i++)
        m->cell[i][i] *= by;
}

void buggy(ps_store *store, struct matrix *local)
{
    PROXY(struct matrix) p = ps_proxy(store, &matrix_type, local);

    mesh_step(p);                                   /* a matrix where a mesh is expected */
    scale((struct matrix *)p, 2.0);                 /* the proxy used as the matrix itself */
    struct mesh *wrong = PS_RESOLVE(struct mesh, p); /* resolved as the wrong type */
    PROXY(struct matrix) q = ps_proxy(store, &mesh_type, local); /* descriptor of another type */
    double s = matrix_sum(wrong);                   /* a mesh where a matrix or its proxy is expected */
    memcpy(local, p, sizeof *local);                /* copies the handle, not the matrix */

    (void)s;
    ps_proxy_free(q);
    ps_proxy_free(p);
}

/* Lifetime mistakes: a proxy's target read after the proxy is released,
 * a proxy leaked on an early return, released twice, used after release. */
double buggy_lifetime(ps_store *store, struct matrix *local)
{
    PROXY(struct matrix) p = ps_proxy(store, &matrix_type, local);
    const struct matrix *view = PS_RESOLVE(struct matrix, p);
    ps_proxy_free(p);
    double first = view->cell[0][0];                /* the target went with the proxy */

    PROXY(struct matrix) q = ps_proxy(store, &matrix_type, local);
    if (first > 0)
        return first;                               /* q is never released on this path */
    ps_proxy_free(q);
    ps_proxy_free(q);                               /* released twice */
    return matrix_trace(p);                         /* p was released above */
}
