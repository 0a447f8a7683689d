# SPDX-License-Identifier: Apache-2.0
# CABA walker (.dup validator) and the image version rule.
sqn_add_check_test(test_caba SOURCES ${CMAKE_SOURCE_DIR}/tests/unit/test_caba.c
                   LIBS sqnup_codec LABELS unit TIMEOUT 120)

# Fuzz target: libFuzzer binary under SQN_FUZZ (clang), corpus replay
# (replay_caba_walk over fixtures/corpus/caba_walk/) under ctest. The function
# lives in tests/fuzz.cmake, which sorts after this file, so include it first
# (it has an include guard).
if(EXISTS ${CMAKE_CURRENT_LIST_DIR}/fuzz.cmake)
  include(${CMAKE_CURRENT_LIST_DIR}/fuzz.cmake)
endif()
if(COMMAND sqn_add_fuzz_target)
  sqn_add_fuzz_target(caba_walk LIBS sqnup_codec)
endif()
