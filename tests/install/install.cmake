# The installed package works from outside the tree (find_package and
# pkg-config, shared and static).  Skipped under sanitizers: the consumer
# is built without them.
if(NOT PS_SANITIZE)
  add_test(NAME install_consumer
           COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/install/check-install.sh ${CMAKE_BINARY_DIR} ${PROJECT_SOURCE_DIR})
  set_tests_properties(install_consumer PROPERTIES TIMEOUT 300 LABELS install)
endif()

# cpack's Debian package (a separate /usr build; its contents listed with
# dpkg-deb).  Skipped under sanitizers like the install test.
if(NOT PS_SANITIZE)
  add_test(NAME debian_package COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/install/check-package.sh ${PROJECT_SOURCE_DIR})
  set_tests_properties(debian_package PROPERTIES TIMEOUT 600 LABELS install)
endif()
