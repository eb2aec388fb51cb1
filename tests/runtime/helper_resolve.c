/*
 * helper_resolve.c — the consumer side of test_cross_process.c, run as a
 * separate program: it turns each descriptor it reads into a live proxy,
 * resolves it (re-creating the store from the descriptor), and checks every
 * byte and the hash.  Protocol and exit codes: helper_resolve.h.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "helper_resolve.h"

/* Check a resolved plain-data array against its pattern; returns the index
 * of the first wrong element, or count if all match. */
static size_t first_mismatch(const char *tag, uint64_t seed, const void *data, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        if (strcmp(tag, "bytes") == 0) {
            if (((const unsigned char *)data)[i] != xp_byte(seed, i))
                return i;
        } else if (strcmp(tag, "int64") == 0) {
            if (((const int64_t *)data)[i] != xp_int64(seed, i))
                return i;
        } else {
            /* Fields, not memcmp: padding bytes are whatever the producer had. */
            struct xp_point want = xp_point_at(seed, i);
            const struct xp_point *got = (const struct xp_point *)data + i;
            if (got->x != want.x || got->y != want.y || got->id != want.id)
                return i;
        }
    }
    return count;
}

/* The custom record: fields as made by xp_record_make, and the hash of its
 * serialized form. */
static int check_record(uint64_t seed, const struct ps_test_record *got, uint64_t *hash_out)
{
    struct ps_test_record *want = xp_record_make(seed);
    int ok = want && strcmp(got->label, want->label) == 0 && got->nvalues == want->nvalues &&
             memcmp(got->values, want->values, want->nvalues * sizeof(double)) == 0;
    ps_test_record_free(want);
    ps_buffer buf = {0};
    if (ps_test_record_serialize(got, &buf) != PS_OK)
        ok = 0;
    *hash_out = XXH3_64bits(buf.data, buf.len);
    free(buf.data);
    return ok;
}

/* One line; returns an XP_EXIT_* code. */
static int check_line(unsigned lineno, char *line)
{
    char tag[16];
    unsigned long long seed, count;
    uint64_t hash;
    int used = 0;
    if (sscanf(line, "%15s %llu %llu %" SCNx64 " %n", tag, &seed, &count, &hash, &used) != 4 || !used) {
        fprintf(stderr, "helper_resolve: line %u: expected 'TAG SEED COUNT HASH DESCRIPTOR'\n", lineno);
        return XP_EXIT_ERROR;
    }
    const ps_type *type = xp_type_of(tag);
    if (!type) {
        fprintf(stderr, "helper_resolve: line %u: unknown type tag '%s'\n", lineno, tag);
        return XP_EXIT_ERROR;
    }
    const char *descriptor = line + used;

    ps_proxy_t *p = ps_proxy_deserialize(descriptor, type);
    if (!p) {
        fprintf(stderr, "helper_resolve: line %u: cannot deserialize the descriptor: %s: %s\n", lineno,
                ps_status_name(ps_last_error_code()), ps_last_error_message());
        return XP_EXIT_ERROR;
    }
    int rc = XP_EXIT_OK;
    /* Facts the descriptor carries, before any resolve. */
    if (strcmp(ps_proxy_type_name(p), type->name) != 0 || ps_proxy_hash(p) != hash ||
        (type->flags & PS_TYPE_POD && ps_proxy_count(p) != count)) {
        printf("FAIL %s line %u: descriptor says type '%s' count %zu hash %016" PRIx64
               ", expected '%s' %llu %016" PRIx64 "\n", tag, lineno, ps_proxy_type_name(p),
               ps_proxy_count(p), ps_proxy_hash(p), type->name, count, hash);
        rc = XP_EXIT_MISMATCH;
    }
    void *data = ps_resolve_as(p, type->name, type->size);
    if (!data) {
        fprintf(stderr, "helper_resolve: line %u: cannot resolve %s: %s: %s\n", lineno,
                ps_proxy_key(p), ps_status_name(ps_last_error_code()), ps_last_error_message());
        ps_proxy_free(p);
        return XP_EXIT_ERROR;
    }
    uint64_t got_hash;
    if (type->flags & PS_TYPE_POD) {
        size_t n = ps_proxy_count(p);
        size_t bad = first_mismatch(tag, seed, data, n);
        got_hash = XXH3_64bits(data, n * type->size);
        if (bad != n) {
            printf("FAIL %s line %u: element %zu of %zu differs\n", tag, lineno, bad, n);
            rc = XP_EXIT_MISMATCH;
        }
    } else if (!check_record(seed, data, &got_hash)) {
        printf("FAIL %s line %u: record fields differ\n", tag, lineno);
        rc = XP_EXIT_MISMATCH;
    }
    if (got_hash != hash) {
        printf("FAIL %s line %u: payload hash %016" PRIx64 ", expected %016" PRIx64 "\n", tag, lineno,
               got_hash, hash);
        rc = XP_EXIT_MISMATCH;
    }
    if (rc == XP_EXIT_OK)
        printf("ok %s %llu %016" PRIx64 "\n", tag, count, hash);
    ps_proxy_free(p);
    return rc;
}

int main(void)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    unsigned lineno = 0;
    int rc = XP_EXIT_OK;
    while ((len = getline(&line, &cap, stdin)) >= 0) {
        lineno++;
        if (len > 0 && line[len - 1] == '\n')
            line[--len] = '\0';
        int r = check_line(lineno, line);
        if (r > rc)
            rc = r;
    }
    free(line);
    if (lineno == 0) {
        fprintf(stderr, "helper_resolve: no descriptors on stdin\n");
        rc = XP_EXIT_ERROR;
    }
    fflush(stdout);
    return rc;
}
