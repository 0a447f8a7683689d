# SPDX-License-Identifier: Apache-2.0
# The sans-IO modem model (sim/src/model): state files, AT layer, boot, STP
# slave, upgrade engine, faults; in-process on a virtual clock.
if(TARGET sim_model)
  sqn_add_check_test(test_sim_state
    SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_sim_state.c
    LIBS sim_model
    LABELS unit)
  if(TARGET sqnup_pkg)
    sqn_add_check_test(test_sim_model
      SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_sim_model.c
      LIBS sim_model sqnup_pkg
      LABELS unit
      TIMEOUT 60)
    sqn_add_check_test(test_sim_faults
      SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_sim_faults.c
      LIBS sim_model sqnup_pkg
      LABELS unit
      TIMEOUT 60)
  endif()
endif()

# Fuzz target: host actions against the model, invariants after each one.
# Seeds and regressions live in fixtures/corpus/sim_model/.
if(TARGET sim_model AND COMMAND sqn_add_fuzz_target)
  sqn_add_fuzz_target(sim_model LIBS sim_model)
endif()
