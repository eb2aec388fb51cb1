/*
 * mpi_executor.c — the executor's MPI backend, run by mpirun (-n 3 and
 * -n 4 --oversubscribe, tests/mpi/mpi.cmake) in the topology named by
 * argv[1]: "direct" or "scheduler".  Every rank registers the tasks and
 * opens the same store, shm:// or, with argv[2] "mpi", mpi:// (large
 * arguments stay in rank 0's memory, results in their worker's, and every
 * rank must hold nothing at the end); rank 0 submits and checks, the other
 * ranks serve inside ps_executor_mpi.
 *
 * A plain MPI program, not a Criterion runner (Criterion forks each test,
 * where MPI does not work): rank 0 counts failed checks and the exit status
 * is non-zero if any failed.  An alarm bounds the run, so a hang fails.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mpi.h>

#include <proxystore/executor_mpi.h>
#include <proxystore/mpi.h>

#include "dir_entries.h"
#include "executor_tasks.h"
#include "store.h"

static int checks, failures;

#define EXPECT(cond, ...)                                                                     \
    do {                                                                                      \
        checks++;                                                                             \
        if (!(cond)) {                                                                        \
            failures++;                                                                       \
            fprintf(stderr, "%s:%d: %s failed: ", __FILE__, __LINE__, #cond);                 \
            fprintf(stderr, __VA_ARGS__);                                                     \
            fprintf(stderr, " [last error: %s]\n", ps_last_error_message());                 \
        }                                                                                     \
    } while (0)

static ps_store *store;
static char shm_prefix[96];
static bool on_mpi; /* the store is mpi:// */

/* On mpi:// a key the store made names its owner: "mpi.<job>.<rank>.<random>". */
static int owner_rank(const char *key)
{
    const char *dot = strchr(key, '.');
    dot = dot ? strchr(dot + 1, '.') : NULL;
    return dot ? atoi(dot + 1) : -1;
}

/* echo n bytes; check the result byte for byte and whether it was proxied. */
static void echo_checked(ps_executor *ex, size_t n, unsigned seed, bool want_proxy)
{
    unsigned char *in = ps_test_pattern(n, seed);
    ps_value arg = {&ps_type_bytes, in, n, NULL};
    ps_task *t = ps_submit(ex, "echo", 1, &arg);
    EXPECT(t != NULL, "submit echo %zu", n);
    ps_result r = {0};
    if (t && ps_task_wait(t) == PS_OK && ps_task_result(t, &r) == PS_OK) {
        EXPECT((r.proxy != NULL) == want_proxy, "echo %zu proxied: %d", n, r.proxy != NULL);
        if (on_mpi && r.proxy) /* the result stays on the worker that made it */
            EXPECT(owner_rank(ps_proxy_key(r.proxy)) > 0, "result key '%s' names a worker rank",
                   ps_proxy_key(r.proxy));
        const unsigned char *out = r.proxy ? ps_resolve_ref(r.proxy, "unsigned char", 1) : r.data;
        size_t count = r.proxy ? ps_proxy_count(r.proxy) : r.count;
        EXPECT(out && count == n && memcmp(out, in, n) == 0, "echo %zu bytes back intact", n);
        if (r.proxy)
            EXPECT(ps_owned_release(r.proxy) == PS_OK, "release the result");
        else
            free(r.data);
    } else {
        EXPECT(0, "echo %zu ran", n);
    }
    ps_task_free(t);
    free(in);
}

static void sizes_both_ways(ps_executor *ex)
{
    echo_checked(ex, 1000, 1, false);
    echo_checked(ex, 99999, 2, false);
    echo_checked(ex, 100000, 3, true);
    echo_checked(ex, 4u << 20, 4, true);
}

