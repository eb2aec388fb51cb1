/*
 * proxystore/mpi.h — the mpi:// connector's link to the MPI job
 * (docs/connectors/mpi.md).
 *
 * Installed only when libproxystore was built with MPI.  mpi://[NAME] keeps
 * each object in the memory of the rank that put it; any other rank of the
 * same job fetches it from there, with no server in between.  Each rank
 * answers its peers from a service thread, so the library needs
 * MPI_THREAD_MULTIPLE:
 *
 *     int provided;
 *     MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &provided);
 *     ps_mpi_init(MPI_COMM_WORLD);             collective over the comm
 *     ps_store *s = ps_store_open("data", "mpi://", NULL);   not collective
 *     ...
 *     ps_mpi_finalize();                       collective; MPI_Finalize does it too
 *     MPI_Finalize();
 */
#ifndef PROXYSTORE_MPI_H
#define PROXYSTORE_MPI_H

#include <mpi.h>

#include <proxystore/proxystore.h>

#ifdef __cplusplus
extern "C" {
#endif

#pragma GCC visibility push(default)

/*
 * Join the job: collective over comm (duplicated for the library's own
 * traffic, so it never matches the program's messages).  Starts this rank's
 * service thread, agrees on a job identity that every key carries, and
 * finds which ranks share a node (they read each other's objects in place,
 * from shared-memory arenas in /dev/shm; arenas that crashed jobs left
 * there are removed).
 * PS_ERR_STATE when MPI is not initialised, was initialised below
 * MPI_THREAD_MULTIPLE, or ps_mpi_init already ran; every rank of comm gets
 * the same answer.
 */
ps_status ps_mpi_init(MPI_Comm comm);
/*
 * Leave the job: collective over the ranks of ps_mpi_init's comm.  Waits
 * until every rank gets here (so no peer still needs this rank's objects),
 * then stops the service thread, removes this rank's arena files and
 * unmaps its peers' (views still held stay valid until released), and
 * frees the communicator.  MPI_Finalize
 * does the same for a program that did not call it.  Objects stay readable
 * on their own rank; fetches from other ranks fail with PS_ERR_STATE.
 * Harmless when not initialised.
 */
ps_status ps_mpi_finalize(void);
/* This rank in ps_mpi_init's comm, or -1 outside it. */
int ps_mpi_rank(void);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif

#endif /* PROXYSTORE_MPI_H */
