# Script for the ps_check_cmake_target test (cmake -P), in this directory so
# that tests/CMakeLists.txt does not include it as a registration file.
# Build target in build; it must fail exactly when expect_failure.
function(build_and_check build target expect_failure)
  execute_process(COMMAND ${CMAKE_COMMAND} --build ${build} --target ${target}
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(expect_failure AND rc EQUAL 0)
    message(FATAL_ERROR "the ${target} target passed on a buggy file:\n${out}\n${err}")
  elseif(NOT expect_failure AND NOT rc EQUAL 0)
    message(FATAL_ERROR "the ${target} target failed on clean sources:\n${out}\n${err}")
  endif()
endfunction()

function(configure_and_check with_bug expect_failure)
  set(build ${WORK}/bug-${with_bug})
  file(REMOVE_RECURSE ${build})
  execute_process(COMMAND ${CMAKE_COMMAND} -S ${SOURCE} -B ${build} -DWITH_BUG=${with_bug}
                          -DPS_CHECK_EXE=${PS_CHECK_EXE} -DPS_CHECK_MODULE=${PS_CHECK_MODULE}
                          -DPS_ANNOTATIONS_DIR=${PS_ANNOTATIONS_DIR} -DPS_CHECK_EXECUTABLE=${PS_CHECK_EXE}
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "configuring the consumer failed:\n${out}\n${err}")
  endif()
  build_and_check(${build} ps-check ${expect_failure})
  build_and_check(${build} ps-check-text ${expect_failure})
  file(READ ${build}/ps-check.sarif sarif)
  string(FIND "${sarif}" "\"version\":\t\"2.1.0\"" has_version)
  string(FIND "${sarif}" "ps-target-mismatch\",\n\t\t\t\t\t\"ruleIndex\"" has_result)
  if(has_version EQUAL -1)
    message(FATAL_ERROR "no SARIF report:\n${sarif}")
  endif()
  if(expect_failure AND has_result EQUAL -1)
    message(FATAL_ERROR "the SARIF report lacks the finding:\n${sarif}")
  endif()
endfunction()

configure_and_check(OFF FALSE)
configure_and_check(ON TRUE)
