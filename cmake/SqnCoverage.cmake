# SPDX-License-Identifier: Apache-2.0
# -DSQN_COVERAGE=ON: gcov instrumentation and a 'coverage' target that runs the
# test suite and writes an lcov HTML report to <build>/coverage/index.html.
if(SQN_COVERAGE)
  find_program(LCOV lcov)
  find_program(GENHTML genhtml)
  if(NOT LCOV OR NOT GENHTML)
    message(FATAL_ERROR "lcov not found: apt-get install lcov")
  endif()
  add_compile_options(--coverage -O0)
  add_link_options(--coverage)
  add_custom_target(coverage
    COMMAND ${LCOV} --quiet --zerocounters --directory ${CMAKE_BINARY_DIR}
    COMMAND ${CMAKE_CTEST_COMMAND} --output-on-failure -LE "fuzz|sweep|slow"
    COMMAND ${LCOV} --quiet --capture --directory ${CMAKE_BINARY_DIR}
            --output-file ${CMAKE_BINARY_DIR}/coverage.info
    COMMAND ${LCOV} --quiet --extract ${CMAKE_BINARY_DIR}/coverage.info
            "${CMAKE_SOURCE_DIR}/core/*" "${CMAKE_SOURCE_DIR}/sim/*"
            "${CMAKE_SOURCE_DIR}/harness/*"
            --output-file ${CMAKE_BINARY_DIR}/coverage.info
    COMMAND ${GENHTML} --quiet ${CMAKE_BINARY_DIR}/coverage.info
            --output-directory ${CMAKE_BINARY_DIR}/coverage
    COMMAND ${LCOV} --summary ${CMAKE_BINARY_DIR}/coverage.info
    WORKING_DIRECTORY ${CMAKE_BINARY_DIR}
    COMMENT "Running tests and writing coverage/index.html"
    VERBATIM)
endif()