static void many_tasks_map_and_waitany(ps_executor *ex)
{
    enum { N = 40 };
    unsigned char *rows[N];
    ps_value args[N];
    for (int i = 0; i < N; i++) {
        size_t n = (size_t)(i % 4 == 0 ? 150000 : 500 + i);
        rows[i] = ps_test_pattern(n, 100 + (unsigned)i);
        args[i] = (ps_value){&ps_type_bytes, rows[i], n, NULL};
    }
    ps_task *tasks[N];
    EXPECT(ps_map(ex, "reverse", N, 1, args, tasks) == PS_OK, "map");
    for (int left = N; left > 0; left--) {
        size_t i = N;
        ps_status st = ps_task_waitany(N, tasks, &i);
        EXPECT(st == PS_OK && i < N, "waitany");
        if (i >= N)
            break;
        ps_result r = {0};
        EXPECT(ps_task_result(tasks[i], &r) == PS_OK, "result %zu", i);
        const unsigned char *out = r.proxy ? ps_resolve_ref(r.proxy, "unsigned char", 1) : r.data;
        size_t n = args[i].count;
        bool ok = out != NULL;
        for (size_t k = 0; ok && k < n; k++)
            ok = out[k] == rows[i][n - 1 - k];
        EXPECT(ok, "row %zu reversed", i);
        EXPECT((r.proxy != NULL) == (n >= 100000), "row %zu proxied by size", i);
        if (r.proxy)
            ps_owned_release(r.proxy);
        free(r.data);
        ps_task_free(tasks[i]);
        tasks[i] = NULL;
    }
    for (int i = 0; i < N; i++)
        free(rows[i]);
}

static void two_args_and_custom_type(ps_executor *ex)
{
    unsigned char *a = ps_test_pattern(300000, 7), *b = ps_test_pattern(5, 8);
    ps_value args[] = {{NULL, a, 300000, NULL}, {NULL, b, 5, NULL}};
    ps_task *t = ps_submit(ex, "concat", 2, args);
    ps_result r = {0};
    EXPECT(t && ps_task_wait(t) == PS_OK && ps_task_result(t, &r) == PS_OK, "concat");
    const unsigned char *out = r.proxy ? ps_resolve_ref(r.proxy, "unsigned char", 1) : NULL;
    EXPECT(out && memcmp(out, a, 300000) == 0 && memcmp(out + 300000, b, 5) == 0, "concat bytes");
    ps_task_free(t); /* releases the result not yet... it was taken: ours */
    if (r.proxy)
        ps_owned_release(r.proxy);
    free(a);
    free(b);

    ps_test_text in = {"ranks and proxies"};
    ps_value arg = {&ps_test_text_type, &in, 1, NULL};
    t = ps_submit(ex, "shout", 1, &arg);
    EXPECT(t && ps_task_wait(t) == PS_OK && ps_task_result(t, &r) == PS_OK, "shout");
    const ps_test_text *txt = r.data;
    EXPECT(txt && !r.proxy && strcmp(txt->chars, "RANKS AND PROXIES") == 0, "shout result");
    ps_object_free(&ps_test_text_type, r.data);
    ps_task_free(t);
}

static void errors(ps_executor *ex)
{
    int32_t v = 7;
    ps_value arg = {NULL, &v, 1, NULL};
    ps_task *t = ps_submit(ex, "fail", 1, &arg);
    EXPECT(t && ps_task_wait(t) == PS_ERR_SERVER && strstr(ps_last_error_message(), "asked to fail with 7"),
           "the task's error through the handle");
    ps_task_free(t);

    EXPECT(!ps_submit(ex, "nope", 1, &arg) && ps_last_error_code() == PS_ERR_NOT_FOUND, "unknown task");
    EXPECT(!ps_submit(ex, "fail", 0, NULL) && ps_last_error_code() == PS_ERR_INVALID_ARGUMENT,
           "wrong count");

    /* An argument whose object is gone: the task fails, the worker goes on. */
    unsigned char *in = ps_test_pattern(1000, 9);
    ps_proxy_t *gone = ps_proxy_array(store, &ps_type_bytes, in, 1000);
    ps_store_evict(store, ps_proxy_key(gone));
    ps_value g = {NULL, NULL, 0, gone};
    ps_task *tasks[4];
    for (int i = 0; i < 4; i++)
        tasks[i] = ps_submit(ex, "echo", 1, &g);
    for (int i = 0; i < 4; i++) {
        EXPECT(tasks[i] && ps_task_wait(tasks[i]) == PS_ERR_NOT_FOUND, "missing argument %d", i);
        ps_task_free(tasks[i]);
    }
    ps_proxy_free(gone);
    free(in);
    echo_checked(ex, 2000, 10, false);
}

static bool count_held(const ps_list_entry *entry, void *ctx)
{
    fprintf(stderr, "left: %s (%llu bytes)\n", entry->key, (unsigned long long)entry->len);
    ++*(size_t *)ctx;
    return true;
}

