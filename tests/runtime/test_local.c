/*
 * test_local.c — the local:// connector through its operations table:
 * shared, reference-counted entries that outlive evicts, overwrites and the
 * connector itself; alignment; batches.
 */
#include <criterion/criterion.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "connector.h"

static ps_connector *conn;
static void setup(void) { cr_assert_eq(ps_connector_open("local://", &conn), PS_OK); }
TestSuite(local, .init = setup);

static void put_str(const char *key, const char *a, const char *b)
{
    ps_iov parts[2] = {{a, strlen(a)}, {b, strlen(b) + 1}};
    cr_assert_eq(conn->ops->put(conn, key, parts, 2), PS_OK);
}

Test(local, gather_put_and_get)
{
    put_str("k", "hello, ", "world");
    ps_blob blob;
    cr_assert_eq(conn->ops->get(conn, "k", &blob), PS_OK);
    cr_assert_str_eq(blob.data, "hello, world");
    cr_assert_eq(blob.len, 13);
    cr_assert_eq((uintptr_t)blob.data % 64, 0, "64-byte aligned");
    ps_blob_release(&blob);
    cr_assert_null(blob.data);
    conn->ops->close(conn);
}

Test(local, a_blob_outlives_evict_overwrite_and_close)
{
    put_str("k", "first", "");
    ps_blob a, b;
    cr_assert_eq(conn->ops->get(conn, "k", &a), PS_OK);
    put_str("k", "second", "");
    cr_assert_eq(conn->ops->get(conn, "k", &b), PS_OK);
    cr_assert_eq(conn->ops->evict(conn, "k"), PS_OK);
    conn->ops->close(conn);
    cr_assert_str_eq(a.data, "first", "readable after overwrite (checked by the sanitizer build)");
    cr_assert_str_eq(b.data, "second", "readable after evict and close");
    ps_blob_release(&a);
    ps_blob_release(&b);
}

Test(local, missing_and_exists)
{
    ps_blob blob = {.data = (void *)1};
    cr_assert_eq(conn->ops->get(conn, "nope", &blob), PS_ERR_NOT_FOUND);
    cr_assert_null(blob.data);
    cr_assert(strstr(ps_last_error_message(), "nope"));
    bool e = true;
    cr_assert_eq(conn->ops->exists(conn, "nope", &e), PS_OK);
    cr_assert_not(e);
    cr_assert_eq(conn->ops->evict(conn, "nope"), PS_OK);
    put_str("yes", "1", "");
    cr_assert_eq(conn->ops->exists(conn, "yes", &e), PS_OK);
    cr_assert(e);
    conn->ops->close(conn);
}

Test(local, batches)
{
    enum { N = 500 }; /* enough to grow the table several times */
    static char keys[N][16], vals[N][16];
    const char *kp[N];
    ps_iov iov[N][1];
    const ps_iov *parts[N];
    size_t nparts[N];
    for (int i = 0; i < N; i++) {
        snprintf(keys[i], sizeof keys[i], "key%d", i);
        snprintf(vals[i], sizeof vals[i], "val%d", i);
        kp[i] = keys[i];
        iov[i][0] = (ps_iov){vals[i], strlen(vals[i]) + 1};
        parts[i] = iov[i];
        nparts[i] = 1;
    }
    cr_assert_eq(conn->ops->put_batch(conn, N, kp, parts, nparts), PS_OK);
    const char *ask[] = {"key0", "missing", "key499", "key250"};
    ps_blob out[4];
    cr_assert_eq(conn->ops->get_batch(conn, 4, ask, out), PS_OK);
    cr_assert_str_eq(out[0].data, "val0");
    cr_assert_null(out[1].data);
    cr_assert_null(out[1].release);
    cr_assert_str_eq(out[2].data, "val499");
    cr_assert_str_eq(out[3].data, "val250");
    for (int i = 0; i < 4; i++)
        ps_blob_release(&out[i]);
    bool e[4];
    cr_assert_eq(conn->ops->exists_batch(conn, 4, ask, e), PS_OK);
    cr_assert(e[0] && !e[1] && e[2] && e[3]);
    cr_assert_eq(conn->ops->evict_batch(conn, 4, ask), PS_OK);
    cr_assert_eq(conn->ops->exists_batch(conn, 4, ask, e), PS_OK);
    cr_assert(!e[0] && !e[1] && !e[2] && !e[3]);
    for (int i = 1; i < N; i++) {
        if (i == 499 || i == 250)
            continue;
        cr_assert_eq(conn->ops->exists(conn, keys[i], &e[0]), PS_OK);
        cr_assert(e[0], "%s", keys[i]);
    }
    conn->ops->close(conn);
}

