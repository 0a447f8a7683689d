# SPDX-License-Identifier: Apache-2.0
# Power-cut sweeps and fault campaigns (sqn-scenario sweep / campaign,
# docs/sweeps.md), label "sweep", all in the default run: a reduced sweep,
# the full sweep of every frame boundary of a 1 MiB package (a few seconds
# thanks to flash snapshots), and campaign smokes. Needs the harness targets
# (harness/harness.cmake).
if(NOT TARGET sqn-scenario)
  return()
endif()

# Every 16th cut point of a genuine-layout package (PACK with boot,
# updater, fff and fs records), 1 MiB, double cuts every 8th point.
add_test(NAME sweep_reduced_1mib
         COMMAND sqn-scenario sweep --fixtures ${CMAKE_SOURCE_DIR}/fixtures
                 --package size=1048576 --stride 16 --seed 1)
set_tests_properties(sweep_reduced_1mib PROPERTIES LABELS "sweep" TIMEOUT 60)

# Campaign smoke: 200 runs on two seeds, with the determinism self-check.
foreach(seed 1 2)
  add_test(NAME campaign_smoke_seed${seed}
           COMMAND sqn-scenario campaign --fixtures ${CMAKE_SOURCE_DIR}/fixtures
                   --seed ${seed} --runs 200 --self-check)
  set_tests_properties(campaign_smoke_seed${seed} PROPERTIES LABELS "sweep"
                       TIMEOUT 60)
endforeach()

# Every frame boundary (and flash write, AT line) of a 1 MiB package.
add_test(NAME sweep_full_1mib
         COMMAND sqn-scenario sweep --fixtures ${CMAKE_SOURCE_DIR}/fixtures
                 --package size=1048576 --seed 1)
set_tests_properties(sweep_full_1mib PROPERTIES LABELS "sweep" TIMEOUT 300)

sqn_add_check_test(test_harness_sweep
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_harness_sweep.c
  LIBS harness
  LABELS unit sweep
  TIMEOUT 60)
