/* matrix.h — the shared types of the examples, annotated for ps-check. */
#ifndef EXAMPLE_MATRIX_H
#define EXAMPLE_MATRIX_H

#include <stddef.h>
#include <proxystore/proxystore.h>

#define MATRIX_N 256

/* Plain data: moves between processes as it is, mapped without a copy
 * from shared memory. */
struct matrix {
    size_t n;
    double cell[MATRIX_N][MATRIX_N];
};

struct mesh {
    size_t vertices;
    double xyz[1024][3];
};

/* Declared with their target types, so ps-check can tell a descriptor of
 * one type given an object of another. */
PS_TYPE_DECLARE(matrix_type, struct matrix);
PS_TYPE_DECLARE(mesh_type, struct mesh);

/* A task takes the matrix by proxy and resolves it where it runs. */
double matrix_trace(PROXY(struct matrix) m);
/* Works on a local matrix and on a proxy alike. */
double matrix_sum(PROXY_OR(struct matrix) m);
void matrix_fill(struct matrix *m, double seed);

#endif
