# SPDX-License-Identifier: Apache-2.0
# pty integration tests (label "pty"): sqn-sim on a real pseudo-terminal,
# driven by sqn-chat host scripts (fixtures/hosts) and raw bytes. They skip
# (exit 77) where openpty() fails. The line-pacing test takes real time and
# is labelled "slow" (not in the default run: ctest -L slow).
if(TARGET sqn-sim AND TARGET sqn-chat)
  sqn_add_check_test(test_pty_hosts
    SOURCES integration/test_pty_hosts.c integration/pty_util.c
    LIBS sim_model sim_files sim_pty_rate PkgConfig::JANSSON
    LABELS pty TIMEOUT 240)
  # Two ctest tests from one binary (Check's CK_RUN_CASE), so that neither
  # is near its timeout on a loaded machine and -j2 runs them side by side:
  # test_pty_hosts the host scripts, test_pty_line the line and process
  # behaviour.
  set_property(TEST test_pty_hosts APPEND PROPERTY ENVIRONMENT CK_RUN_CASE=hosts)
  add_test(NAME test_pty_line COMMAND test_pty_hosts)
  get_test_property(test_pty_hosts TIMEOUT sqn_pty_timeout)
  set_tests_properties(test_pty_line PROPERTIES LABELS pty
                       TIMEOUT ${sqn_pty_timeout} SKIP_RETURN_CODE 77)
  set_property(TEST test_pty_line APPEND PROPERTY ENVIRONMENT CK_RUN_CASE=line)
  target_include_directories(test_pty_hosts PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/integration)
  target_compile_definitions(test_pty_hosts PRIVATE
    SQN_SIM_BIN="$<TARGET_FILE:sqn-sim>" SQN_CHAT_BIN="$<TARGET_FILE:sqn-chat>")
  add_dependencies(test_pty_hosts sqn-sim sqn-chat)
  # The line model at every rate (issue 16) as its own ctest entry (the
  # "rates" case; test_pty_hosts and test_pty_line run the "hosts" and
  # "line" cases), so each keeps a bound that holds on a loaded machine
  # under ASan.
  add_test(NAME test_pty_rates COMMAND test_pty_hosts)
  set_tests_properties(test_pty_rates PROPERTIES LABELS pty TIMEOUT 120
    SKIP_RETURN_CODE 77 ENVIRONMENT "CK_INCLUDE_TAGS=rates")
  if(TARGET sqn-dup)
    # The kill -9 test builds a larger package, so the push fills its window.
    target_compile_definitions(test_pty_hosts PRIVATE
      SQN_DUP_BIN="$<TARGET_FILE:sqn-dup>")
    add_dependencies(test_pty_hosts sqn-dup)
  endif()
endif()

if(TARGET sqn-sim AND TARGET sqn-chat)
  sqn_add_check_test(test_pty_pacing
    SOURCES integration/test_pty_pacing.c integration/pty_util.c
    LIBS sim_pty_rate PkgConfig::JANSSON
    LABELS slow TIMEOUT 120)
  target_include_directories(test_pty_pacing PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/integration)
  target_compile_definitions(test_pty_pacing PRIVATE
    SQN_SIM_BIN="$<TARGET_FILE:sqn-sim>" SQN_CHAT_BIN="$<TARGET_FILE:sqn-chat>")
  add_dependencies(test_pty_pacing sqn-sim)
endif()

# Acceptance of "libsqnup and sqn-update": the real sqn-update against the
# real sqn-sim over a pty, from each named state and profile, with packages
# built at test time by sqn-dup; bad input refused before any byte is sent.
if(TARGET sqn-sim AND TARGET sqn-update AND TARGET sqn-dup)
  sqn_add_check_test(test_pty_update
    SOURCES integration/test_pty_update.c integration/pty_util.c
    LIBS sim_pty_rate PkgConfig::JANSSON
    LABELS pty TIMEOUT 120)
  # sqnup/err.h: the documented exit codes (header only, nothing linked).
  target_include_directories(test_pty_update PRIVATE
    ${CMAKE_CURRENT_SOURCE_DIR}/integration ${CMAKE_SOURCE_DIR}/core/include)
  target_compile_definitions(test_pty_update PRIVATE
    SQN_SIM_BIN="$<TARGET_FILE:sqn-sim>"
    SQN_UPDATE_BIN="$<TARGET_FILE:sqn-update>"
    SQN_DUP_BIN="$<TARGET_FILE:sqn-dup>")
  add_dependencies(test_pty_update sqn-sim sqn-update sqn-dup)
endif()

# Issue 14: who owns the state file and what a failed save does (locking,
# symlinks, temp files, --trace/--link vs inputs, signals during the final
# save, full disk, read-only folder, kill -9 then rerun). The kill -9 case
# runs 8 times here; test_pty_state_kill9_200 (label "long") runs it 200
# times.
if(TARGET sqn-sim AND TARGET sqn-update AND TARGET sqn-dup AND TARGET sqn-scenario)
  sqn_add_check_test(test_pty_state
    SOURCES integration/test_pty_state.c integration/pty_util.c
    LIBS sim_model sim_files sim_pty_rate sqnup_posix PkgConfig::JANSSON
    LABELS pty TIMEOUT 240)
  target_include_directories(test_pty_state PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/integration)
  target_compile_definitions(test_pty_state PRIVATE
    SQN_SIM_BIN="$<TARGET_FILE:sqn-sim>"
    SQN_UPDATE_BIN="$<TARGET_FILE:sqn-update>"
    SQN_DUP_BIN="$<TARGET_FILE:sqn-dup>"
    SQN_SCENARIO_BIN="$<TARGET_FILE:sqn-scenario>")
  add_dependencies(test_pty_state sqn-sim sqn-update sqn-dup sqn-scenario)
  add_test(NAME test_pty_state_kill9_200 COMMAND test_pty_state)
  set_tests_properties(test_pty_state_kill9_200 PROPERTIES LABELS "long"
    TIMEOUT 3600 SKIP_RETURN_CODE 77
    ENVIRONMENT "SQN_KILL9_RUNS=200;CK_RUN_CASE=kill9")
endif()
