/*
 * mpi_contract.c — the connector contract for mpi://, across the ranks of
 * one job (tests/mpi/mpi.cmake runs it under mpirun -n 2 and -n 4).
 *
 * Criterion runs each test in a forked child, where MPI does not work, so
 * this is a plain MPI program: every rank runs every check in order, with
 * barriers between them, counts what failed, and rank 0 prints the total as
 * "N passed, N failed".  The exit status is non-zero when anything failed
 * on any rank.  An alarm bounds the whole run, so a hang fails the test.
 *
 *   mpi_contract          same-node ranks read each other's arenas (the
 *                         default: all ranks share a node under the test)
 *   mpi_contract heap     every store opened with ?arena=0: every object on
 *                         its owner's heap, every read through the owner's
 *                         service thread (the path across nodes)
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

#include <mpi.h>

#include <proxystore/mpi.h>
#include <proxystore/proxystore.h>

#include "connector_mpi.h"
#include "dir_entries.h"
#include "object.h"
#include "store.h"
#include "test_record.h"

static int rank, size;
static atomic_int checks, failures;
static ps_store *store;
static bool heap_only; /* "heap": ?arena=0 on every store */

#define CHECK(cond, ...)                                                                        \
    do {                                                                                        \
        atomic_fetch_add(&checks, 1);                                                           \
        if (!(cond)) {                                                                          \
            atomic_fetch_add(&failures, 1);                                                     \
            fprintf(stderr, "rank %d: %s:%d: %s failed: ", rank, __FILE__, __LINE__, #cond);    \
            fprintf(stderr, __VA_ARGS__);                                                       \
            fprintf(stderr, " [last error: %s]\n", ps_last_error_message());                   \
        }                                                                                       \
    } while (0)

static void fill(unsigned char *p, size_t n, unsigned seed)
{
    uint32_t x = seed * 2654435761u + 1;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13, x ^= x >> 17, x ^= x << 5;
        p[i] = (unsigned char)x;
    }
}

static unsigned char *patterned(size_t n, unsigned seed)
{
    unsigned char *p = malloc(n ? n : 1);
    if (!p) {
        fprintf(stderr, "out of memory\n");
        MPI_Abort(MPI_COMM_WORLD, 2);
    }
    fill(p, n, seed);
    return p;
}

/* The URL base, with ?arena=0 added in heap mode (params: more, or ""). */
static const char *url_of(const char *base, const char *params)
{
    static __thread char url[256];
    const char *sep = strchr(base, '?') ? "&" : "?";
    if (heap_only && strncmp(params, "arena=", 6) == 0)
        params = ""; /* heap mode keeps ?arena=0 */
    if (heap_only)
        snprintf(url, sizeof url, "%s%sarena=0%s%s", base, sep, *params ? "&" : "", params);
    else
        snprintf(url, sizeof url, "%s%s%s", base, *params ? sep : "", params);
    return url;
}

/* Every rank's key, gathered on every rank: keys[r] is rank r's. */
static void gather_keys(const char mine[PS_KEY_MAX], char (*keys)[PS_KEY_MAX])
{
    MPI_Allgather(mine, PS_KEY_MAX, MPI_CHAR, keys, PS_KEY_MAX, MPI_CHAR, MPI_COMM_WORLD);
}

/* -------------------------------------------------------------- checks */

/* Each rank puts; every rank reads every rank's object; keys name ranks. */
static void put_here_get_everywhere(void)
{
    size_t n = 1000 + (size_t)rank * 17;
    double *values = malloc(n * sizeof *values);
    for (size_t i = 0; i < n; i++)
        values[i] = (double)rank * 1e6 + (double)i * 0.5;
    char mine[PS_KEY_MAX];
    CHECK(ps_store_put(store, &ps_type_double, values, n, mine) == PS_OK, "put");
    char prefix[32];
    snprintf(prefix, sizeof prefix, ".%d.", rank);
    CHECK(strncmp(mine, "mpi.", 4) == 0 && strstr(mine, prefix), "key '%s' names rank %d", mine, rank);
    char keys[64][PS_KEY_MAX];
    gather_keys(mine, keys);
    for (int r = 0; r < size; r++) {
        size_t count = 0;
        double *got = ps_store_get(store, keys[r], &ps_type_double, &count);
        CHECK(got != NULL, "get rank %d's object %s", r, keys[r]);
        if (!got)
            continue;
        CHECK(count == 1000 + (size_t)r * 17, "count %zu from rank %d", count, r);
        bool same = true;
        for (size_t i = 0; i < count; i++)
            same = same && got[i] == (double)r * 1e6 + (double)i * 0.5;
        CHECK(same, "values from rank %d", r);
        CHECK((uintptr_t)got % _Alignof(double) == 0, "alignment");
        ps_object_free(&ps_type_double, got);
        bool exists = false;
        CHECK(ps_store_exists(store, keys[r], &exists) == PS_OK && exists, "exists rank %d's", r);
    }
    MPI_Barrier(MPI_COMM_WORLD);
    /* Each rank evicts the next rank's object: the evict reaches the owner. */
    int next = (rank + 1) % size;
    CHECK(ps_store_evict(store, keys[next]) == PS_OK, "evict rank %d's object", next);
    MPI_Barrier(MPI_COMM_WORLD);
    for (int r = 0; r < size; r++) {
        bool exists = true;
        CHECK(ps_store_exists(store, keys[r], &exists) == PS_OK && !exists, "rank %d's object is gone", r);
        CHECK(ps_store_get(store, keys[r], &ps_type_double, NULL) == NULL &&
              ps_last_error_code() == PS_ERR_NOT_FOUND, "get of an evicted object");
        char owner[32];
        snprintf(owner, sizeof owner, "rank %d", r);
        CHECK(strstr(ps_last_error_message(), keys[r]) && strstr(ps_last_error_message(), owner),
              "message names the key and its owner: %s", ps_last_error_message());
    }
    free(values);
    MPI_Barrier(MPI_COMM_WORLD);
}

/* Keys the caller chose name no rank: every rank is asked. */
static void chosen_keys(void)
{
    char key[64];
    int owner = size - 1;
    snprintf(key, sizeof key, "user:obj-%d", owner);
    int64_t v[5] = {5, 4, 3, 2, (int64_t)owner};
    if (rank == owner)
        CHECK(ps_store_put_key(store, key, &ps_type_int64, v, 5) == PS_OK, "put_key");
    MPI_Barrier(MPI_COMM_WORLD);
    size_t count = 0;
    int64_t *got = ps_store_get(store, key, &ps_type_int64, &count);
    CHECK(got && count == 5 && memcmp(got, v, sizeof v) == 0, "get of a chosen key from rank %d", owner);
    free(got);
    bool exists = false;
    CHECK(ps_store_exists(store, key, &exists) == PS_OK && exists, "exists of a chosen key");
    MPI_Barrier(MPI_COMM_WORLD);
    if (rank == 0)
        CHECK(ps_store_evict(store, key) == PS_OK, "evict of a chosen key from rank 0");
    MPI_Barrier(MPI_COMM_WORLD);
    CHECK(ps_store_exists(store, key, &exists) == PS_OK && !exists, "chosen key gone everywhere");
    CHECK(ps_store_get(store, key, &ps_type_int64, NULL) == NULL && ps_last_error_code() == PS_ERR_NOT_FOUND &&
          strstr(ps_last_error_message(), "any rank"), "missing chosen key: %s", ps_last_error_message());
    MPI_Barrier(MPI_COMM_WORLD);
}

/* Requests the service threads of all ranks answered since the last call
 * (collective). */
