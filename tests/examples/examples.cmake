# The example programs, run as tests so they keep working: the executor
# workflow on threads (shm:// and local://).  Its MPI runs are in
# tests/mpi/mpi.cmake, with the other mpirun tests.
if(NOT TARGET executor_workflow)
  return()
endif()
add_test(NAME example_executor_threads_shm
         COMMAND executor_workflow shm://ex-workflow-test)
add_test(NAME example_executor_threads_local COMMAND executor_workflow local://)
set_tests_properties(example_executor_threads_shm example_executor_threads_local
  PROPERTIES TIMEOUT 120 LABELS examples ENVIRONMENT "${PS_TEST_ENV}"
  PASS_REGULAR_EXPRESSION "store here: 12 objects put, 12 evicted; workflow ok")
