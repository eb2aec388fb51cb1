/*
 * proxystore/executor_mpi.h — the executor's MPI backend (docs/executor.md).
 *
 * Installed only when libproxystore was built with MPI.  Every rank of the
 * communicator runs the same program, registers the same tasks, opens the
 * same store and calls ps_executor_mpi (collective).  Rank 0 is the client:
 * it gets the executor and submits.  The other ranks serve tasks inside the
 * call and return once the client shuts the executor down:
 *
 *     int provided;
 *     MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &provided);
 *     register tasks; open the store; fill opts
 *     ps_executor *ex;
 *     ps_executor_mpi(MPI_COMM_WORLD, PS_EXECUTOR_DIRECT, &opts, &ex);
 *     if (ex) { submit, wait, ...; ps_executor_shutdown(ex); }
 *     MPI_Finalize();
 *
 * Task messages are MPI point-to-point: arguments below the proxy policy go
 * by value inside the message, the others as descriptors that the worker
 * resolves from the store (shm:// on one node, redis:// or file:// across
 * nodes).  A message holds at most 2 GiB (MPI's int counts): bigger objects
 * must be proxied.
 */
#ifndef PROXYSTORE_EXECUTOR_MPI_H
#define PROXYSTORE_EXECUTOR_MPI_H

#include <mpi.h>

#include <proxystore/executor.h>

#ifdef __cplusplus
extern "C" {
#endif

#pragma GCC visibility push(default)

typedef enum ps_executor_topology {
    /* rank 0 sends each task straight to an idle worker (ranks 1..n-1) */
    PS_EXECUTOR_DIRECT = 0,
    /* rank 1 is a scheduler between the client and the workers (ranks
     * 2..n-1), as Dask's scheduler sits between its client and workers:
     * every task and result makes one more hop */
    PS_EXECUTOR_SCHEDULER,
} ps_executor_topology;

/*
 * Collective over comm (duplicated for the executor's messages).  On rank 0,
 * *client_out is the executor; on every other rank the call serves until
 * the client's ps_executor_shutdown, then returns PS_OK with *client_out
 * NULL.  Needs MPI initialised with MPI_THREAD_MULTIPLE (the client
 * receives results on a thread of its own), at least 2 ranks (3 with the
 * scheduler); otherwise PS_ERR_STATE on every rank.  opts is each rank's:
 * a worker proxies results by its own policy into its own opts->store.
 */
ps_status ps_executor_mpi(MPI_Comm comm, ps_executor_topology topology,
                          const ps_executor_options *opts, ps_executor **client_out);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif

#endif /* PROXYSTORE_EXECUTOR_MPI_H */
