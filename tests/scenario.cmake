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
foreach(f ${SQN_SCENARIOS})
  get_filename_component(n ${f} NAME_WE)
  add_test(NAME scenario_${n}
           COMMAND sqn-scenario run --fixtures ${CMAKE_SOURCE_DIR}/fixtures ${f}
           WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
  set_tests_properties(scenario_${n} PROPERTIES LABELS "scenario" TIMEOUT 60
                       SKIP_RETURN_CODE 77)
endforeach()

# Smoke subset over a real pty with sqn-update as a process.
foreach(n s00-healthy-upgrade s01a-smswboot-refused-once incident-1-pycom-2018-fails)
  set(f ${CMAKE_SOURCE_DIR}/fixtures/scenarios/${n}.yaml)
  if(EXISTS ${f})
    add_test(NAME scenario_pty_${n}
             COMMAND sqn-scenario run --pty --fixtures ${CMAKE_SOURCE_DIR}/fixtures ${f}
             WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
    set_tests_properties(scenario_pty_${n} PROPERTIES LABELS "pty" TIMEOUT 60
                         SKIP_RETURN_CODE 77)
  endif()
endforeach()

sqn_add_check_test(test_harness_scenario
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_harness_scenario.c
  LIBS harness
  LABELS unit
  TIMEOUT 30)
