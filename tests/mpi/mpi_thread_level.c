/*
 * mpi_thread_level.c — ps_mpi_init refuses an MPI initialised below
 * MPI_THREAD_MULTIPLE with a clear error, and mpi:// then does not open
 * (tests/mpi/mpi.cmake runs it under mpirun -n 2).  Prints
 * "N passed, N failed"; exits non-zero on a failure.
 */
#include <stdio.h>
#include <string.h>

#include <mpi.h>

#include <proxystore/mpi.h>
#include <proxystore/proxystore.h>

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
    check(ps_mpi_init(MPI_COMM_WORLD) == PS_ERR_STATE && strstr(ps_last_error_message(), "not initialised"),
          "ps_mpi_init before MPI_Init");
    check(ps_store_open("early", "mpi://", NULL) == NULL && ps_last_error_code() == PS_ERR_STATE,
          "mpi:// before MPI_Init");
    MPI_Init(&argc, &argv); /* MPI_THREAD_SINGLE */
    int provided = -1;
    MPI_Query_thread(&provided);
    if (provided < MPI_THREAD_MULTIPLE) {
        check(ps_mpi_init(MPI_COMM_WORLD) == PS_ERR_STATE &&
                  strstr(ps_last_error_message(), "MPI_THREAD_MULTIPLE"),
              "ps_mpi_init below MPI_THREAD_MULTIPLE names the level it needs");
        check(ps_store_open("s", "mpi://", NULL) == NULL && ps_last_error_code() == PS_ERR_STATE &&
                  strstr(ps_last_error_message(), "ps_mpi_init"),
              "mpi:// without ps_mpi_init says what to call");
    }
    check(ps_mpi_finalize() == PS_OK, "ps_mpi_finalize without ps_mpi_init is harmless");
    MPI_Finalize();
    check(ps_mpi_init(MPI_COMM_WORLD) == PS_ERR_STATE && strstr(ps_last_error_message(), "finalized"),
          "ps_mpi_init after MPI_Finalize");
    printf("mpi_thread_level: %d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
