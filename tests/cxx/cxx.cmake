# The public headers from C++ (tests/cxx/check.sh).
if(PS_SANITIZE)
  set(PS_CXX_CHECK_LIB -)
else()
  set(PS_CXX_CHECK_LIB $<TARGET_FILE:proxystore_static>)
endif()
set(PS_CXX_EXTRA_LIBS -lcjson)
if(PS_HAVE_MPI)
  list(APPEND PS_CXX_EXTRA_LIBS ${MPI_C_LIBRARIES})
endif()
add_test(NAME cxx_headers
         COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/cxx/check.sh ${PROJECT_SOURCE_DIR}
                 ${PROJECT_BINARY_DIR}/runtime/include ${PS_CXX_CHECK_LIB} ${PS_CXX_EXTRA_LIBS})
set_tests_properties(cxx_headers PROPERTIES TIMEOUT 300 LABELS runtime)
