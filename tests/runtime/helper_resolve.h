/*
 * helper_resolve.h — what test_cross_process.c and the consumer program it
 * runs (helper_resolve) must agree on: the objects' contents (a pattern from a
 * seed), the custom-serialized type, and the line protocol.
 *
 * Protocol: the test writes one line per object to the consumer's stdin,
 *
 *     TAG SEED COUNT HASH DESCRIPTOR
 *
 * TAG names the type (see xp_type_of), SEED and COUNT define the expected
 * contents, HASH is the XXH3-64 of the payload (16 hex digits) and
 * DESCRIPTOR, the rest of the line, is what ps_proxy_serialize produced.
 * The consumer answers one line per object on stdout, "ok TAG COUNT HASH" or
 * "FAIL ...", and exits XP_EXIT_OK only if every object matched,
 * XP_EXIT_MISMATCH if some contents differ, XP_EXIT_ERROR if a line,
 * descriptor or resolve failed (reason on stderr).
 */
#ifndef PS_TEST_HELPER_RESOLVE_H
#define PS_TEST_HELPER_RESOLVE_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <proxystore/proxystore.h>

#include "test_record.h"

enum { XP_EXIT_OK = 0, XP_EXIT_MISMATCH = 1, XP_EXIT_ERROR = 2 };

/* A plain-data struct element, to cover arrays of structs. */
struct xp_point {
    double x, y;
    int32_t id;
};
static const ps_type xp_point_type = PS_TYPE_POD_INIT(struct xp_point);

/* Byte i of a patterned array: distinct per seed, no short period. */
static inline unsigned char xp_byte(uint64_t seed, size_t i)
{
    uint64_t v = (i + 1) * 0x9E3779B97F4A7C15ull ^ seed * 0xBF58476D1CE4E5B9ull;
    return (unsigned char)(v >> 29);
}

static inline int64_t xp_int64(uint64_t seed, size_t i)
{
    return (int64_t)(seed * 1000003u) - (int64_t)i * 7919;
}

static inline struct xp_point xp_point_at(uint64_t seed, size_t i)
{
    struct xp_point p;
    p.x = (double)seed + (double)i * 0.5;
    p.y = -(double)i;
    p.id = (int32_t)(i ^ seed);
    return p;
}

/* The record for seed; free with ps_test_record_free.  NULL if out of memory. */
static inline struct ps_test_record *xp_record_make(uint64_t seed)
{
    struct ps_test_record *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->label = malloc(48);
    r->nvalues = 1000 + seed % 100;
    r->values = malloc(r->nvalues * sizeof(double));
    if (!r->label || !r->values) {
        ps_test_record_free(r);
        return NULL;
    }
    snprintf(r->label, 48, "record %llu", (unsigned long long)seed);
    for (size_t i = 0; i < r->nvalues; i++)
        r->values[i] = (double)seed * 0.25 + (double)i;
    return r;
}

/* The type of a protocol tag; NULL for an unknown tag. */
static inline const ps_type *xp_type_of(const char *tag)
{
    if (strcmp(tag, "bytes") == 0)
        return &ps_type_bytes;
    if (strcmp(tag, "int64") == 0)
        return &ps_type_int64;
    if (strcmp(tag, "point") == 0)
        return &xp_point_type;
    if (strcmp(tag, "record") == 0)
        return &ps_test_record_type;
    return NULL;
}

#endif /* PS_TEST_HELPER_RESOLVE_H */