static unsigned long long served_everywhere(void)
{
    static unsigned long long last;
    MPI_Barrier(MPI_COMM_WORLD);
    unsigned long long mine = ps_mpi_requests_served(), sum = 0;
    MPI_Allreduce(&mine, &sum, 1, MPI_UNSIGNED_LONG_LONG, MPI_SUM, MPI_COMM_WORLD);
    unsigned long long since = sum - last;
    last = sum;
    return since;
}

static ps_store *open_uncached(const char *name, const char *url);

/* Threads claiming every key of a list, each starting elsewhere. */
typedef struct chosen_race {
    ps_store *s;
    char (*keys)[PS_KEY_MAX];
    int n;
    atomic_int won;
} chosen_race;

static void *chosen_claimer(void *arg)
{
    chosen_race *race = arg;
    static atomic_int started;
    int id = atomic_fetch_add(&started, 1);
    for (int k = 0; k < race->n; k++) {
        bool claimed = false;
        CHECK(ps_store_claim(race->s, race->keys[(k + id * 5) % race->n], &claimed) == PS_OK, "claim");
        atomic_fetch_add(&race->won, claimed);
    }
    return NULL;
}

/* The int64 object under key (its first value), or -1. */
static int64_t chosen_value(ps_store *s, const char *key)
{
    int64_t *got = ps_store_get(s, key, &ps_type_int64, NULL);
    int64_t v = got ? *got : -1;
    free(got);
    return v;
}

/*
 * Keys the caller chose, on the same-node path: read, exists, evict, claim
 * and expiry in the arenas of the ranks that put them, with no message to
 * any rank when every rank has an arena (every rank puts first); with
 * ?arena=0 every rank is asked, as across nodes.  Two ranks putting one
 * key: the lowest rank's object wins on the other ranks, also when the
 * lower one's is on its heap (too big for its arena) and the higher one's
 * in an arena; an evict removes both.
 */
