# SPDX-License-Identifier: Apache-2.0
# sqn_tool: what every command-line tool shares: --version (project version
# plus `git describe` when built from a git checkout) and where the data
# (named states, scenarios, host scripts, packages) lives.
#
# The data directory is found at run time, never baked in as a source path:
#   $SQNUP_DATADIR, else <dir>/share/sqnup for the executable's directory and
#   up to three parents (installed: <prefix>/bin -> <prefix>/share/sqnup; build
#   tree: <build>/share/sqnup, a symlink to the source's fixtures/ made at
#   configure time), else the configured ${CMAKE_INSTALL_FULLDATADIR}/sqnup.
include(GNUInstallDirs)
set(SQN_GEN_DIR ${CMAKE_BINARY_DIR}/gen)
add_custom_target(sqn_version
  COMMAND ${CMAKE_COMMAND} -DSRC=${CMAKE_SOURCE_DIR}
          -DOUT=${SQN_GEN_DIR}/sqn_version.h -DVERSION=${PROJECT_VERSION}
          -P ${CMAKE_SOURCE_DIR}/cmake/SqnGitDescribe.cmake
  BYPRODUCTS ${SQN_GEN_DIR}/sqn_version.h
  COMMENT "" VERBATIM)

file(MAKE_DIRECTORY ${CMAKE_BINARY_DIR}/share)
file(CREATE_LINK ${CMAKE_SOURCE_DIR}/fixtures ${CMAKE_BINARY_DIR}/share/sqnup
     SYMBOLIC)

add_library(sqn_tool STATIC ${CMAKE_SOURCE_DIR}/core/tools/common/tool.c)
add_dependencies(sqn_tool sqn_version)
target_include_directories(sqn_tool PUBLIC ${CMAKE_SOURCE_DIR}/core/tools/common
                           PRIVATE ${SQN_GEN_DIR})
target_compile_definitions(sqn_tool PRIVATE _DEFAULT_SOURCE
  SQN_INSTALL_DATADIR="${CMAKE_INSTALL_FULLDATADIR}/sqnup")
sqn_target_warnings(sqn_tool)
