# SPDX-License-Identifier: Apache-2.0
# libsqnup on a microcontroller (label mcu): the cross build of libsqnup and
# the example firmware (examples/mcu, arm-none-eabi) in its own build dir,
# its link check, and the firmware in QEMU (mps2-an385) upgrading sqn-sim
# over a pty. Everything skips (77 / "mcu: skipped") without
# gcc-arm-none-eabi or qemu-system-arm. .ci/run points SQN_MCU_BUILD_DIR
# at the preset's build-mcu so both use one cross build.
set(SQN_MCU_BUILD_DIR ${CMAKE_BINARY_DIR}/mcu CACHE PATH
    "cross build (arm-none-eabi) used by the mcu tests")
find_program(SQN_QEMU_ARM qemu-system-arm)
if(NOT SQN_QEMU_ARM)
  set(SQN_QEMU_ARM "")
endif()
set(SQN_MCU_FW_DIR ${SQN_MCU_BUILD_DIR}/examples/mcu)

add_test(NAME mcu_build COMMAND ${CMAKE_COMMAND} -DMODE=build
         -DSRC=${CMAKE_SOURCE_DIR} -DBIN=${SQN_MCU_BUILD_DIR}
         -DWERROR=${SQN_WERROR}
         -P ${CMAKE_CURRENT_SOURCE_DIR}/support/mcu_build.cmake)
set_tests_properties(mcu_build PROPERTIES LABELS mcu TIMEOUT 600
  FIXTURES_SETUP mcu_fw SKIP_REGULAR_EXPRESSION "mcu: skipped")

add_test(NAME mcu_linkcheck_rejects_malloc COMMAND ${CMAKE_COMMAND}
         -DMODE=probe -DBIN=${SQN_MCU_BUILD_DIR}
         -P ${CMAKE_CURRENT_SOURCE_DIR}/support/mcu_build.cmake)
set_tests_properties(mcu_linkcheck_rejects_malloc PROPERTIES LABELS mcu
  TIMEOUT 300 FIXTURES_REQUIRED mcu_fw SKIP_REGULAR_EXPRESSION "mcu: skipped")

if(TARGET sqn-sim AND TARGET sqn-dup)
  sqn_add_check_test(test_mcu
    SOURCES integration/test_mcu.c integration/pty_util.c
    LIBS sim_pty_rate PkgConfig::JANSSON
    LABELS mcu TIMEOUT 400)
  target_include_directories(test_mcu PRIVATE
    ${CMAKE_CURRENT_SOURCE_DIR}/integration ${CMAKE_SOURCE_DIR}/core/include)
  target_compile_definitions(test_mcu PRIVATE
    SQN_SIM_BIN="$<TARGET_FILE:sqn-sim>"
    SQN_DUP_BIN="$<TARGET_FILE:sqn-dup>"
    SQN_QEMU_BIN="${SQN_QEMU_ARM}"
    SQN_MCU_DIR="${SQN_MCU_FW_DIR}"
    SQN_MCU_ELF="${SQN_MCU_FW_DIR}/sqnup-mcu.elf")
  add_dependencies(test_mcu sqn-sim sqn-dup)
  set_tests_properties(test_mcu PROPERTIES FIXTURES_REQUIRED mcu_fw)

  # The footprint table, with the stack high-water mark of test_mcu's
  # healthy upgrade (.ci/run prints it too).
  add_test(NAME mcu_footprint COMMAND ${CMAKE_COMMAND} -DREPORT=1
           -DDIR=${SQN_MCU_FW_DIR}
           -P ${CMAKE_SOURCE_DIR}/examples/mcu/footprint.cmake)
  set_tests_properties(mcu_footprint PROPERTIES LABELS mcu TIMEOUT 60
    DEPENDS test_mcu FIXTURES_REQUIRED mcu_fw
    SKIP_REGULAR_EXPRESSION "mcu: skipped")
endif()

# The library's own snprintf/strtol (core/src/codec/libc.c, used on every
# target) against the host C library.
if(TARGET sqnup_codec)
  sqn_add_check_test(test_libc
    SOURCES unit/test_libc.c
    LIBS sqnup_codec
    LABELS unit TIMEOUT 60)
  target_include_directories(test_libc PRIVATE ${CMAKE_SOURCE_DIR}/core/src)
endif()
