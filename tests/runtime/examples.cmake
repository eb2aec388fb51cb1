# Example programs that must run as their docs say.
if(TARGET ownership_workers)
  # Workers borrow, the owner's release waits for them, the object is
  # evicted at the end.
  add_test(NAME example_ownership_workers COMMAND ownership_workers shm://ex-own-workers)
  set_tests_properties(example_ownership_workers PROPERTIES TIMEOUT 120 LABELS runtime
    PASS_REGULAR_EXPRESSION "release after the workers: PS_OK; object evicted")
endif()
