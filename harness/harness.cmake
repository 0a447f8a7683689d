# SPDX-License-Identifier: Apache-2.0
# harness: the scenario loader, runner and narrator as a library (linked by
# the unit tests) and sqn-scenario, the command-line runner. Included by
# harness/CMakeLists.txt once sim_model and sqnup exist.

# The bridge (bridge.h): the one drive loop coupling a host state machine
# and the modem model on a virtual clock; also linked by the in-process
# unit tests and benchmarks, so it needs nothing but the two cores.
add_library(harness_bridge STATIC ${CMAKE_CURRENT_SOURCE_DIR}/src/bridge.c)
target_include_directories(harness_bridge PUBLIC ${CMAKE_CURRENT_SOURCE_DIR}/src)
target_link_libraries(harness_bridge PUBLIC sim_model sqnup)
sqn_target_warnings(harness_bridge)

set(HARNESS_LIB_SRC campaign.c ci.c golden.c import.c judge.c link.c narrate.c
    pkgbuild.c post.c run.c scenario.c simproc.c sweep.c)
list(TRANSFORM HARNESS_LIB_SRC PREPEND ${CMAKE_CURRENT_SOURCE_DIR}/src/)
if(TARGET sqnup_pkg)
  add_library(harness STATIC ${HARNESS_LIB_SRC})
  target_include_directories(harness PUBLIC ${CMAKE_CURRENT_SOURCE_DIR}/src)
  target_link_libraries(harness PUBLIC harness_bridge sim_model sim_files sim_pty_rate sqnup sqnup_pkg
                        PkgConfig::CYAML PkgConfig::JANSSON util)
  target_compile_definitions(harness PRIVATE _DEFAULT_SOURCE)
  sqn_target_warnings(harness)

  add_executable(sqn-scenario ${CMAKE_CURRENT_SOURCE_DIR}/src/main.c)
  target_link_libraries(sqn-scenario PRIVATE harness sqn_tool)
  target_compile_definitions(sqn-scenario PRIVATE _DEFAULT_SOURCE)
  sqn_target_warnings(sqn-scenario)

  # The README's main job: narrate the incident.
  file(GLOB HARNESS_INCIDENT CONFIGURE_DEPENDS
       ${CMAKE_SOURCE_DIR}/fixtures/scenarios/incident-*.yaml)
  add_custom_target(incident
    COMMAND sqn-scenario run --narrate ${HARNESS_INCIDENT}
    DEPENDS sqn-scenario
    WORKING_DIRECTORY ${CMAKE_SOURCE_DIR}
    COMMENT "Narrating the documented incident (docs/scenarios.md)"
    USES_TERMINAL)
endif()
