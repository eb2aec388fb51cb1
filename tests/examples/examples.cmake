# The per-connector examples run as users run them: a producer process and
# a consumer process it starts (examples/connectors/); each exits 0 only
# when the consumer's sum is the producer's.
if(TARGET shm_handoff)
  foreach(kind shm file)
    add_test(NAME example_${kind}_handoff COMMAND ${kind}_handoff)
  endforeach()
  add_test(NAME example_redis_handoff
           COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/examples/run-redis-example.sh $<TARGET_FILE:redis_handoff>
                   ${PROJECT_SOURCE_DIR})
  set_tests_properties(example_shm_handoff example_file_handoff example_redis_handoff
                       PROPERTIES TIMEOUT 120 LABELS examples ENVIRONMENT "${PS_TEST_ENV}")
endif()
# ... and ps-check finds nothing to report in them.
if(TARGET shm_handoff AND TARGET ps-check)
  add_test(NAME example_handoff_ps_check
           COMMAND ps-check ${PROJECT_SOURCE_DIR}/examples/connectors --
                   -I${PROJECT_SOURCE_DIR}/runtime/include -I${PROJECT_BINARY_DIR}/runtime/include)
  set_tests_properties(example_handoff_ps_check PROPERTIES TIMEOUT 120 LABELS examples)
endif()

# The example programs, run as tests so they keep working: the executor
# workflow on threads (shm:// with an arena and with segments, local://).  Its MPI runs are in
# tests/mpi/mpi.cmake, with the other mpirun tests.
if(TARGET executor_workflow)
add_test(NAME example_executor_threads_shm
         COMMAND executor_workflow shm://ex-workflow-test?arena=64M)
add_test(NAME example_executor_threads_segments
         COMMAND executor_workflow shm://ex-workflow-segments)
add_test(NAME example_executor_threads_local COMMAND executor_workflow local://)
set_tests_properties(example_executor_threads_shm example_executor_threads_segments example_executor_threads_local
  PROPERTIES TIMEOUT 120 LABELS examples ENVIRONMENT "${PS_TEST_ENV}"
  PASS_REGULAR_EXPRESSION "store here: 12 objects put, 12 evicted; workflow ok")
endif()
