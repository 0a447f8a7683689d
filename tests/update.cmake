# SPDX-License-Identifier: Apache-2.0
# libsqnup updater (core/src/update, core/port) and sqn-update.
if(TARGET sqnup)
  foreach(t test_at test_stpm test_update)
    if(EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/unit/${t}.c)
      sqn_add_check_test(${t}
        SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/unit/${t}.c
        LIBS sqnup sqnup_codec
        LABELS unit
        TIMEOUT 60)
    endif()
  endforeach()
  if(TARGET test_update)
    # the whole-text test calls the procedure's internal sqn_upd_finish()
    target_include_directories(test_update PRIVATE
      ${PROJECT_SOURCE_DIR}/core/src/update)
  endif()
  if(TARGET harness_bridge AND TARGET sqnup_pkg AND
     EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_update_sim.c)
    sqn_add_check_test(test_update_sim
      SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_update_sim.c
      LIBS harness_bridge sqnup sqnup_pkg sim_model sim_files
      LABELS unit
      TIMEOUT 120)
  endif()
  if(TARGET sqnup_posix AND EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_update_posix.c)
    sqn_add_check_test(test_update_posix
      SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_update_posix.c
      LIBS sqnup_posix sqnup util
      LABELS unit
      TIMEOUT 60)
  endif()
  if(TARGET sqn-update AND EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_update_cli.c)
    sqn_add_check_test(test_update_cli
      SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_update_cli.c
      LABELS unit
      TIMEOUT 240)
    target_compile_definitions(test_update_cli PRIVATE
      SQN_UPDATE_BIN="$<TARGET_FILE:sqn-update>")
    add_dependencies(test_update_cli sqn-update)
    if(TARGET sqn-sim)
      target_compile_definitions(test_update_cli PRIVATE
        SQN_SIM_BIN="$<TARGET_FILE:sqn-sim>")
      add_dependencies(test_update_cli sqn-sim)
    endif()
    if(TARGET sqn-dup)
      target_compile_definitions(test_update_cli PRIVATE
        SQN_DUP_BIN="$<TARGET_FILE:sqn-dup>")
      add_dependencies(test_update_cli sqn-dup)
    endif()
  endif()
  include(${CMAKE_CURRENT_LIST_DIR}/fuzz.cmake OPTIONAL)
  if(COMMAND sqn_add_fuzz_target AND EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/fuzz_at_reply.c)
    sqn_add_fuzz_target(at_reply LIBS sqnup sqnup_codec)
  endif()
endif()

# Issue 14: the duel (tests/fuzz/fuzz_duel.h): the updater against the
# model with the fuzzer on the line. updater_duel checks the updater's
# invariants, sim_deep the model's in the deep states a real upgrade
# reaches. Seeds: fixtures/corpus/{updater_duel,sim_deep}.
if(COMMAND sqn_add_fuzz_target AND TARGET sqnup AND TARGET sim_model AND TARGET sqnup_pkg)
  sqn_add_fuzz_target(updater_duel LIBS sqnup sim_model sqnup_pkg sqnup_codec)
  sqn_add_fuzz_target(sim_deep LIBS sqnup sim_model sim_files sqnup_pkg sqnup_codec)
endif()
