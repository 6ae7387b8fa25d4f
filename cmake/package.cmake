# The pipes library as a Debian package: `cpack -G DEB` in a build directory makes
# libpipes-dev_<version>_<arch>.deb with the static library, its headers, its CMake package
# (find_package(pipes 1)) and its pkg-config file (pkg-config pipes). Only pipes has install
# rules, so nothing of the benchmark suite goes in.
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME libpipes-dev)
set(CPACK_PACKAGE_VERSION ${PIPES_VERSION})
set(CPACK_PACKAGE_CONTACT "pipebench developers")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "pipes: fast, safe message pipes between processes, wire-compatible with Python's multiprocessing.connection")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION libdevel)
# pipes/typed.hpp includes cereal (header-only); the CMake package finds it as a dependency.
set(CPACK_DEBIAN_PACKAGE_DEPENDS "libcereal-dev")
include(CPack)