Test(local, urls)
{
    ps_connector *c;
    cr_assert_eq(ps_connector_open("local://somewhere", &c), PS_ERR_BAD_URL);
    cr_assert(strstr(ps_last_error_message(), "local://somewhere"));
    cr_assert_eq(ps_connector_open("local:///path", &c), PS_ERR_BAD_URL);
    cr_assert_eq(ps_connector_open("local://?a=b", &c), PS_ERR_BAD_URL);
    cr_assert_eq(ps_connector_open("LOCAL://", &c), PS_OK, "schemes are case-insensitive");
    c->ops->close(c);
    cr_assert_eq(ps_connector_open("nfs://x", &c), PS_ERR_BAD_URL);
    cr_assert(strstr(ps_last_error_message(), "known: local, shm, file, redis"));
    cr_assert_eq(ps_connector_open(NULL, &c), PS_ERR_BAD_URL);
    conn->ops->close(conn);
}

/* Whether the mapping that holds p is marked for transparent huge pages
 * (VmFlags "hg" in /proc/self/smaps: madvise(MADV_HUGEPAGE) was called). */
static bool marked_huge(const void *p)
{
    FILE *f = fopen("/proc/self/smaps", "r");
    cr_assert_not_null(f);
    char line[512];
    bool inside = false, huge = false;
    while (fgets(line, sizeof line, f)) {
        unsigned long lo, hi;
        if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 && strchr(line, '-') < strchr(line, ' '))
            inside = (uintptr_t)p >= lo && (uintptr_t)p < hi;
        else if (inside && strncmp(line, "VmFlags:", 8) == 0)
            huge = strstr(line, " hg") != NULL;
    }
    fclose(f);
    return huge;
}

/* mpi:// puts its large objects on huge pages (ps_local_huge_from); a
 * plain local:// store keeps them on the heap below 32 MiB. */
Test(local, large_objects_on_huge_pages_from_the_size_asked)
{
    size_t n = (size_t)5 << 20;
    char *big = calloc(1, n);
    cr_assert_not_null(big);
    ps_connector *plain, *huge;
    cr_assert_eq(ps_connector_open("local://", &plain), PS_OK);
    cr_assert_eq(ps_connector_open("local://", &huge), PS_OK);
    ps_local_huge_from(huge, (size_t)4 << 20);
    ps_iov part = {big, n};
    cr_assert_eq(plain->ops->put(plain, "k", &part, 1), PS_OK);
    cr_assert_eq(huge->ops->put(huge, "k", &part, 1), PS_OK);
    ps_blob a = {0}, b = {0};
    cr_assert_eq(plain->ops->get(plain, "k", &a), PS_OK);
    cr_assert_eq(huge->ops->get(huge, "k", &b), PS_OK);
    cr_assert_eq(b.len, n);
    cr_assert_not(marked_huge(a.data), "a plain local:// object of 5 MiB is on huge pages");
    cr_assert(marked_huge(b.data), "an object of 5 MiB is not on huge pages after ps_local_huge_from(4 MiB)");
    ps_blob_release(&a);
    ps_blob_release(&b);
    plain->ops->close(plain);
    huge->ops->close(huge);
    free(big);
}