static void chosen_keys_in_place(void)
{
    enum { BIG = 3 << 20, RACED = 16, CLAIMERS = 2 };
    ps_store *s = open_uncached("chosen", url_of("mpi://chosen", "arena=1M"));
    if (!s)
        return;
    char made[PS_KEY_MAX];
    int64_t v = 1000 + rank;
    CHECK(ps_store_put(s, &ps_type_int64, &v, 1, made) == PS_OK, "put (this rank's arena)");
    int owner = size > 2 ? 1 : size - 1, last = size - 1;
    if (rank == owner)
        CHECK(ps_store_put_key(s, "pick-one", &ps_type_int64, &v, 1) == PS_OK, "put_key");
    served_everywhere();
    if (rank != owner) {
        CHECK(chosen_value(s, "pick-one") == 1000 + owner, "rank %d reads rank %d's chosen key", rank, owner);
        bool exists = false;
        CHECK(ps_store_exists(s, "pick-one", &exists) == PS_OK && exists, "exists of a chosen key");
        const char *two[2] = {"pick-one", "pick-none"};
        bool both[2] = {false, true};
        CHECK(ps_store_exists_batch(s, 2, two, both) == PS_OK && both[0] && !both[1], "exists_batch");
        void *got[2] = {0};
        size_t counts[2] = {0};
        CHECK(ps_store_get_batch(s, &ps_type_int64, 2, two, got, counts) == PS_OK && got[0] && !got[1] &&
              counts[0] == 1 && *(int64_t *)got[0] == 1000 + owner, "get_batch of a chosen key");
        free(got[0]);
    }
    unsigned long long asked = served_everywhere();
    if (heap_only)
        CHECK(asked > 0, "with ?arena=0 the ranks are asked (%llu requests)", asked);
    else
        CHECK(asked == 0, "read from the owner's arena with no message (%llu requests)", asked);

    /* Rank 0 evicts it: gone for every rank, with no message either. */
    if (rank == 0 && owner != 0)
        CHECK(ps_store_evict(s, "pick-one") == PS_OK, "evict of a chosen key from rank 0");
    asked = served_everywhere();
    CHECK(heap_only || asked == 0, "evicted in the owner's arena (%llu requests)", asked);
    bool exists = true;
    CHECK(ps_store_exists(s, "pick-one", &exists) == PS_OK && !exists, "evicted everywhere");

    /* Two ranks put one key; the lower one's object is on its heap. */
    int low = size > 2 ? 1 : 0;
    if (rank == low || rank == last) {
        unsigned char *big = patterned(BIG, 31);
        int64_t *obj = (int64_t *)big;
        obj[0] = 1000 + rank;
        size_t count = rank == low ? BIG / sizeof *obj : 1;
        CHECK(ps_store_put_key(s, "pick-two", &ps_type_int64, obj, count) == PS_OK, "put_key of %zu", count);
        free(big);
    }
    MPI_Barrier(MPI_COMM_WORLD);
    int64_t want = rank == last ? 1000 + last : 1000 + low;
    int64_t got = chosen_value(s, "pick-two");
    CHECK(got == want, "rank %d reads %lld of pick-two, not %lld", rank, (long long)got, (long long)want);
    MPI_Barrier(MPI_COMM_WORLD);
    /* Both in arenas: the lower one wins, with no message. */
    if (rank == low)
        CHECK(ps_store_put_key(s, "pick-two", &ps_type_int64, &v, 1) == PS_OK, "put_key into the arena");
    served_everywhere();
    got = chosen_value(s, "pick-two");
    CHECK(got == want, "rank %d reads %lld of pick-two, not %lld", rank, (long long)got, (long long)want);
    asked = served_everywhere();
    CHECK(heap_only || asked == 0, "the lowest arena's object, with no message (%llu requests)", asked);
    if (rank == size / 2)
        CHECK(ps_store_evict(s, "pick-two") == PS_OK, "evict of a key two ranks hold");
    MPI_Barrier(MPI_COMM_WORLD);
    exists = true;
    CHECK(ps_store_exists(s, "pick-two", &exists) == PS_OK && !exists, "every rank's object is gone");
    MPI_Barrier(MPI_COMM_WORLD);

    /* The lower one has no arena (its first store on the space said
     * ?arena=0): it is asked, and its object wins over the higher one's
     * view. */
    ps_store *mixed = open_uncached("chosen-mixed", rank == low ? "mpi://chosen-mixed?arena=0"
                                                                : url_of("mpi://chosen-mixed", ""));
    if (mixed && (rank == low || rank == last))
        CHECK(ps_store_put_key(mixed, "pick-mixed", &ps_type_int64, &v, 1) == PS_OK, "put_key");
    MPI_Barrier(MPI_COMM_WORLD);
    got = mixed ? chosen_value(mixed, "pick-mixed") : -1;
    CHECK(got == want, "rank %d reads %lld of pick-mixed, not %lld", rank, (long long)got, (long long)want);
    MPI_Barrier(MPI_COMM_WORLD);
    if (mixed && rank == 0)
        CHECK(ps_store_evict(mixed, "pick-mixed") == PS_OK, "evict");
    MPI_Barrier(MPI_COMM_WORLD);
    exists = true;
    CHECK(mixed && ps_store_exists(mixed, "pick-mixed", &exists) == PS_OK && !exists, "gone on every rank");
    MPI_Barrier(MPI_COMM_WORLD);
    ps_store_close(mixed);

    /* A past expiry set from another rank makes it missing everywhere. */
    if (rank == owner)
        CHECK(ps_store_put_key(s, "pick-expiring", &ps_type_int64, &v, 1) == PS_OK, "put_key");
    served_everywhere();
    if (rank == 0 && owner != 0)
        CHECK(ps_store_set_expiry(s, "pick-expiring", ps_unix_ms() - 1) == PS_OK, "a past expiry from afar");
    asked = served_everywhere();
    CHECK(heap_only || asked == 0, "expiry set in the owner's arena (%llu requests)", asked);
    exists = true;
    CHECK(ps_store_exists(s, "pick-expiring", &exists) == PS_OK && !exists, "an expired chosen key is missing");

    /* Every rank claims every chosen key at once: each is won once. */
    char (*keys)[PS_KEY_MAX] = malloc(RACED * PS_KEY_MAX);
    for (int k = 0; k < RACED; k++) {
        snprintf(keys[k], PS_KEY_MAX, "pick-raced-%d", k);
        if (k % size == rank)
            CHECK(ps_store_put_key(s, keys[k], &ps_type_int64, &v, 1) == PS_OK, "put_key %s", keys[k]);
    }
    MPI_Barrier(MPI_COMM_WORLD);
    chosen_race race = {s, keys, RACED, 0};
    pthread_t t[CLAIMERS];
    for (int i = 0; i < CLAIMERS; i++)
        pthread_create(&t[i], NULL, chosen_claimer, &race);
    for (int i = 0; i < CLAIMERS; i++)
        pthread_join(t[i], NULL);
    int mine_won = atomic_load(&race.won), total = 0;
    MPI_Allreduce(&mine_won, &total, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    CHECK(total == RACED, "%d claims won for %d chosen keys", total, RACED);
    free(keys);
    MPI_Barrier(MPI_COMM_WORLD);
    ps_store_evict(s, made);
    MPI_Barrier(MPI_COMM_WORLD);
    ps_store_close(s);
}

/* Missing keys, routed and not; keys of another job. */
static void missing_and_foreign(void)
{
    char mine[PS_KEY_MAX];
    int32_t x = 7;
    CHECK(ps_store_put(store, &ps_type_int32, &x, 1, mine) == PS_OK, "put");
    /* The same job and rank, another object. */
    char missing[PS_KEY_MAX];
    snprintf(missing, sizeof missing, "%.*s00000000000000000000000000000000", (int)(strrchr(mine, '.') - mine + 1),
             mine);
    char keys[64][PS_KEY_MAX];
    gather_keys(missing, keys);
    int peer = (rank + 1) % size;
    CHECK(ps_store_get(store, keys[peer], &ps_type_int32, NULL) == NULL && ps_last_error_code() == PS_ERR_NOT_FOUND,
          "missing routed key");
    bool exists = true;
    CHECK(ps_store_exists(store, keys[peer], &exists) == PS_OK && !exists, "exists of a missing routed key");
    CHECK(ps_store_evict(store, keys[peer]) == PS_OK, "evicting a missing key succeeds");
    CHECK(ps_store_get(store, "never-put", &ps_type_int32, NULL) == NULL && ps_last_error_code() == PS_ERR_NOT_FOUND,
          "never-put");

    /* Another job: the same key with another job id. */
    char foreign[PS_KEY_MAX];
    snprintf(foreign, sizeof foreign, "%s", mine);
    foreign[4] = foreign[4] == '0' ? '1' : '0';
    CHECK(ps_store_get(store, foreign, &ps_type_int32, NULL) == NULL && ps_last_error_code() == PS_ERR_NOT_FOUND &&
          strstr(ps_last_error_message(), "another MPI job"), "foreign key: %s", ps_last_error_message());
    CHECK(ps_store_exists(store, foreign, &exists) == PS_OK && !exists, "foreign key does not exist");
    /* A rank the job does not have. */
    char beyond[PS_KEY_MAX];
    snprintf(beyond, sizeof beyond, "mpi.%.16s.%d.00000000000000000000000000000000", mine + 4, size + 3);
    CHECK(ps_store_get(store, beyond, &ps_type_int32, NULL) == NULL && ps_last_error_code() == PS_ERR_NOT_FOUND &&
          strstr(ps_last_error_message(), "rank this job does not have"), "rank beyond: %s",
          ps_last_error_message());

    /* A descriptor from another job resolves to a clear error. */
    ps_proxy_t *p = ps_proxy(store, &ps_type_int32, &x);
    char *desc = p ? ps_proxy_serialize(p) : NULL;
    CHECK(desc != NULL, "serialize");
    if (desc) {
        char *job = strstr(desc, "key=mpi.");
        if (job)
            job[8] = job[8] == 'a' ? 'b' : 'a';
        ps_proxy_t *q = ps_proxy_deserialize(desc, &ps_type_int32);
        CHECK(q != NULL, "a foreign descriptor still parses");
        CHECK(q && ps_resolve(q) == NULL && ps_last_error_code() == PS_ERR_NOT_FOUND &&
              strstr(ps_last_error_message(), "another MPI job"), "resolving it: %s", ps_last_error_message());
        if (q)
            ps_proxy_free(q);
    }
    free(desc);
    if (p)
        ps_proxy_evict(p);
    ps_store_evict(store, mine);
    MPI_Barrier(MPI_COMM_WORLD);
}

/* Batches spanning every rank, with missing keys between. */
static void batches(void)
{
    enum { N = 12 };
    void *objs[N];
    size_t counts[N];
    for (int i = 0; i < N; i++) {
        counts[i] = (size_t)(i * 331 % 3000);
        objs[i] = patterned(counts[i], (unsigned)(rank * 100 + i));
    }
    char mine[N][PS_KEY_MAX];
    CHECK(ps_store_put_batch(store, &ps_type_bytes, N, (const void *const *)objs, counts, mine) == PS_OK,
          "put_batch");
    char (*all)[PS_KEY_MAX] = malloc((size_t)size * N * PS_KEY_MAX);
    MPI_Allgather(mine, N * PS_KEY_MAX, MPI_CHAR, all, N * PS_KEY_MAX, MPI_CHAR, MPI_COMM_WORLD);
    size_t total = (size_t)size * N * 2;
    const char **ask = malloc(total * sizeof *ask);
    for (size_t i = 0; i < (size_t)size * N; i++) {
        ask[2 * i] = all[i];
        ask[2 * i + 1] = "missing-key";
    }
    void **got = malloc(total * sizeof *got);
    size_t *got_counts = malloc(total * sizeof *got_counts);
    CHECK(ps_store_get_batch(store, &ps_type_bytes, total, ask, got, got_counts) == PS_OK, "get_batch");
    for (int r = 0; r < size; r++)
        for (int i = 0; i < N; i++) {
            size_t at = 2 * ((size_t)r * N + (size_t)i);
            size_t want = (size_t)(i * 331 % 3000);
            unsigned char *expect = patterned(want, (unsigned)(r * 100 + i));
            CHECK(got[at] && got_counts[at] == want && memcmp(got[at], expect, want) == 0,
                  "batch object %d of rank %d", i, r);
            CHECK(got[at + 1] == NULL, "a missing key gives NULL");
            free(expect);
            ps_object_free(&ps_type_bytes, got[at]);
        }
    bool *exists = malloc(total * sizeof *exists);
    CHECK(ps_store_exists_batch(store, total, ask, exists) == PS_OK, "exists_batch");
    for (size_t i = 0; i < total; i++)
        CHECK(exists[i] == (i % 2 == 0), "exists[%zu]", i);
    MPI_Barrier(MPI_COMM_WORLD);
    /* Each rank evicts the first half of the next rank's batch. */
    const char *evict[N / 2];
    int next = (rank + 1) % size;
    for (int i = 0; i < N / 2; i++)
        evict[i] = all[(size_t)next * N + (size_t)i];
    CHECK(ps_store_evict_batch(store, N / 2, evict) == PS_OK, "evict_batch");
    MPI_Barrier(MPI_COMM_WORLD);
    CHECK(ps_store_exists_batch(store, total, ask, exists) == PS_OK, "exists_batch after evict");
    for (size_t i = 0; i < (size_t)size * N; i++)
        CHECK(exists[2 * i] == (i % N >= N / 2), "object %zu after the evict", i);
    /* custom objects in a batch */
    struct ps_test_record rec = {.label = "ranked", .nvalues = 3, .values = (double[]){1, 2, (double)rank}};
    char rkey[PS_KEY_MAX];
    CHECK(ps_store_put(store, &ps_test_record_type, &rec, 1, rkey) == PS_OK, "put custom");
    char rkeys[64][PS_KEY_MAX];
    gather_keys(rkey, rkeys);
    const char *rask[64];
    void *recs[64];
    for (int r = 0; r < size; r++)
        rask[r] = rkeys[r];
    CHECK(ps_store_get_batch(store, &ps_test_record_type, (size_t)size, rask, recs, NULL) == PS_OK, "custom batch");
    for (int r = 0; r < size; r++) {
        struct ps_test_record *g = recs[r];
        CHECK(g && strcmp(g->label, "ranked") == 0 && g->nvalues == 3 && g->values[2] == (double)r,
              "custom object of rank %d", r);
        ps_object_free(&ps_test_record_type, recs[r]);
    }
    MPI_Barrier(MPI_COMM_WORLD);
    ps_store_evict(store, rkey);
    for (int i = 0; i < N; i++) {
        ps_store_evict(store, mine[i]);
        free(objs[i]);
    }
    free(all), free(ask), free(got), free(got_counts), free(exists);
    MPI_Barrier(MPI_COMM_WORLD);
}

/* A large object through a proxy descriptor, resolved on every other rank. */
static void large_through_descriptor(void)
{
    size_t n = (size_t)64 << 20;
    unsigned char *big = rank == 0 ? patterned(n, 77) : NULL;
    ps_proxy_t *p = rank == 0 ? ps_proxy_array(store, &ps_type_bytes, big, n) : NULL;
    char desc[4096] = "";
    if (rank == 0) {
        char *d = p ? ps_proxy_serialize(p) : NULL;
        CHECK(d != NULL, "serialize");
        if (d)
            snprintf(desc, sizeof desc, "%s", d);
        free(d);
    }
    MPI_Bcast(desc, sizeof desc, MPI_CHAR, 0, MPI_COMM_WORLD);
    if (rank != 0) {
        ps_proxy_t *q = ps_proxy_deserialize(desc, &ps_type_bytes);
        CHECK(q != NULL, "deserialize on rank %d", rank);
        if (q) {
            CHECK(ps_proxy_size(q) == n, "size without resolving");
            const unsigned char *got = ps_resolve(q);
            unsigned char *expect = patterned(n, 77);
            CHECK(got && XXH3_64bits(got, n) == ps_proxy_hash(q) && memcmp(got, expect, n) == 0,
                  "64 MiB resolved on rank %d", rank);
            free(expect);
            ps_proxy_free(q);
        }
    }
    MPI_Barrier(MPI_COMM_WORLD);
    if (p)
        CHECK(ps_proxy_evict(p) == PS_OK, "evict");
    free(big);
    MPI_Barrier(MPI_COMM_WORLD);
}

/* Threads on every rank at once: their own objects and the other ranks'. */
enum { THREADS = 4, ROUNDS = 25 };
static char (*shared_keys)[PS_KEY_MAX];

static void *worker(void *arg)
{
    int id = (int)(intptr_t)arg;
    for (int round = 0; round < ROUNDS; round++) {
        size_t n = (size_t)((id * 7919 + round * 104729 + rank * 31) % 70000);
        unsigned char *data = patterned(n, (unsigned)(rank * 10000 + id * 100 + round));
        char key[PS_KEY_MAX];
        CHECK(ps_store_put(store, &ps_type_bytes, data, n, key) == PS_OK, "thread put");
        size_t count = 0;
        unsigned char *got = ps_store_get(store, key, &ps_type_bytes, &count);
        CHECK(got && count == n && memcmp(got, data, n) == 0, "thread get of its own object");
        free(got);
        int r = (rank + 1 + round) % size;
        got = ps_store_get(store, shared_keys[r], &ps_type_bytes, &count);
        unsigned char *expect = patterned(50000, (unsigned)r);
        CHECK(got && count == 50000 && memcmp(got, expect, 50000) == 0, "thread get of rank %d's object", r);
        free(got);
        free(expect);
        CHECK(ps_store_evict(store, key) == PS_OK, "thread evict");
        free(data);
    }
    return NULL;
}

static void threads(void)
{
    unsigned char *mine = patterned(50000, (unsigned)rank);
    char key[PS_KEY_MAX];
    CHECK(ps_store_put(store, &ps_type_bytes, mine, 50000, key) == PS_OK, "put");
    shared_keys = malloc((size_t)size * PS_KEY_MAX);
    gather_keys(key, shared_keys);
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++)
        pthread_create(&t[i], NULL, worker, (void *)(intptr_t)i);
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    MPI_Barrier(MPI_COMM_WORLD);
    ps_store_evict(store, key);
    free(shared_keys);
    free(mine);
    MPI_Barrier(MPI_COMM_WORLD);
}

