# SPDX-License-Identifier: Apache-2.0
# The sans-IO modem model (sim/src/model): AT layer, boot, STP slave, upgrade
# engine, faults; in-process on a virtual clock. The tests read named states
# and fault files, so they link the model's files too (sim_files).
if(TARGET sim_model)
  sqn_add_check_test(test_sim_state
    SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_sim_state.c
    LIBS sim_model sim_files
    LABELS unit)
  if(TARGET sqnup_pkg)
    sqn_add_check_test(test_sim_model
      SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_sim_model.c
      LIBS sim_model sim_files sqnup_pkg
      LABELS unit
      TIMEOUT 60)
    sqn_add_check_test(test_sim_faults
      SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_sim_faults.c
      LIBS sim_model sim_files sqnup_pkg
      LABELS unit
      TIMEOUT 60)
  endif()
endif()

# Fuzz target: host actions against the model, invariants after each one.
# Seeds and regressions live in fixtures/corpus/sim_model/. The state's JSON
# round trip is one of the invariants (sim_files).
if(TARGET sim_model AND COMMAND sqn_add_fuzz_target)
  sqn_add_fuzz_target(sim_model LIBS sim_model sim_files)
endif()

# The model's power, smod and link change only in their setters, and the
# model includes no file-format library (sim_files has them).
add_test(NAME sim_setters_only
  COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/integration/test_sim_setters.sh
          ${CMAKE_SOURCE_DIR})
set_tests_properties(sim_setters_only PROPERTIES LABELS unit TIMEOUT 60)
