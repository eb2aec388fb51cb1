/*
 * throughput.c — the paper's task throughput (its Figure 4), in C: tasks
 * that consume and produce BYTES (1 MB), an initial batch of tasks and a
 * new one submitted as each finishes (wait-any), by value or by proxy.
 *
 *   mpirun -n W+2 throughput scheduler URL [TASKS [BYTES [BATCH]]]
 *   mpirun -n W+1 throughput direct URL ...
 *
 * W workers: with the scheduler rank, rank 0 submits, rank 1 schedules and
 * ranks 2.. run tasks; direct, ranks 1.. run tasks.  URL "none" passes
 * everything by value (inside the MPI messages); any store URL (shm://,
 * redis://, file://) proxies every argument and result through it.
 * TASKS defaults to 2000, BYTES to 1000000, BATCH (tasks in flight) to W.
 *
 * Every result is checked byte for byte against what its task had to
 * produce; a failed task, a wrong result or an object left in the store
 * fails the run (exit 1).  Rank 0 prints one CSV row:
 * topology,store,mode,workers,batch,tasks,bytes,seconds,tasks_per_s
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../bench_time.h"
#include "paper.h"

#define PATTERN 0xA5

/* transform(bytes in) -> bytes: every byte of the input xor PATTERN. */
static ps_status transform(const ps_value args[], size_t nargs, ps_result *out, void *user)
{
    (void)nargs, (void)user;
    const unsigned char *in = args[0].data;
    size_t n = args[0].count;
    unsigned char *r = malloc(n ? n : 1);
    if (!r)
        return ps_task_error(PS_ERR_NO_MEMORY, "transform: out of memory");
    for (size_t i = 0; i < n; i++)
        r[i] = in[i] ^ PATTERN;
    out->data = r;
    out->count = n;
    return PS_OK;
}

typedef struct flow {
    unsigned char *in;     /* the next input; its first 8 bytes number the task */
    unsigned char *expect; /* in ^ PATTERN, but for those 8 bytes */
    size_t bytes;
    uint64_t first; /* number of task 0 (warm-up and timed runs differ) */
} flow;

static ps_task *submit(ps_executor *ex, size_t k, void *ctx)
{
    flow *f = ctx;
    uint64_t id = f->first + k;
    memcpy(f->in, &id, sizeof id);
    ps_value arg = {&ps_type_bytes, f->in, f->bytes, NULL};
    return ps_submit(ex, "transform", 1, &arg);
}

static int collect(size_t k, ps_task *task, void *ctx)
{
    flow *f = ctx;
    ps_result r = {0};
    if (ps_task_result(task, &r) != PS_OK) {
        fprintf(stderr, "result %zu: %s\n", k, ps_last_error_message());
        return -1;
    }
    const unsigned char *out = r.data;
    size_t n = r.count;
    if (r.proxy) {
        out = ps_resolve_ref(r.proxy, "unsigned char", 1);
        n = out ? ps_proxy_count(r.proxy) : 0;
    }
    uint64_t id = f->first + k, got = 0;
    if (out && n == f->bytes)
        memcpy(&got, out, sizeof got);
    bool ok = out && n == f->bytes && (got ^ 0xA5A5A5A5A5A5A5A5ull) == id &&
              memcmp(out + sizeof id, f->expect + sizeof id, n - sizeof id) == 0;
    if (!ok)
        fprintf(stderr, "task %zu: wrong result (%zu bytes): %s\n", k, n,
                out ? "content differs" : ps_last_error_message());
    if (r.proxy && ps_owned_release(r.proxy) != PS_OK) {
        fprintf(stderr, "task %zu: releasing the result: %s\n", k, ps_last_error_message());
        ok = false;
    }
    ps_object_free(&ps_type_bytes, r.data);
    return ok ? 0 : -1;
}

static int run_client(ps_executor *ex, const paper_run *run, size_t tasks, size_t bytes, size_t batch)
{
    flow f = {malloc(bytes), malloc(bytes), bytes, 0};
    if (!f.in || !f.expect) {
        free(f.in), free(f.expect);
        fprintf(stderr, "out of memory for %zu-byte buffers\n", bytes);
        return -1;
    }
    for (size_t i = 0; i < bytes; i++) {
        f.in[i] = (unsigned char)(i * 131 + 7);
        f.expect[i] = f.in[i] ^ PATTERN;
    }
    /* Warm-up: every worker runs a task (connections, first mappings). */
    int rc = paper_window(ex, (size_t)run->workers, batch, submit, collect, &f);
    f.first = (uint64_t)run->workers;
    double t0 = now_us();
    if (rc == 0)
        rc = paper_window(ex, tasks, batch, submit, collect, &f);
    double s = (now_us() - t0) / 1e6;
    if (rc == 0)
        printf("%s,%s,%s,%d,%zu,%zu,%zu,%.4f,%.1f\n", run->topology_name, run->store_name, run->mode,
               run->workers, batch, tasks, bytes, s, (double)tasks / s);
    free(f.in);
    free(f.expect);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: mpirun -n N %s direct|scheduler URL|none [TASKS [BYTES [BATCH]]]\n", argv[0]);
        return 2;
    }
    const ps_type *in[] = {&ps_type_bytes};
    ps_task_register("transform", transform, 1, in, &ps_type_bytes, NULL);
    paper_run run;
    /* No cache: every object is read once, then evicted. */
    int rc = paper_start(&run, &argc, &argv, argv[1], argv[2], 0);
    size_t tasks = 0, bytes = 0, batch = 0;
    if (rc == 0)
        rc = paper_count_arg(argc, argv, 3, 2000, 1, 100000000, &tasks) |
             paper_count_arg(argc, argv, 4, 1000000, 8, (size_t)1 << 30, &bytes) |
             paper_count_arg(argc, argv, 5, (size_t)run.workers, 1, 1000000, &batch);
    ps_executor_options opts;
    ps_executor_options_init(&opts);
    opts.store = run.store;
    opts.threshold = 0;
    ps_executor *ex = NULL;
    /* Every rank must enter the collective call, or none: agree first. */
    MPI_Allreduce(MPI_IN_PLACE, &rc, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    if (rc == 0)
        rc = paper_executor(&run, &opts, &ex);
    if (ex) {
        rc = run_client(ex, &run, tasks, bytes, batch);
        if (ps_executor_shutdown(ex) != PS_OK && rc == 0)
            rc = -1;
    }
    return paper_finish(&run, rc);
}
