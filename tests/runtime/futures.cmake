# The futures suite, built once per connector like the contract suite.
foreach(kind local shm shm-arena file redis)
  ps_runtime_test(future_${kind} ${CMAKE_CURRENT_SOURCE_DIR}/runtime/future_suite.c)
  target_compile_definitions(future_${kind} PRIVATE PS_FUTURE_KIND="${kind}")
  add_dependencies(future_${kind} helper_future)
endforeach()

# The example of docs/futures.md, run on shm and on file.
if(TARGET future_pipeline)
  add_test(NAME example_future_pipeline_shm COMMAND future_pipeline)
  add_test(NAME example_future_pipeline_file COMMAND future_pipeline file://${CMAKE_CURRENT_BINARY_DIR}/future-example)
  set_tests_properties(example_future_pipeline_shm example_future_pipeline_file PROPERTIES TIMEOUT 60 LABELS runtime)
endif()
