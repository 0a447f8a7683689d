# pty integration tests (label "pty"): sqn-sim on a real pseudo-terminal,
# driven by sqn-chat host scripts (fixtures/hosts) and raw bytes. They skip
# (exit 77) where openpty() fails. The line-pacing test takes real time and
# is labelled "slow" (not in the default run: ctest -L slow).
if(TARGET sqn-sim AND TARGET sqn-chat)
  sqn_add_check_test(test_pty_hosts
    SOURCES integration/test_pty_hosts.c integration/pty_util.c
    LIBS sim_model sim_pty_rate PkgConfig::JANSSON
    LABELS pty TIMEOUT 240)
  target_include_directories(test_pty_hosts PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/integration)
  target_compile_definitions(test_pty_hosts PRIVATE
    SQN_SIM_BIN="$<TARGET_FILE:sqn-sim>" SQN_CHAT_BIN="$<TARGET_FILE:sqn-chat>")
  add_dependencies(test_pty_hosts sqn-sim sqn-chat)
  # The line model at every rate (issue 16) as its own ctest entry, so each
  # half keeps a bound that holds on a loaded machine under ASan.
  set_tests_properties(test_pty_hosts PROPERTIES
    ENVIRONMENT "CK_EXCLUDE_TAGS=rates")
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
    LIBS sim_model sim_pty_rate PkgConfig::JANSSON
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
