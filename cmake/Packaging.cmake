# Packaging.cmake — `cpack` builds a Debian package of everything `cmake
# --install` installs: the library (shared and static), the headers, the
# CMake and pkg-config files, ps-check, ps-store, their manual pages and
# the docs.  Configure with -DCMAKE_INSTALL_PREFIX=/usr for a package that
# installs where Debian puts things (lib/<arch>, no rpath in the .pc file).
#   cmake -S . -B build-deb -DCMAKE_INSTALL_PREFIX=/usr && cmake --build build-deb
#   cd build-deb && cpack            -> proxystore_<version>_<arch>.deb
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME proxystore)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "Pass large objects between processes by proxy (C library and ps-check)")
set(CPACK_PACKAGE_CONTACT "ProxyStore for C maintainers <proxystore@localhost>")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION libs)
# The libraries the library and the tools link (Debian 12 names); ps-check
# also needs clang's resource directory, which libclang-common-19-dev holds.
set(CPACK_DEBIAN_PACKAGE_DEPENDS "libhiredis0.14, libxxhash0")
if(PS_BUILD_ANALYZER)
  string(APPEND CPACK_DEBIAN_PACKAGE_DEPENDS ", libclang1-19, libclang-common-19-dev, libcjson1")
elseif(PS_BUILD_TOOLS)
  string(APPEND CPACK_DEBIAN_PACKAGE_DEPENDS ", libcjson1")
endif()
set(CPACK_PACKAGING_INSTALL_PREFIX ${CMAKE_INSTALL_PREFIX})
include(CPack)
