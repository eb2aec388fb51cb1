# Script for the ps_check_cmake_target test (cmake -P), in this directory so
# that tests/CMakeLists.txt does not include it as a registration file.
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
  execute_process(COMMAND ${CMAKE_COMMAND} --build ${build} --target ps-check
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(expect_failure AND rc EQUAL 0)
    message(FATAL_ERROR "the ps-check target passed on a buggy file:\n${out}\n${err}")
  elseif(NOT expect_failure AND NOT rc EQUAL 0)
    message(FATAL_ERROR "the ps-check target failed on clean sources:\n${out}\n${err}")
  endif()
  execute_process(COMMAND ${CMAKE_COMMAND} --build ${build} --target ps-check-text
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(expect_failure AND rc EQUAL 0)
    message(FATAL_ERROR "the second (text) target passed on a buggy file:\n${out}\n${err}")
  elseif(NOT expect_failure AND NOT rc EQUAL 0)
    message(FATAL_ERROR "the second (text) target failed on clean sources:\n${out}\n${err}")
  endif()
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
