# PsCheck.cmake — run ps-check over a project's compile_commands.json.
#
#   include(PsCheck)        # or include(${ProxyStore_DIR}/PsCheck.cmake)
#   ps_check_add_target(
#     [NAME target]           custom target name (default: ps-check, or
#                             ps-check-run when a ps-check target exists)
#     [BUILD_DIR dir]         where compile_commands.json is (default: CMAKE_BINARY_DIR)
#     [ROOT dir]              the analyzed tree (default: PROJECT_SOURCE_DIR)
#     [CONFIG file]           a .ps-check.json (default: the nearest one)
#     [FORMAT text|json|sarif]
#     [OUTPUT file]           write the report there instead of the console
#     [BASELINE file]         hide the findings recorded in file
#     [JOBS n]                parallel parses (default: one per CPU)
#     [STRICT]                also report unannotated proxies
#     [PATHS path ...]        check only these files/directories
#     [OPTIONS opt ...]       any other ps-check options
#     [PARSER_ARGS arg ...]   extra arguments for the parser (after --)
#     [EXECUTABLE path])      ps-check to run (default: the ps-check target
#                             of this build, else ps-check on PATH)
#
# `cmake --build build --target ps-check` then fails when ps-check reports
# findings (exit 1), a file does not parse (3) or the setup is wrong (2);
# docs/ci.md has the details and a CI workflow.

function(ps_check_add_target)
  cmake_parse_arguments(PARSE_ARGV 0 PSC "STRICT"
    "NAME;BUILD_DIR;ROOT;CONFIG;FORMAT;OUTPUT;BASELINE;JOBS;EXECUTABLE"
    "PATHS;OPTIONS;PARSER_ARGS")
  if(PSC_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "ps_check_add_target: unknown arguments: ${PSC_UNPARSED_ARGUMENTS}")
  endif()

  # A target named ps-check is the executable only when it is one: an
  # earlier call of this function may have made "ps-check" the check target.
  set(have_exe_target OFF)
  if(TARGET ps-check)
    get_target_property(ps_check_type ps-check TYPE)
    if(ps_check_type STREQUAL "EXECUTABLE")
      set(have_exe_target ON)
    endif()
  endif()

  set(exe_depends "")
  if(PSC_EXECUTABLE)
    set(exe "${PSC_EXECUTABLE}")
  elseif(have_exe_target)
    set(exe "$<TARGET_FILE:ps-check>")
    set(exe_depends ps-check)
  else()
    find_program(PS_CHECK_EXECUTABLE ps-check)
    if(NOT PS_CHECK_EXECUTABLE)
      message(FATAL_ERROR "ps_check_add_target: ps-check not found (install ProxyStore's "
                          "ps-check or pass EXECUTABLE)")
    endif()
    set(exe "${PS_CHECK_EXECUTABLE}")
  endif()

  if(NOT PSC_NAME)
    # A target cannot share its name with the ps-check executable target.
    if(have_exe_target)
      set(PSC_NAME ps-check-run)
    else()
      set(PSC_NAME ps-check)
    endif()
  endif()
  if(TARGET ${PSC_NAME})
    message(FATAL_ERROR "ps_check_add_target: a target named '${PSC_NAME}' exists already; "
                        "give each call its own NAME")
  endif()
  if(NOT PSC_BUILD_DIR)
    set(PSC_BUILD_DIR "${CMAKE_BINARY_DIR}")
  endif()
  if(NOT PSC_ROOT)
    set(PSC_ROOT "${PROJECT_SOURCE_DIR}")
  endif()
  if(PSC_BUILD_DIR STREQUAL CMAKE_BINARY_DIR AND NOT CMAKE_EXPORT_COMPILE_COMMANDS)
    message(WARNING "ps_check_add_target: set CMAKE_EXPORT_COMPILE_COMMANDS ON so that "
                    "${CMAKE_BINARY_DIR}/compile_commands.json exists")
  endif()

  set(cmd "${exe}" -p "${PSC_BUILD_DIR}" --root "${PSC_ROOT}")
  if(PSC_CONFIG)
    list(APPEND cmd --config "${PSC_CONFIG}")
  endif()
  if(PSC_FORMAT)
    list(APPEND cmd "--format=${PSC_FORMAT}")
  endif()
  if(PSC_OUTPUT)
    list(APPEND cmd -o "${PSC_OUTPUT}")
  endif()
  if(PSC_BASELINE)
    list(APPEND cmd --baseline "${PSC_BASELINE}")
  endif()
  if(PSC_JOBS)
    list(APPEND cmd -j "${PSC_JOBS}")
  endif()
  if(PSC_STRICT)
    list(APPEND cmd --strict)
  endif()
  list(APPEND cmd ${PSC_OPTIONS} ${PSC_PATHS})
  if(PSC_PARSER_ARGS)
    list(APPEND cmd -- ${PSC_PARSER_ARGS})
  endif()

  add_custom_target(${PSC_NAME}
    COMMAND ${cmd}
    WORKING_DIRECTORY "${PSC_ROOT}"
    COMMENT "ps-check: checking the sources in ${PSC_BUILD_DIR}/compile_commands.json"
    VERBATIM USES_TERMINAL)
  if(exe_depends)
    add_dependencies(${PSC_NAME} ${exe_depends})
  endif()
endfunction()
