# cmake/PsCheck.cmake works in a user's project: its ps-check target
# succeeds on clean sources and fails (with a SARIF report) on a finding.
if(TARGET ps-check)
  add_test(NAME ps_check_cmake_target
    COMMAND ${CMAKE_COMMAND}
            -DPS_CHECK_EXE=$<TARGET_FILE:ps-check>
            -DPS_CHECK_MODULE=${PROJECT_SOURCE_DIR}/cmake/PsCheck.cmake
            -DPS_ANNOTATIONS_DIR=${PROJECT_SOURCE_DIR}/annotations
            -DSOURCE=${CMAKE_CURRENT_SOURCE_DIR}/analyzer/pscheck_consumer
            -DWORK=${CMAKE_CURRENT_BINARY_DIR}/pscheck_consumer
            -P ${CMAKE_CURRENT_SOURCE_DIR}/analyzer/pscheck_consumer/run_test.cmake)
  set_tests_properties(ps_check_cmake_target PROPERTIES TIMEOUT 300 LABELS analyzer)
endif()
