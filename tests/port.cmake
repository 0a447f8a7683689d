# SPDX-License-Identifier: Apache-2.0
# The POSIX termios port's error paths (core/port) and the error table.
if(TARGET sqnup_posix)
  sqn_add_check_test(test_posix_port
    SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_posix_port.c
    LIBS sqnup_posix util
    LABELS unit)
endif()

# The error table of libsqnup (core/src/update/err.c).
if(TARGET sqnup)
  sqn_add_check_test(test_err
    SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_err.c
    LIBS sqnup
    LABELS unit)
endif()
