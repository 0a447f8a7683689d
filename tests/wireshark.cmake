# SPDX-License-Identifier: Apache-2.0
# Field traces in, Wireshark out (issue 13): pcapng export and the Lua
# dissector under tshark (skips without tshark or a pty), the proxy mode.
find_program(SQN_BASH bash)
if(SQN_BASH AND TARGET sqn-sim AND TARGET sqn-update AND TARGET sqn-dup)
  add_test(NAME test_wireshark
    COMMAND ${SQN_BASH} ${CMAKE_CURRENT_SOURCE_DIR}/integration/test_wireshark.sh
            $<TARGET_FILE:sqn-sim> $<TARGET_FILE:sqn-update> $<TARGET_FILE:sqn-dup>
            ${CMAKE_SOURCE_DIR} ${CMAKE_CURRENT_BINARY_DIR}/wireshark)
  set_tests_properties(test_wireshark PROPERTIES LABELS pty TIMEOUT 240
                       SKIP_RETURN_CODE 77)
endif()
if(SQN_BASH AND TARGET sqn-sim AND TARGET sqn-chat AND TARGET sqn-update AND TARGET sqn-dup)
  add_test(NAME test_proxy
    COMMAND ${SQN_BASH} ${CMAKE_CURRENT_SOURCE_DIR}/integration/test_proxy.sh
            $<TARGET_FILE:sqn-sim> $<TARGET_FILE:sqn-chat> $<TARGET_FILE:sqn-update>
            $<TARGET_FILE:sqn-dup> ${CMAKE_SOURCE_DIR} ${CMAKE_CURRENT_BINARY_DIR}/proxy)
  set_tests_properties(test_proxy PROPERTIES LABELS pty TIMEOUT 240
                       SKIP_RETURN_CODE 77)
endif()
if(SQN_BASH AND TARGET sqn-sim AND TARGET sqn-chat AND TARGET sqn-scenario
   AND TARGET sqn-update AND TARGET sqn-dup)
  add_test(NAME test_import
    COMMAND ${SQN_BASH} ${CMAKE_CURRENT_SOURCE_DIR}/integration/test_import.sh
            $<TARGET_FILE:sqn-sim> $<TARGET_FILE:sqn-chat> $<TARGET_FILE:sqn-scenario>
            $<TARGET_FILE:sqn-update> $<TARGET_FILE:sqn-dup>
            ${CMAKE_SOURCE_DIR} ${CMAKE_CURRENT_BINARY_DIR}/import)
  set_tests_properties(test_import PROPERTIES LABELS pty TIMEOUT 240
                       SKIP_RETURN_CODE 77)
endif()
if(SQN_BASH AND TARGET sqn-scenario)
  add_test(NAME test_golden
    COMMAND ${SQN_BASH} ${CMAKE_CURRENT_SOURCE_DIR}/integration/test_golden.sh
            $<TARGET_FILE:sqn-scenario> ${CMAKE_SOURCE_DIR}
            ${CMAKE_CURRENT_BINARY_DIR}/golden)
  set_tests_properties(test_golden PROPERTIES LABELS scenario TIMEOUT 120)
endif()
if(TARGET sim_files)
  sqn_add_check_test(test_tracefile
    SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_tracefile.c
    LIBS sim_files
    LABELS unit)
endif()
