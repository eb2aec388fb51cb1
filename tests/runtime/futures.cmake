# The futures suite, built once per connector like the contract suite.
foreach(kind local shm file redis)
  ps_runtime_test(future_${kind} ${CMAKE_CURRENT_SOURCE_DIR}/runtime/future_suite.c)
  target_compile_definitions(future_${kind} PRIVATE PS_FUTURE_KIND="${kind}")
  add_dependencies(future_${kind} helper_future)
endforeach()
