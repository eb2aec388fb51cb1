/*
 * mpi_finalize_hook.c — a program that never calls ps_mpi_finalize: its
 * MPI_Finalize leaves the job for it (the service threads stop, nothing
 * hangs), the rank's same-node arena file is removed, and the rank's own
 * objects stay readable afterwards (tests/mpi/mpi.cmake runs it under
 * mpirun -n 2, both ranks on one node).  Prints
 * "N passed, N failed"; exits non-zero on a failure.
 */
#include <stdio.h>
#include <string.h>

#include <mpi.h>

#include <proxystore/mpi.h>
#include <proxystore/proxystore.h>

#include "dir_entries.h"

static int passed, failed;

static void check(int ok, const char *what)
{
    if (ok) {
        passed++;
    } else {
        failed++;
        fprintf(stderr, "check failed: %s [last error: %s]\n", what, ps_last_error_message());
    }
}

int main(int argc, char **argv)
{
    int provided, rank, size;
    MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &provided);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    check(ps_mpi_init(MPI_COMM_WORLD) == PS_OK, "ps_mpi_init");
    ps_store *store = ps_store_open("hook", "mpi://hook", NULL);
    check(store != NULL, "open");
    int64_t mine = 1000 + rank;
    char key[PS_KEY_MAX] = "", peer_key[PS_KEY_MAX] = "";
    check(ps_store_put(store, &ps_type_int64, &mine, 1, key) == PS_OK, "put");
    /* Each rank reads the next rank's object: both service threads work. */
    int next = (rank + 1) % size, prev = (rank + size - 1) % size;
    MPI_Sendrecv(key, PS_KEY_MAX, MPI_CHAR, prev, 0, peer_key, PS_KEY_MAX, MPI_CHAR, next, 0, MPI_COMM_WORLD,
                 MPI_STATUS_IGNORE);
    int64_t *got = ps_store_get(store, peer_key, &ps_type_int64, NULL);
    check(got && *got == 1000 + next, "get from the next rank");
    ps_object_free(&ps_type_int64, got);
    /* "mpi.<job>.<rank>.<random>": this rank's arena is ps-mpi.<job>.<rank>.* */
    char arena_prefix[64];
    snprintf(arena_prefix, sizeof arena_prefix, "ps-%.*s", (int)(strrchr(key, '.') - key + 1), key);
    check(ps_test_count_entries("/dev/shm", arena_prefix) == 1, "this rank's arena file while in the job");

    MPI_Finalize(); /* leaves the job: no ps_mpi_finalize was called */
    check(ps_test_count_entries("/dev/shm", arena_prefix) == 0, "MPI_Finalize removed this rank's arena file");
    check(ps_mpi_rank() == -1, "MPI_Finalize left the job");
    got = ps_store_get(store, key, &ps_type_int64, NULL);
    check(got && *got == mine, "own object still readable");
    ps_object_free(&ps_type_int64, got);
    check(ps_store_get(store, peer_key, &ps_type_int64, NULL) == NULL && ps_last_error_code() == PS_ERR_NOT_FOUND &&
              strstr(ps_last_error_message(), "no other rank can be asked"),
          "another rank's object cannot be fetched after MPI_Finalize");
    check(ps_mpi_finalize() == PS_OK, "ps_mpi_finalize after MPI_Finalize is harmless");
    ps_store_close(store);
    printf("mpi_finalize_hook rank %d: %d passed, %d failed\n", rank, passed, failed);
    return failed ? 1 : 0;
}
