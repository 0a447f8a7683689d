# SPDX-License-Identifier: Apache-2.0
# `cpack -G DEB` in the build folder: sqnup_<version>_<arch>.deb (tools,
# libsqnup.so.N, data, man pages, completion) and
# libsqnup-dev_<version>_<arch>.deb (headers, .so link, .a, .pc, CMake
# package, libsqnup(3)). Depends are computed by dpkg-shlibdeps from the
# binaries (libuv1, libcyaml1, libjansson4, libc6), not typed here; the
# shlibs file of libsqnup and its ldconfig trigger are generated too.
set(CPACK_PACKAGE_NAME sqnup)
set(CPACK_PACKAGE_VENDOR "sqnup")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "${SQN_MAINTAINER}")
# No CPACK_PACKAGE_DESCRIPTION_SUMMARY: CPack would put it before each
# component's description, whose first line is already its synopsis.
set(CPACK_RESOURCE_FILE_LICENSE ${CMAKE_SOURCE_DIR}/LICENSE)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_DIRECTORY ${CMAKE_BINARY_DIR}/packages)

set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL bin dev)
set(CPACK_COMPONENT_DEV_DEPENDS bin)
set(CPACK_DEBIAN_ENABLE_COMPONENT_DEPENDS ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${SQN_MAINTAINER}")
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# libsqnup's shlibs file (for packages built against it) and an ldconfig
# trigger, as Debian policy wants; CPack's own GENERATE_SHLIBS would add
# maintainer scripts that call ldconfig instead.
file(WRITE ${CMAKE_BINARY_DIR}/deb/shlibs
     "libsqnup ${PROJECT_VERSION_MAJOR} sqnup (= ${PROJECT_VERSION})\n")
file(WRITE ${CMAKE_BINARY_DIR}/deb/triggers "activate-noawait ldconfig\n")
set(CPACK_DEBIAN_BIN_PACKAGE_CONTROL_EXTRA
    ${CMAKE_BINARY_DIR}/deb/shlibs ${CMAKE_BINARY_DIR}/deb/triggers)
set(CPACK_DEBIAN_BIN_PACKAGE_CONTROL_STRICT_PERMISSION ON)

set(CPACK_DEBIAN_BIN_PACKAGE_NAME sqnup)
set(CPACK_DEBIAN_BIN_PACKAGE_SECTION electronics)
set(CPACK_COMPONENT_BIN_DESCRIPTION
"upgrade and rescue Sequans Monarch LTE modems, and emulate one
sqn-update upgrades or rescues a Sequans Monarch modem (SQN3330 on Pycom
GPy/FiPy, GM02S on Walter) over its UART, from whatever state it is in,
with every wait bounded. sqn-sim emulates the modem on a pseudo-terminal,
with a flash that survives power cuts and injectable faults, so any
updater can be tested in CI without hardware. sqn-scenario runs
fault-injection scenarios, power-cut sweeps and fault campaigns;
sqn-dup builds synthetic packages; sqn-chat replays public updaters.

This package also holds libsqnup's shared library.")

set(CPACK_DEBIAN_DEV_PACKAGE_NAME libsqnup-dev)
set(CPACK_DEBIAN_DEV_PACKAGE_SECTION libdevel)
set(CPACK_DEBIAN_DEV_PACKAGE_SHLIBDEPS OFF)
set(CPACK_COMPONENT_DEV_DESCRIPTION
"portable updater library for Sequans Monarch LTE modems (development)
libsqnup is the sans-IO update procedure behind sqn-update: it reads no
clock, never blocks, allocates nothing and keeps no globals, so it runs on
a PC and on a microcontroller next to the modem.

This package holds the headers, the static library, libsqnup.pc and the
CMake package (find_package(sqnup), target sqnup::sqnup).")

include(CPack)
