# The example of docs/connectors/multi.md.
if(TARGET multi_policy)
  add_test(NAME example_multi_policy COMMAND multi_policy)
  set_tests_properties(example_multi_policy PROPERTIES TIMEOUT 60 LABELS runtime)
endif()
