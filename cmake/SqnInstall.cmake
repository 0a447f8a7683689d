# SPDX-License-Identifier: Apache-2.0
# cmake --install: the five tools, libsqnup (shared with a SONAME, and
# static), its headers, libsqnup.pc, the CMake package (sqnup::sqnup), the
# data (named states, scenarios, host scripts, synthetic packages) in
# share/sqnup, man pages, bash completion, and the licence. Components:
#   bin  the tools, libsqnup.so.N, data, man 1/5, completion  -> sqnup
#   dev  headers, libsqnup.so, libsqnup.a, .pc, CMake, man 3  -> libsqnup-dev
# and `cpack -G DEB` packages each (cmake/SqnPackage.cmake, README "Install").
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(SQN_MAINTAINER "sqnup developers <sqnup@users.noreply.github.com>"
    CACHE STRING "Maintainer field of the Debian packages")
set(SQN_DATADIR ${CMAKE_INSTALL_DATADIR}/sqnup)

foreach(t sqn-sim sqn-update sqn-dup sqn-scenario sqn-chat)
  if(TARGET ${t})
    install(TARGETS ${t} RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
            COMPONENT bin)
  endif()
endforeach()

install(TARGETS sqnup_shared EXPORT sqnupTargets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT bin
          NAMELINK_COMPONENT dev)
install(TARGETS sqnup_static EXPORT sqnupTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT dev)
install(DIRECTORY ${CMAKE_SOURCE_DIR}/core/include/sqnup
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} COMPONENT dev
  FILES_MATCHING PATTERN "*.h")

# pkg-config: prefix relative to the .pc file, so the file stays right for
# `cmake --install --prefix P` and for the package (prefix /usr) alike.
file(RELATIVE_PATH SQN_PC_UP /p/${CMAKE_INSTALL_LIBDIR}/pkgconfig /p)
string(REGEX REPLACE "/$" "" SQN_PC_UP "${SQN_PC_UP}")
set(SQN_PC_LIBDIR "\${exec_prefix}/${CMAKE_INSTALL_LIBDIR}")
set(SQN_PC_INCLUDEDIR "\${prefix}/${CMAKE_INSTALL_INCLUDEDIR}")
configure_file(${CMAKE_SOURCE_DIR}/packaging/libsqnup.pc.in
               ${CMAKE_BINARY_DIR}/libsqnup.pc @ONLY)
install(FILES ${CMAKE_BINARY_DIR}/libsqnup.pc
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig COMPONENT dev)

set(SQN_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/sqnup)
install(EXPORT sqnupTargets NAMESPACE sqnup:: DESTINATION ${SQN_CMAKE_DIR}
        COMPONENT dev)
configure_package_config_file(${CMAKE_SOURCE_DIR}/packaging/sqnupConfig.cmake.in
  ${CMAKE_BINARY_DIR}/sqnupConfig.cmake INSTALL_DESTINATION ${SQN_CMAKE_DIR}
  PATH_VARS SQN_DATADIR CMAKE_INSTALL_BINDIR CMAKE_INSTALL_INCLUDEDIR)
# 0.x: a new minor version may break the API.
write_basic_package_version_file(${CMAKE_BINARY_DIR}/sqnupConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_BINARY_DIR}/sqnupConfig.cmake
              ${CMAKE_BINARY_DIR}/sqnupConfigVersion.cmake
        DESTINATION ${SQN_CMAKE_DIR} COMPONENT dev)

# Data: what the scenarios and the tools' --from NAME need. Not the ELF
# images: no scenario reads them (the harness builds its updater.elf), and
# an ELF for another CPU has no place in share/ (`sqn-dup build-elf` makes
# one).
foreach(d states scenarios hosts packages)
  install(DIRECTORY ${CMAKE_SOURCE_DIR}/fixtures/${d} DESTINATION ${SQN_DATADIR}
          COMPONENT bin FILES_MATCHING PATTERN "*.json" PATTERN "*.yaml"
          PATTERN "*.chat" PATTERN "*.dup" PATTERN "*.md")
endforeach()

# The Wireshark dissector for sqn-sim --pcapng captures (docs/wireshark.md).
install(FILES ${CMAKE_SOURCE_DIR}/share/wireshark/sqnup.lua
        DESTINATION ${SQN_DATADIR}/wireshark COMPONENT bin)

foreach(t sqn-sim sqn-update sqn-dup sqn-scenario sqn-chat)
  install(FILES ${CMAKE_SOURCE_DIR}/completions/sqnup.bash
          DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions
          RENAME ${t} COMPONENT bin)
endforeach()

# Licence and Debian's copyright/changelog, per package.
foreach(pkg sqnup libsqnup-dev)
  if(pkg STREQUAL "sqnup")
    set(comp bin)
  else()
    set(comp dev)
  endif()
  set(SQN_DEB_NAME ${pkg})
  configure_file(${CMAKE_SOURCE_DIR}/packaging/changelog.in
                 ${CMAKE_BINARY_DIR}/doc/${pkg}/changelog @ONLY)
  add_custom_command(OUTPUT ${CMAKE_BINARY_DIR}/doc/${pkg}/changelog.gz
    COMMAND gzip -9nfk ${CMAKE_BINARY_DIR}/doc/${pkg}/changelog
    DEPENDS ${CMAKE_BINARY_DIR}/doc/${pkg}/changelog VERBATIM)
  list(APPEND SQN_DOC_OUTPUTS ${CMAKE_BINARY_DIR}/doc/${pkg}/changelog.gz)
  install(FILES ${CMAKE_SOURCE_DIR}/packaging/copyright
                ${CMAKE_BINARY_DIR}/doc/${pkg}/changelog.gz
          DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/${pkg} COMPONENT ${comp})
endforeach()
add_custom_target(sqn_doc ALL DEPENDS ${SQN_DOC_OUTPUTS})
install(FILES ${CMAKE_SOURCE_DIR}/README.md
        DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/sqnup COMPONENT bin)

# Man pages from man/*.scd (scdoc), gzipped as Debian wants them.
find_program(SQN_SCDOC scdoc)
file(GLOB SQN_MAN_SRC CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/man/*.scd)
if(SQN_SCDOC)
  foreach(src ${SQN_MAN_SRC})
    get_filename_component(page ${src} NAME_WE)   # sqn-sim
    get_filename_component(ext ${src} EXT)        # .1.scd
    string(REGEX REPLACE "^\\.([0-9])\\.scd$" "\\1" sec ${ext})
    set(out ${CMAKE_BINARY_DIR}/man/${page}.${sec})
    add_custom_command(OUTPUT ${out}.gz
      COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_BINARY_DIR}/man
      COMMAND sh -c "\"$0\" < \"$1\" > \"$2\" && gzip -9nf \"$2\""
              ${SQN_SCDOC} ${src} ${out}
      DEPENDS ${src} VERBATIM)
    list(APPEND SQN_MAN_OUTPUTS ${out}.gz)
    if(sec STREQUAL "3")
      set(comp dev)
    else()
      set(comp bin)
    endif()
    install(FILES ${out}.gz DESTINATION ${CMAKE_INSTALL_MANDIR}/man${sec}
            COMPONENT ${comp})
  endforeach()
  add_custom_target(sqn_man ALL DEPENDS ${SQN_MAN_OUTPUTS})
else()
  message(STATUS "scdoc not found: man pages not built (apt-get install scdoc)")
endif()

include(${CMAKE_SOURCE_DIR}/cmake/SqnPackage.cmake)