/* Rank 0 evicts an object while the others fetch it in a loop: every fetch
 * gets the whole object or PS_ERR_NOT_FOUND, never part of one. */
static atomic_int whole, gone, torn;
static char race_key[PS_KEY_MAX];
enum { RACE_BYTES = 4 << 20 };

enum { TAG_FETCHING = 77 };

/* Fetch until the object is gone (at most 60 s); the first racer on rank 1
 * tells rank 0 when it has fetched the object whole once, so the evict
 * lands while fetches are under way. */
static void *racer(void *arg)
{
    bool signals = (intptr_t)arg != 0;
    unsigned char *expect = patterned(RACE_BYTES, 99);
    double until = MPI_Wtime() + 60;
    while (MPI_Wtime() < until) {
        size_t count = 0;
        unsigned char *got = ps_store_get(store, race_key, &ps_type_bytes, &count);
        if (!got) {
            if (ps_last_error_code() == PS_ERR_NOT_FOUND)
                atomic_fetch_add(&gone, 1);
            else
                atomic_fetch_add(&torn, 1);
            break;
        }
        if (count == RACE_BYTES && memcmp(got, expect, RACE_BYTES) == 0)
            atomic_fetch_add(&whole, 1);
        else
            atomic_fetch_add(&torn, 1);
        free(got);
        if (signals) {
            int one = 1;
            MPI_Send(&one, 1, MPI_INT, 0, TAG_FETCHING, MPI_COMM_WORLD);
            signals = false;
        }
    }
    free(expect);
    return NULL;
}

