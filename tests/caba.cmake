# CABA walker (.dup validator) and the image version rule.
sqn_add_check_test(test_caba SOURCES ${CMAKE_SOURCE_DIR}/tests/unit/test_caba.c
                   LIBS sqnup_codec LABELS unit TIMEOUT 120)

# Fuzz target: libFuzzer binary under SQN_FUZZ, corpus replay under ctest.
# tests/fuzz.cmake (owned by the STP part) provides the function; until it is
# there the target is simply not registered.
if(COMMAND sqn_add_fuzz_target)
  sqn_add_fuzz_target(fuzz_caba_walk LIBS sqnup_codec)
endif()
