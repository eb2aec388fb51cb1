# ps-check over this project's own sources (as sparse's `make selfcheck`):
# the compile database of this very build, restricted to the project's
# directories, must give no finding and parse everywhere (exit 0).
# Deliberately wrong inputs (the buggy example, fixtures, and the runtime
# tests that break the ownership rules on purpose to see the runtime refuse
# them) are skipped by a
# configuration written here, so the tree's own .ps-check.json, if any,
# is not what this test depends on.
if(TARGET ps-check)
  set(PS_SELFCHECK_CONFIG ${CMAKE_CURRENT_BINARY_DIR}/selfcheck.ps-check.json)
  file(WRITE ${PS_SELFCHECK_CONFIG}
"{
  \"skip\": [
    \"${PROJECT_SOURCE_DIR}/fixtures\",
    \"${PROJECT_SOURCE_DIR}/examples/*_buggy.c\",
    \"${PROJECT_SOURCE_DIR}/tests/runtime/ownership.c\",
    \"${PROJECT_SOURCE_DIR}/tests/runtime/test_ownership_cross.c\",
    \"${PROJECT_SOURCE_DIR}/tests/runtime/helper_borrower.c\"
  ]
}
")
  add_test(NAME ps_check_selfcheck
    COMMAND ps-check -p ${PROJECT_BINARY_DIR} --root ${PROJECT_SOURCE_DIR}
            --config ${PS_SELFCHECK_CONFIG} --no-progress
            ${PROJECT_SOURCE_DIR}/runtime ${PROJECT_SOURCE_DIR}/analyzer
            ${PROJECT_SOURCE_DIR}/tests ${PROJECT_SOURCE_DIR}/examples
            ${PROJECT_SOURCE_DIR}/bench
    WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
  set_tests_properties(ps_check_selfcheck PROPERTIES TIMEOUT 900 LABELS analyzer)
endif()