static void evict_races_fetch(void)
{
    unsigned char *big = rank == 0 ? patterned(RACE_BYTES, 99) : NULL;
    if (rank == 0)
        CHECK(ps_store_put(store, &ps_type_bytes, big, RACE_BYTES, race_key) == PS_OK, "put");
    MPI_Bcast(race_key, PS_KEY_MAX, MPI_CHAR, 0, MPI_COMM_WORLD);
    pthread_t t[2];
    if (rank != 0)
        for (int i = 0; i < 2; i++)
            pthread_create(&t[i], NULL, racer, (void *)(intptr_t)(rank == 1 && i == 0));
    if (rank == 0) {
        int one;
        MPI_Recv(&one, 1, MPI_INT, 1, TAG_FETCHING, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        CHECK(ps_store_evict(store, race_key) == PS_OK, "evict during fetches");
    }
    if (rank != 0) {
        for (int i = 0; i < 2; i++)
            pthread_join(t[i], NULL);
        CHECK(atomic_load(&torn) == 0, "%d fetches saw a partial object or another error", atomic_load(&torn));
        CHECK(atomic_load(&gone) == 2, "both fetch loops ended on PS_ERR_NOT_FOUND (%d)", atomic_load(&gone));
        if (rank == 1)
            CHECK(atomic_load(&whole) >= 1, "a whole fetch before the evict");
        fprintf(stderr, "rank %d: %d whole fetches before the evict\n", rank, atomic_load(&whole));
    }
    free(big);
    MPI_Barrier(MPI_COMM_WORLD);
}

/* A peer that stops answering: the wait is bounded by the URL's timeout.
 * The last rank stops itself with SIGSTOP and rank 0 continues it (the
 * ranks share a node under the test's mpirun). */
static void bounded_wait(void)
{
    int victim = size - 1;
    char key[PS_KEY_MAX];
    int32_t x = 1;
    ps_store *quick = ps_store_open("quick", url_of("mpi://quick", "timeout=300"), NULL);
    CHECK(quick != NULL, "open with a timeout");
    if (!quick)
        return;
    if (rank == victim)
        CHECK(ps_store_put(quick, &ps_type_int32, &x, 1, key) == PS_OK, "put");
    MPI_Bcast(key, PS_KEY_MAX, MPI_CHAR, victim, MPI_COMM_WORLD);
    int pid = getpid();
    MPI_Bcast(&pid, 1, MPI_INT, victim, MPI_COMM_WORLD);
    MPI_Barrier(MPI_COMM_WORLD);
    if (rank == victim) {
        raise(SIGSTOP);
    } else if (rank == 0) {
        /* wait until the victim is stopped */
        char path[64], state = 0;
        snprintf(path, sizeof path, "/proc/%d/stat", pid);
        for (int i = 0; i < 500 && state != 'T'; i++) {
            FILE *f = fopen(path, "r");
            if (f) {
                if (fscanf(f, "%*d (%*[^)]) %c", &state) != 1)
                    state = 0;
                fclose(f);
            }
            if (state != 'T') {
                struct timespec ts = {0, 10 * 1000 * 1000};
                nanosleep(&ts, NULL);
            }
        }
        CHECK(state == 'T', "rank %d stopped", victim);
        bool exists = false;
        if (!heap_only) /* its arena answers without it */
            CHECK(ps_store_exists(quick, key, &exists) == PS_OK && exists, "exists in a stopped rank's arena");
        /* An object it does not have needs the rank itself. */
        char absent[PS_KEY_MAX];
        snprintf(absent, sizeof absent, "%.*s00000000000000000000000000000000",
                 (int)(strrchr(key, '.') - key + 1), key);
        double t0 = MPI_Wtime();
        ps_status st = ps_store_exists(quick, heap_only ? key : absent, &exists);
        double took = MPI_Wtime() - t0;
        CHECK(st == PS_ERR_TIMEOUT, "exists on a stopped rank gives PS_ERR_TIMEOUT (%s)", ps_status_name(st));
        CHECK(took < 5.0, "within a bounded time (%.2f s)", took);
        char who[32];
        snprintf(who, sizeof who, "rank %d", victim);
        CHECK(strstr(ps_last_error_message(), who) != NULL, "message names the rank: %s", ps_last_error_message());
        kill(pid, SIGCONT);
        /* once it runs again it answers (asked with the default timeout: the
         * same space under another URL, so a loaded machine cannot fail it) */
        ps_store *patient = ps_store_open("patient", url_of("mpi://quick", ""), NULL);
        CHECK(patient && ps_store_exists(patient, key, &exists) == PS_OK && exists,
              "exists after the rank continues");
        ps_store_close(patient);
    }
    MPI_Barrier(MPI_COMM_WORLD);
    ps_store_close(quick);
}

/* Several stores on one URL share objects; another space name does not. */
static void spaces(void)
{
    ps_store *other = ps_store_open("other-space", url_of("mpi://elsewhere", ""), NULL);
    CHECK(other != NULL, "open another space");
    char key[PS_KEY_MAX];
    int32_t v = 42 + rank;
    CHECK(ps_store_put(store, &ps_type_int32, &v, 1, key) == PS_OK, "put");
    char keys[64][PS_KEY_MAX];
    gather_keys(key, keys);
    int peer = (rank + 1) % size;
    bool exists = true;
    CHECK(other && ps_store_exists(other, keys[peer], &exists) == PS_OK && !exists,
          "another space does not see the object");
    int32_t *got = ps_store_get(store, keys[peer], &ps_type_int32, NULL);
    CHECK(got && *got == 42 + peer, "the same space does");
    free(got);
    MPI_Barrier(MPI_COMM_WORLD);
    ps_store_evict(store, key);
    ps_store_close(other);
    MPI_Barrier(MPI_COMM_WORLD);
}

/* The executor's pattern: rank 0 hands each worker a task whose argument
 * stays on rank 0; the worker resolves it, puts its result (which stays on
 * the worker) and hands back the result's descriptor; rank 0 resolves the
 * results, then evicts them on the workers. */
static void task_round_trip(void)
{
    enum { N = 30000 };
    char desc[4096];
    if (rank == 0) {
        double *arg = malloc(N * sizeof *arg);
        ps_proxy_t *args[64] = {0};
        for (int w = 1; w < size; w++) {
            for (int i = 0; i < N; i++)
                arg[i] = w + i * 0.25;
            args[w] = ps_proxy_array(store, &ps_type_double, arg, N);
            char *d = args[w] ? ps_proxy_serialize(args[w]) : NULL;
            CHECK(d != NULL, "task argument for worker %d", w);
            snprintf(desc, sizeof desc, "%s", d ? d : "");
            free(d);
            MPI_Send(desc, sizeof desc, MPI_CHAR, w, 5, MPI_COMM_WORLD);
        }
        for (int w = 1; w < size; w++) {
            MPI_Recv(desc, sizeof desc, MPI_CHAR, w, 6, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
            ps_proxy_t *result = ps_proxy_deserialize(desc, &ps_type_double);
            double *sum = result ? PS_RESOLVE(double, result) : NULL;
            double want = 0;
            for (int i = 0; i < N; i++)
                want += w + i * 0.25;
            CHECK(sum && *sum == want, "result of worker %d", w);
            if (!result)
                continue;
            char owner[32];
            snprintf(owner, sizeof owner, ".%d.", w);
            CHECK(strstr(ps_proxy_key(result), owner) != NULL, "the result stays on worker %d", w);
            CHECK(ps_proxy_evict(result) == PS_OK, "evict the result on worker %d", w);
            CHECK(ps_proxy_evict(args[w]) == PS_OK, "evict the argument");
        }
        free(arg);
    } else {
        MPI_Recv(desc, sizeof desc, MPI_CHAR, 0, 5, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        ps_proxy_t *arg = ps_proxy_deserialize(desc, &ps_type_double);
        const double *v = arg ? PS_RESOLVE(double, arg) : NULL;
        CHECK(v != NULL && ps_proxy_count(arg) == N, "worker %d resolves its argument", rank);
        double sum = 0;
        for (int i = 0; v && i < N; i++)
            sum += v[i];
        if (arg)
            ps_proxy_free(arg);
        ps_proxy_t *result = ps_proxy(store, &ps_type_double, &sum);
        char *d = result ? ps_proxy_serialize(result) : NULL;
        CHECK(d != NULL, "result descriptor");
        snprintf(desc, sizeof desc, "%s", d ? d : "");
        free(d);
        MPI_Send(desc, sizeof desc, MPI_CHAR, 0, 6, MPI_COMM_WORLD);
        if (result)
            ps_proxy_free(result); /* the object stays until rank 0 evicts it */
    }
    MPI_Barrier(MPI_COMM_WORLD);
}


/* -------------------------------------------------- same-node arenas */

static size_t held_here(void);

static ps_store *open_uncached(const char *name, const char *url)
{
    ps_store_options opts = {.cache_size = 0}; /* a cached object would hold its view */
    ps_store *s = ps_store_open(name, url, &opts);
    CHECK(s != NULL, "open %s", url);
    return s;
}

static bool arena_stats(ps_store *s, int owner, shm_arena_stats *st)
{
    memset(st, 0, sizeof *st);
    return ps_mpi_arena_stats(s->conn, owner, st) == PS_OK;
}

/* Rank 1 resolves rank 0's object (a view into rank 0's arena) and keeps
 * it while rank 0 evicts it and fills its arena with other objects: the
 * space stays the reader's until it releases the view. */
static void view_outlives_evict(void)
{
    enum { MB = 1 << 20, FILL = 7 };
    if (heap_only)
        return;
    ps_store *s = open_uncached("views", "mpi://views?arena=8M");
    if (!s)
        return;
    unsigned char *data = patterned(MB, 5);
    ps_proxy_t *p = rank == 0 ? ps_proxy_array(s, &ps_type_bytes, data, MB) : NULL;
    char desc[4096] = "";
    if (rank == 0) {
        char *d = p ? ps_proxy_serialize(p) : NULL;
        CHECK(d != NULL, "serialize");
        snprintf(desc, sizeof desc, "%s", d ? d : "");
        free(d);
    }
    MPI_Bcast(desc, sizeof desc, MPI_CHAR, 0, MPI_COMM_WORLD);
    ps_proxy_t *q = rank == 1 ? ps_proxy_deserialize(desc, &ps_type_bytes) : NULL;
    const unsigned char *view = q ? ps_resolve(q) : NULL;
    shm_arena_stats st;
    if (rank == 1) {
        CHECK(view && memcmp(view, data, MB) == 0, "resolved rank 0's object");
        /* Hashed as it was copied into the arena (put_hashing). */
        CHECK(q && ps_proxy_hash(q) == XXH3_64bits(data, MB), "the recorded hash is the payload's");
        CHECK(arena_stats(s, 0, &st) && st.live == 1 && st.zombies == 0, "in rank 0's arena: %u live",
              (unsigned)st.live);
    }
    MPI_Barrier(MPI_COMM_WORLD);
    char keys[FILL][PS_KEY_MAX];
    unsigned char *other = patterned(MB, 6);
    if (rank == 0) {
        CHECK(ps_proxy_evict(p) == PS_OK, "evict while rank 1 holds a view"); /* releases p too */
        p = NULL;
        CHECK(arena_stats(s, 0, &st) && st.live == 0 && st.zombies == 1 && st.used >= MB,
              "the evicted object is still read: %u zombies, %llu bytes", (unsigned)st.zombies,
              (unsigned long long)st.used);
        for (int i = 0; i < FILL; i++)
            CHECK(ps_store_put(s, &ps_type_bytes, other, MB, keys[i]) == PS_OK, "fill %d", i);
        CHECK(arena_stats(s, 0, &st) && st.live >= FILL - 1, "the arena filled around it: %u live",
              (unsigned)st.live);
    }
    MPI_Barrier(MPI_COMM_WORLD);
    if (rank == 1) {
        CHECK(view && memcmp(view, data, MB) == 0, "the view is intact after the evict and the puts");
        bool exists = true;
        CHECK(q && ps_store_exists(s, ps_proxy_key(q), &exists) == PS_OK && !exists, "evicted for every rank");
    }
    if (q) {
        ps_proxy_free(q);
        CHECK(arena_stats(s, 0, &st) && st.zombies == 0, "released: %u zombies", (unsigned)st.zombies);
    }
    MPI_Barrier(MPI_COMM_WORLD);
    if (rank == 0) {
        CHECK(arena_stats(s, 0, &st) && st.zombies == 0, "its space is free once released");
        for (int i = 0; i < FILL; i++)
            ps_store_evict(s, keys[i]);
    }
    if (p)
        ps_proxy_free(p);
    free(data);
    free(other);
    MPI_Barrier(MPI_COMM_WORLD);
    ps_store_close(s);
}

/* Rank 0 closes a space that rank 1 has mapped and opens it again: rank 1
 * finds the new arena (not the removed one) for the new objects. */
static void space_reopened(void)
{
    if (heap_only)
        return;
    char keys[2][PS_KEY_MAX];
    int32_t v = 7;
    ps_store *s = open_uncached("reopen", "mpi://reopen");
    if (!s)
        return;
    if (rank == 0)
        CHECK(ps_store_put(s, &ps_type_int32, &v, 1, keys[0]) == PS_OK, "put");
    MPI_Bcast(keys[0], PS_KEY_MAX, MPI_CHAR, 0, MPI_COMM_WORLD);
    int32_t *got = ps_store_get(s, keys[0], &ps_type_int32, NULL);
    CHECK(got && *got == 7, "read before the reopen");
    free(got);
    /* Rank 1 keeps a view of the object across its owner's close. */
    ps_blob view = {0};
    unsigned char before[256] = {0};
    if (rank == 1) {
        CHECK(s->conn->ops->get(s->conn, keys[0], &view) == PS_OK && view.len <= sizeof before, "a view");
        if (view.data)
            memcpy(before, view.data, view.len);
    }
    MPI_Barrier(MPI_COMM_WORLD);
    if (rank == 0) {
        ps_store_close(s);
        s = open_uncached("reopen", "mpi://reopen");
        v = 8;
        CHECK(s && ps_store_put(s, &ps_type_int32, &v, 1, keys[1]) == PS_OK, "put after the reopen");
    }
    MPI_Bcast(keys[1], PS_KEY_MAX, MPI_CHAR, 0, MPI_COMM_WORLD);
    if (rank == 1) {
        CHECK(view.data && memcmp(view.data, before, view.len) == 0, "the view outlives its owner's close");
        ps_blob_release(&view);
    }
    bool exists = true;
    CHECK(s && ps_store_exists(s, keys[0], &exists) == PS_OK && !exists, "the closed space's object is gone");
    got = s ? ps_store_get(s, keys[1], &ps_type_int32, NULL) : NULL;
    CHECK(got && *got == 8, "read after the reopen");
    free(got);
    shm_arena_stats st;
    if (rank != 0)
        CHECK(arena_stats(s, 0, &st) && st.live == 1, "rank 0's new arena is the one mapped: %u live",
              (unsigned)st.live);
    MPI_Barrier(MPI_COMM_WORLD);
    ps_store_close(s);
}

/* Four threads on every rank claim every rank's objects at once: each
 * object is won exactly once across the job. */
enum { CLAIM_OBJECTS = 16, CLAIM_THREADS = 4 };
static char (*claim_keys)[PS_KEY_MAX];
static atomic_int claims_won;

static void *claimer(void *arg)
{
    int id = (int)(intptr_t)arg, n = size * CLAIM_OBJECTS;
    for (int k = 0; k < n; k++) {
        bool claimed = false;
        CHECK(ps_store_claim(store, claim_keys[(k + id * 5 + rank * 3) % n], &claimed) == PS_OK, "claim");
        atomic_fetch_add(&claims_won, claimed);
    }
    return NULL;
}

static void claim_race(void)
{
    char mine[CLAIM_OBJECTS][PS_KEY_MAX];
    for (int i = 0; i < CLAIM_OBJECTS; i++) {
        int64_t v = rank * 100 + i;
        CHECK(ps_store_put(store, &ps_type_int64, &v, 1, mine[i]) == PS_OK, "put");
    }
    claim_keys = malloc((size_t)size * CLAIM_OBJECTS * PS_KEY_MAX);
    MPI_Allgather(mine, CLAIM_OBJECTS * PS_KEY_MAX, MPI_CHAR, claim_keys, CLAIM_OBJECTS * PS_KEY_MAX, MPI_CHAR,
                  MPI_COMM_WORLD);
    atomic_store(&claims_won, 0);
    pthread_t t[CLAIM_THREADS];
    for (int i = 0; i < CLAIM_THREADS; i++)
        pthread_create(&t[i], NULL, claimer, (void *)(intptr_t)i);
    for (int i = 0; i < CLAIM_THREADS; i++)
        pthread_join(t[i], NULL);
    int won = atomic_load(&claims_won), total = 0;
    MPI_Allreduce(&won, &total, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    CHECK(total == size * CLAIM_OBJECTS, "%d claims won for %d objects", total, size * CLAIM_OBJECTS);
    CHECK(held_here() == 0, "every claimed object is freed on its owner: %zu left", held_here());
    free(claim_keys);
    MPI_Barrier(MPI_COMM_WORLD);
}

/* An object larger than the owner's arena stays on its heap and is served
 * by its service thread; a small one beside it goes to the arena. */
static void too_big_for_arena(void)
{
    enum { BIG = 3 << 20, SMALL = 1000 };
    ps_store *s = open_uncached("tiny", url_of("mpi://tiny", "arena=1M"));
    if (!s)
        return;
    unsigned char *big = patterned(BIG, 11), *small = patterned(SMALL, 12);
    char keys[2][PS_KEY_MAX];
    if (rank == 0) {
        CHECK(ps_store_put(s, &ps_type_bytes, big, BIG, keys[0]) == PS_OK, "put big");
        CHECK(ps_store_put(s, &ps_type_bytes, small, SMALL, keys[1]) == PS_OK, "put small");
        shm_arena_stats st;
        if (!heap_only)
            CHECK(arena_stats(s, 0, &st) && st.live == 1 && st.used < BIG, "only the small one in the arena: "
                  "%u live, %llu bytes", (unsigned)st.live, (unsigned long long)st.used);
        else
            CHECK(!arena_stats(s, 0, &st), "no arena with ?arena=0");
    }
    MPI_Bcast(keys, sizeof keys, MPI_CHAR, 0, MPI_COMM_WORLD);
    size_t n = 0;
    unsigned char *got = ps_store_get(s, keys[0], &ps_type_bytes, &n);
    CHECK(got && n == BIG && memcmp(got, big, BIG) == 0, "the big object from rank 0's heap");
    free(got);
    got = ps_store_get(s, keys[1], &ps_type_bytes, &n);
    CHECK(got && n == SMALL && memcmp(got, small, SMALL) == 0, "the small one from its arena");
    free(got);
    MPI_Barrier(MPI_COMM_WORLD);
    if (rank == size - 1)
        CHECK(ps_store_evict(s, keys[0]) == PS_OK, "evict the big one from rank %d", rank);
    MPI_Barrier(MPI_COMM_WORLD);
    bool exists = true;
    CHECK(ps_store_exists(s, keys[0], &exists) == PS_OK && !exists, "the big one is gone everywhere");
    CHECK(ps_store_exists(s, keys[1], &exists) == PS_OK && exists, "the small one stays");
    MPI_Barrier(MPI_COMM_WORLD);
    if (rank == 0)
        ps_store_evict(s, keys[1]);
    free(big);
    free(small);
    MPI_Barrier(MPI_COMM_WORLD);
    ps_store_close(s);
}

/* A crashed job's arena (its process gone) is found by its name and
 * removed; a live one, a young one and other files are left alone. */
static void abandoned_arenas(void)
{
    if (rank == 0) {
        char dir[] = "/dev/shm/ps-test-mpi-XXXXXX";
        CHECK(mkdtemp(dir) != NULL, "temp dir");
        int dfd = open(dir, O_RDONLY | O_DIRECTORY);
        const char *dead = "ps-mpi.00000000000000aa.0.0000000000000001+.arena";
        const char *live = "ps-mpi.00000000000000aa.1.0000000000000001+.arena";
        pid_t child = fork();
        if (child == 0) {
            shm_arena *a;
            _exit(shm_arena_open(dfd, dead, 1 << 20, "test", &a) == PS_OK ? 0 : 1); /* never closed */
        }
        int wst = 0;
        CHECK(child > 0 && waitpid(child, &wst, 0) == child && WIFEXITED(wst) && WEXITSTATUS(wst) == 0,
              "a process made an arena and died");
        shm_arena *mine = NULL;
        CHECK(shm_arena_open(dfd, live, 1 << 20, "test", &mine) == PS_OK, "a live arena");
        int other = openat(dfd, "ps-mpi.not-an-arena", O_CREAT | O_WRONLY, 0600);
        close(other);
        CHECK(ps_mpi_remove_abandoned_arenas(dir, 3600) == 0, "a young arena stays");
        CHECK(ps_mpi_remove_abandoned_arenas(dir, 0) == 1, "the dead process's arena is removed");
        CHECK(faccessat(dfd, dead, F_OK, 0) != 0, "gone");
        CHECK(faccessat(dfd, live, F_OK, 0) == 0 && faccessat(dfd, "ps-mpi.not-an-arena", F_OK, 0) == 0,
              "the live arena and the other file stay");
        if (mine) {
            shm_arena_retire(mine);
            shm_arena_close(mine);
        }
        CHECK(faccessat(dfd, live, F_OK, 0) != 0, "a retired arena's file is gone");
        unlinkat(dfd, "ps-mpi.not-an-arena", 0);
        close(dfd);
        CHECK(rmdir(dir) == 0, "nothing else left in %s", dir);
    }
    MPI_Barrier(MPI_COMM_WORLD);
}

/* Arena files of this job (prefix "ps-mpi.<job>.") in /dev/shm; rank >= 0:
 * only that rank's. */
static int arena_files(const char *job, int of_rank)
{
    char prefix[64];
    if (of_rank >= 0)
        snprintf(prefix, sizeof prefix, "ps-mpi.%.16s.%d.", job, of_rank);
    else
        snprintf(prefix, sizeof prefix, "ps-mpi.%.16s.", job);
    return ps_test_count_entries("/dev/shm", prefix);
}

/* ---------------------------------------------------------------- main */

static bool count_entry(const ps_list_entry *entry, void *ctx)
{
    (void)entry;
    ++*(size_t *)ctx;
    return true;
}

/* How many objects this rank holds in the store (its share, not the job's). */
static size_t held_here(void)
{
    size_t n = 0;
    CHECK(store->conn->ops->list(store->conn, count_entry, &n) == PS_OK, "list");
    return n;
}

/* claim and set_expiry from another rank reach the owner: of all ranks
 * claiming one object exactly one wins; an expiry set from afar makes the
 * object read as missing everywhere; a missing key is PS_ERR_NOT_FOUND. */
static void ownership_ops(void)
{
    unsigned char byte = (unsigned char)rank;
    char mine[PS_KEY_MAX], keys[64][PS_KEY_MAX];
    CHECK(ps_store_put(store, &ps_type_bytes, &byte, 1, mine) == PS_OK, "put");
    gather_keys(mine, keys);
    /* Every rank claims every object; each is removed once. */
    int won = 0;
    for (int r = 0; r < size; r++) {
        bool claimed = false;
        CHECK(ps_store_claim(store, keys[r], &claimed) == PS_OK, "claim rank %d's object", r);
        won += claimed;
    }
    int total = 0;
    MPI_Allreduce(&won, &total, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    CHECK(total == size, "%d claims won for %d objects", total, size);
    for (int r = 0; r < size; r++) {
        bool exists = true, claimed = true;
        CHECK(ps_store_exists(store, keys[r], &exists) == PS_OK && !exists, "rank %d's claimed object is gone", r);
        CHECK(ps_store_claim(store, keys[r], &claimed) == PS_OK && !claimed, "a second claim loses");
    }
    MPI_Barrier(MPI_COMM_WORLD);

    /* The next rank sets an expiry on this rank's new object. */
    CHECK(held_here() == 0, "claimed objects are freed on their owner");
    CHECK(ps_store_put(store, &ps_type_bytes, &byte, 1, mine) == PS_OK, "put");
    CHECK(held_here() == 1, "the put is held here: %zu", held_here());
    gather_keys(mine, keys);
    int next = (rank + 1) % size;
    CHECK(ps_store_set_expiry(store, keys[next], ps_unix_ms() + 3600000) == PS_OK, "a far expiry on rank %d's", next);
    MPI_Barrier(MPI_COMM_WORLD);
    bool exists = false;
    CHECK(ps_store_exists(store, mine, &exists) == PS_OK && exists, "a far expiry leaves it readable");
    MPI_Barrier(MPI_COMM_WORLD);
    CHECK(ps_store_set_expiry(store, keys[next], ps_unix_ms() - 1) == PS_OK, "a past expiry on rank %d's", next);
    MPI_Barrier(MPI_COMM_WORLD);
    for (int r = 0; r < size; r++) {
        exists = true;
        CHECK(ps_store_exists(store, keys[r], &exists) == PS_OK && !exists, "rank %d's expired object is missing", r);
        CHECK(ps_store_get(store, keys[r], &ps_type_bytes, NULL) == NULL && ps_last_error_code() == PS_ERR_NOT_FOUND,
              "get of an expired object");
    }
    CHECK(ps_store_set_expiry(store, keys[next], 0) == PS_ERR_NOT_FOUND && strstr(ps_last_error_message(), keys[next]),
          "expiry of an expired object: %s", ps_last_error_message());
    /* A key the caller chose is looked for on every rank. */
    char chosen[64];
    snprintf(chosen, sizeof chosen, "owned-chosen-%d", rank);
    CHECK(ps_store_put_key(store, chosen, &ps_type_bytes, &byte, 1) == PS_OK, "put_key %s", chosen);
    MPI_Barrier(MPI_COMM_WORLD);
    snprintf(chosen, sizeof chosen, "owned-chosen-%d", next);
    bool claimed = false;
    CHECK(ps_store_claim(store, chosen, &claimed) == PS_OK && claimed, "claim %s from afar", chosen);
    MPI_Barrier(MPI_COMM_WORLD);
    CHECK(ps_store_set_expiry(store, chosen, 0) == PS_ERR_NOT_FOUND, "expiry of a claimed chosen key");
    for (int r = 0; r < size; r++)
        ps_store_evict(store, keys[r]);
    MPI_Barrier(MPI_COMM_WORLD);
    CHECK(held_here() == 0, "nothing held at the end: %zu", held_here());
    MPI_Barrier(MPI_COMM_WORLD);
}

int main(int argc, char **argv)
{
    alarm(240);
    int provided = 0;
    MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &provided);
    heap_only = argc > 1 && strcmp(argv[1], "heap") == 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    if (size > 64) {
        fprintf(stderr, "at most 64 ranks\n");
        MPI_Abort(MPI_COMM_WORLD, 2);
    }
    CHECK(ps_mpi_rank() == -1, "no rank before ps_mpi_init");
    ps_status st = ps_mpi_init(MPI_COMM_WORLD);
    CHECK(st == PS_OK, "ps_mpi_init");
    CHECK(ps_mpi_init(MPI_COMM_WORLD) == PS_ERR_STATE, "a second ps_mpi_init is refused");
    CHECK(ps_mpi_rank() == rank, "ps_mpi_rank");
    store = ps_store_open("contract", url_of("mpi://contract", ""), NULL);
    CHECK(store != NULL, "open");
    if (st != PS_OK || !store)
        MPI_Abort(MPI_COMM_WORLD, 1);

    struct {
        const char *name;
        void (*run)(void);
    } tests[] = {
        {"put_here_get_everywhere", put_here_get_everywhere},
        {"chosen_keys", chosen_keys},
        {"chosen_keys_in_place", chosen_keys_in_place},
        {"missing_and_foreign", missing_and_foreign},
        {"batches", batches},
        {"large_through_descriptor", large_through_descriptor},
        {"threads", threads},
        {"evict_races_fetch", evict_races_fetch},
        {"spaces", spaces},
        {"ownership_ops", ownership_ops},
        {"task_round_trip", task_round_trip},
        {"view_outlives_evict", view_outlives_evict},
        {"space_reopened", space_reopened},
        {"claim_race", claim_race},
        {"too_big_for_arena", too_big_for_arena},
        {"abandoned_arenas", abandoned_arenas},
        {"bounded_wait", bounded_wait},
    };
    for (size_t i = 0; i < sizeof tests / sizeof tests[0]; i++) {
        int before = atomic_load(&failures);
        tests[i].run();
        int failed_here = atomic_load(&failures) > before, failed_anywhere = 0;
        MPI_Allreduce(&failed_here, &failed_anywhere, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
        if (rank == 0)
            printf("[%s] %s\n", failed_anywhere ? "FAIL" : "PASS", tests[i].name);
    }
    /* This rank's arena file exists while its space is open (not with
     * ?arena=0); after ps_mpi_finalize no file of the job is left. */
    char job_key[PS_KEY_MAX];
    int32_t one = 1;
    CHECK(ps_store_put(store, &ps_type_int32, &one, 1, job_key) == PS_OK, "put");
    const char *job = job_key + 4;
    CHECK(arena_files(job, rank) == (heap_only ? 0 : 1), "rank %d's arena file: %d", rank, arena_files(job, rank));
    MPI_Barrier(MPI_COMM_WORLD);
    ps_store_close(store);
    CHECK(ps_mpi_finalize() == PS_OK, "ps_mpi_finalize");
    MPI_Barrier(MPI_COMM_WORLD);
    CHECK(arena_files(job, -1) == 0, "no arena file of the job after finalize: %d", arena_files(job, -1));
    CHECK(ps_mpi_rank() == -1, "no rank after ps_mpi_finalize");
    /* After leaving the job a new store cannot open. */
    CHECK(ps_store_open("late", "mpi://", NULL) == NULL && ps_last_error_code() == PS_ERR_STATE &&
          strstr(ps_last_error_message(), "ps_mpi_init"), "open after finalize: %s", ps_last_error_message());

    int totals[2] = {atomic_load(&checks), atomic_load(&failures)}, sums[2];
    MPI_Reduce(totals, sums, 2, MPI_INT, MPI_SUM, 0, MPI_COMM_WORLD);
    int any = atomic_load(&failures) > 0, anywhere = 0;
    MPI_Allreduce(&any, &anywhere, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    if (rank == 0)
        printf("mpi_contract on %d ranks: %d passed, %d failed\n", size, sums[0] - sums[1], sums[1]);
    MPI_Finalize();
    return anywhere ? 1 : 0;
}
