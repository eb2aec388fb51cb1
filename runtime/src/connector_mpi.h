/*
 * connector_mpi.h — what the mpi:// connector (connector_mpi.c, built with
 * MPI only) offers besides its ops: the same-node arenas' upkeep.
 */
#ifndef PS_CONNECTOR_MPI_H
#define PS_CONNECTOR_MPI_H

#include <stddef.h>

#include "connector.h"
#include "shm_arena.h"

/* Remove the same-node arenas in dir that crashed jobs left behind: files
 * named ps-mpi.*+.arena that no living process has open, created at least
 * min_age_s seconds ago.  How many were removed.  ps_mpi_init runs it on
 * one rank of each node. */
size_t ps_mpi_remove_abandoned_arenas(const char *dir, int min_age_s);

/* Figures of rank's arena of conn's space (this rank's, or a same-node
 * peer's as this rank maps it): for tests and tools.  PS_ERR_NOT_FOUND when
 * that rank has no arena this rank can see. */
ps_status ps_mpi_arena_stats(ps_connector *conn, int rank, shm_arena_stats *out);

/* How many requests from other ranks this rank's service thread has
 * answered since the library was loaded: for tests that show an operation
 * needed no message. */
unsigned long long ps_mpi_requests_served(void);

#endif /* PS_CONNECTOR_MPI_H */
