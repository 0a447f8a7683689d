# SPDX-License-Identifier: Apache-2.0
# Out of the build tree (issue 9): the shard from CI environments and the
# JUnit merge (unit + CLI), man pages against --help, and an install into a
# temporary prefix used by the downstream project tests/consumer.
# Labels: unit, install.
if(NOT TARGET sqn-scenario)
  return()
endif()

sqn_add_check_test(test_harness_ci
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_harness_ci.c
  LIBS harness
  LABELS unit
  TIMEOUT 30)

add_test(NAME ci_shards_merge
  COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/integration/test_ci_shards.sh
          $<TARGET_FILE:sqn-scenario> ${SQN_FIXTURES})
set_tests_properties(ci_shards_merge PROPERTIES LABELS "unit;sweep" TIMEOUT 120)

add_test(NAME man_help_drift
  COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/integration/test_man_help.sh
          ${CMAKE_SOURCE_DIR}/man
          sqn-sim=$<TARGET_FILE:sqn-sim>
          sqn-update=$<TARGET_FILE:sqn-update>
          sqn-dup=$<TARGET_FILE:sqn-dup>
          sqn-chat=$<TARGET_FILE:sqn-chat>
          sqn-scenario=$<TARGET_FILE:sqn-scenario>)
set_tests_properties(man_help_drift PROPERTIES LABELS unit TIMEOUT 60)

# The consumer project is built without sanitizers or coverage, so it can
# only link a libsqnup built without them.
if(SQN_SANITIZE OR SQN_COVERAGE)
  return()
endif()
add_test(NAME install_consumer
  COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/integration/test_install.sh
          ${CMAKE_BINARY_DIR} ${CMAKE_SOURCE_DIR})
set_tests_properties(install_consumer PROPERTIES LABELS install TIMEOUT 300
                     SKIP_RETURN_CODE 77)
