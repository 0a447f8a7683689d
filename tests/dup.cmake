# SPDX-License-Identifier: Apache-2.0
# Synthetic package builder (core/src/pkg) and the sqn-dup command.
if(TARGET sqnup_pkg)
  sqn_add_check_test(test_pkg
    SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_pkg.c
    LIBS sqnup_pkg sqnup_codec
    LABELS unit
    TIMEOUT 60)
endif()

if(TARGET sqn-dup)
  find_program(SQN_BASH bash)
  if(SQN_BASH)
    add_test(NAME test_dup_cli
      COMMAND ${SQN_BASH} ${CMAKE_CURRENT_SOURCE_DIR}/integration/test_dup_cli.sh
              $<TARGET_FILE:sqn-dup> ${CMAKE_SOURCE_DIR}
              ${CMAKE_CURRENT_BINARY_DIR}/dup-cli)
    set_tests_properties(test_dup_cli PROPERTIES LABELS unit TIMEOUT 120
                         SKIP_RETURN_CODE 77)
  endif()
endif()
