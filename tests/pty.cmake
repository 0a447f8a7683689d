# pty integration tests (label "pty"): sqn-sim on a real pseudo-terminal,
# driven by sqn-chat host scripts (fixtures/hosts) and raw bytes. They skip
# (exit 77) where openpty() fails. The line-pacing test takes real time and
# is labelled "slow" (not in the default run: ctest -L slow).
if(TARGET sqn-sim AND TARGET sqn-chat)
  sqn_add_check_test(test_pty_hosts
    SOURCES integration/test_pty_hosts.c integration/pty_util.c
    LIBS sim_model PkgConfig::JANSSON
    LABELS pty TIMEOUT 120)
  target_include_directories(test_pty_hosts PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/integration)
  target_compile_definitions(test_pty_hosts PRIVATE
    SQN_SIM_BIN="$<TARGET_FILE:sqn-sim>" SQN_CHAT_BIN="$<TARGET_FILE:sqn-chat>")
  add_dependencies(test_pty_hosts sqn-sim sqn-chat)
endif()

if(TARGET sqn-sim AND TARGET sqn-chat)
  sqn_add_check_test(test_pty_pacing
    SOURCES integration/test_pty_pacing.c integration/pty_util.c
    LIBS sim_model PkgConfig::JANSSON
    LABELS slow TIMEOUT 60)
  target_include_directories(test_pty_pacing PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/integration)
  target_compile_definitions(test_pty_pacing PRIVATE
    SQN_SIM_BIN="$<TARGET_FILE:sqn-sim>" SQN_CHAT_BIN="$<TARGET_FILE:sqn-chat>")
  add_dependencies(test_pty_pacing sqn-sim)
endif()
