# SPDX-License-Identifier: Apache-2.0
# Every external dependency comes from a Debian package. A missing one stops the
# configure step and names the package to install.
find_package(PkgConfig QUIET)
if(NOT PKG_CONFIG_FOUND)
  message(FATAL_ERROR "pkg-config not found: apt-get install pkg-config")
endif()

macro(sqn_require_pkg var module debpkg)
  pkg_check_modules(${var} IMPORTED_TARGET ${module})
  if(NOT ${var}_FOUND)
    message(FATAL_ERROR "${module} not found: apt-get install ${debpkg}")
  endif()
endmacro()

sqn_require_pkg(LIBUV libuv libuv1-dev)
sqn_require_pkg(CYAML libcyaml libcyaml-dev)
sqn_require_pkg(JANSSON jansson libjansson-dev)
if(SQN_BUILD_TESTS)
  sqn_require_pkg(CHECK check check)
endif()

include(CheckSymbolExists)
set(CMAKE_REQUIRED_LIBRARIES util)
set(CMAKE_REQUIRED_DEFINITIONS -D_DEFAULT_SOURCE)
check_symbol_exists(openpty "pty.h" SQN_HAVE_OPENPTY)
unset(CMAKE_REQUIRED_LIBRARIES)
unset(CMAKE_REQUIRED_DEFINITIONS)
if(NOT SQN_HAVE_OPENPTY)
  message(FATAL_ERROR "openpty() not found: apt-get install libc6-dev")
endif()