int main(int argc, char **argv)
{
    alarm(240);
    int provided = 0, rank, size;
    MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &provided);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    bool scheduler = argc > 1 && strcmp(argv[1], "scheduler") == 0;
    /* argv[2] "mpi": the store is mpi://, objects stay on the rank that put them. */
    on_mpi = argc > 2 && strcmp(argv[2], "mpi") == 0;
    if (on_mpi && ps_mpi_init(MPI_COMM_WORLD) != PS_OK) {
        fprintf(stderr, "ps_mpi_init: %s\n", ps_last_error_message());
        MPI_Abort(MPI_COMM_WORLD, 1);
    }

    long id = (long)getpid();
    MPI_Bcast(&id, 1, MPI_LONG, 0, MPI_COMM_WORLD);
    char name[64], url[96];
    snprintf(name, sizeof name, "t-mpiexec-%ld", id);
    snprintf(url, sizeof url, "%s://%s", on_mpi ? "mpi" : "shm", name);
    snprintf(shm_prefix, sizeof shm_prefix, "ps-%s+", name);
    store = ps_store_open(name, url, NULL);
    ps_test_register_tasks();

    ps_executor_options opts;
    ps_executor_options_init(&opts);
    opts.store = store;
    ps_executor *ex = NULL;
    ps_status st = ps_executor_mpi(MPI_COMM_WORLD, scheduler ? PS_EXECUTOR_SCHEDULER : PS_EXECUTOR_DIRECT,
                                   &opts, &ex);
    if (rank == 0) {
        EXPECT(store && st == PS_OK && ex, "ps_executor_mpi on rank 0");
        if (ex) {
            sizes_both_ways(ex);
            many_tasks_map_and_waitany(ex);
            two_args_and_custom_type(ex);
            errors(ex);
            EXPECT(ps_executor_shutdown(ex) == PS_OK, "shutdown");
        }
    } else {
        EXPECT(st == PS_OK && !ex, "a serving rank returns after shutdown");
    }
    MPI_Barrier(MPI_COMM_WORLD);
    if (on_mpi) { /* every rank: nothing left of what it held */
        /* Puts on mpi:// are local: the client's large arguments went into
         * rank 0's memory, and every rank that ran tasks fetched some. */
        ps_metrics m;
        EXPECT(ps_store_metrics(store, &m) == PS_OK, "metrics");
        unsigned long long puts = m.op[PS_OP_PUT].count, gets = m.op[PS_OP_GET].count + m.op[PS_OP_RESOLVE].count, any_gets = 0;
        MPI_Allreduce(&gets, &any_gets, 1, MPI_UNSIGNED_LONG_LONG, MPI_SUM, MPI_COMM_WORLD);
        if (rank == 0)
            EXPECT(puts > 0 && any_gets > gets, "client put %llu arguments, other ranks fetched %llu", puts,
                   any_gets - gets);
        size_t held = 0;
        EXPECT(store && store->conn->ops->list(store->conn, count_held, &held) == PS_OK && held == 0,
               "rank %d holds %zu objects at the end", rank, held);
    }
    if (rank == 0) {
        int left = on_mpi ? 0 : ps_test_count_entries("/dev/shm", shm_prefix);
        EXPECT(left == 0, "%d objects left in the store", left);
        if (!on_mpi)
            ps_test_remove_entries("/dev/shm", shm_prefix);
        /* A one-rank communicator cannot hold a worker. */
        ps_executor *none = NULL;
        EXPECT(ps_executor_mpi(MPI_COMM_SELF, PS_EXECUTOR_DIRECT, &opts, &none) == PS_ERR_STATE && !none,
               "too few ranks");
    }
    ps_store_close(store);
    int totals[2] = {checks, failures}, sums[2];
    MPI_Reduce(totals, sums, 2, MPI_INT, MPI_SUM, 0, MPI_COMM_WORLD);
    if (rank == 0)
        printf("mpi_executor %s on %d ranks, %s store: %d passed, %d failed\n",
               scheduler ? "scheduler" : "direct", size, on_mpi ? "mpi://" : "shm://", sums[0] - sums[1], sums[1]);
    int any = failures > 0, anywhere = 0;
    MPI_Allreduce(&any, &anywhere, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    MPI_Finalize();
    return anywhere ? 1 : 0;
}
