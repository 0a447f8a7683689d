# SPDX-License-Identifier: Apache-2.0
# sqn-scenario: one ctest test per scenario file (label "scenario"), a --pty
# smoke subset (label "pty") and unit tests of the scenario parser (label
# "unit"). Needs the harness targets (harness/harness.cmake).
if(NOT TARGET sqn-scenario)
  return()
endif()

file(GLOB SQN_SCENARIOS CONFIGURE_DEPENDS
     ${CMAKE_SOURCE_DIR}/fixtures/scenarios/*.yaml)
# The external-host and process scenarios run sqn-chat / sqn-update.
set(SQN_SCENARIO_TOOLS "")
foreach(t sqn-chat sqn-update sqn-sim)
  if(TARGET ${t})
    list(APPEND SQN_SCENARIO_TOOLS ${t})
  endif()
endforeach()
# Runs on a pty (an external host, or everything with --pty) go at
# --scale wall seconds per virtual second, and the host's timeouts with
# them: 0.05 (0.1 under the sanitizers) leaves a loaded 2-core machine time
# to answer before a scaled timeout fires; 0.02 (the default) did not.
if(SQN_SANITIZE)
  set(SQN_SCENARIO_SCALE 0.1)
else()
  set(SQN_SCENARIO_SCALE 0.05)
endif()
foreach(f ${SQN_SCENARIOS})
  get_filename_component(n ${f} NAME_WE)
  add_test(NAME scenario_${n}
           COMMAND sqn-scenario run --fixtures ${CMAKE_SOURCE_DIR}/fixtures
                   --scale ${SQN_SCENARIO_SCALE} ${f}
           WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
  set_tests_properties(scenario_${n} PROPERTIES LABELS "scenario" TIMEOUT 60
                       SKIP_RETURN_CODE 77)
endforeach()

# Smoke subset with real processes (--pty): every run starts sqn-sim on a
# state file and runs sqn-update (or the scenario's sqn-chat host) on its
# pty. The incident's first run, sqn-update's rescue of the same modem, and
# recover / report scenarios across the procedure; about a minute of wall
# time in all at --scale 0.05.
# (incident-2/3 also pass with --pty but push 1.5 MB through sqn-chat,
# 12 and 27 s of wall time: run them by hand.)
foreach(n incident-1-pycom-2018-fails incident-4-sqn-update-recovers
          s00-healthy-upgrade s01a-smswboot-refused-once
          s04a-ffh-with-updater-elf s05-stuck-in-updater-mode
          s11b-reboot-without-urcs s15b-smstpu-refused
          s22-uart-config-reset s29b-crash-mid-stp)
  set(f ${CMAKE_SOURCE_DIR}/fixtures/scenarios/${n}.yaml)
  if(EXISTS ${f})
    add_test(NAME scenario_pty_${n}
             COMMAND sqn-scenario run --pty --fixtures ${CMAKE_SOURCE_DIR}/fixtures
                     --scale ${SQN_SCENARIO_SCALE} ${f}
             WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
    set_tests_properties(scenario_pty_${n} PROPERTIES LABELS "pty" TIMEOUT 60
                         SKIP_RETURN_CODE 77)
  endif()
endforeach()

# Post-conditions (each can fail: wrong chat hosts), the report parser and
# one --pty run with real processes.
sqn_add_check_test(test_harness_post
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_harness_post.c
  LIBS harness
  LABELS unit
  TIMEOUT 60)

sqn_add_check_test(test_harness_scenario
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_harness_scenario.c
  LIBS harness
  LABELS unit
  TIMEOUT 30)

# The judge: one planted defect per invariant; and the bridge's options.
sqn_add_check_test(test_harness_judge
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_harness_judge.c
  LIBS harness
  LABELS unit
  TIMEOUT 60)
