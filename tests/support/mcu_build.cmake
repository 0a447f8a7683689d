# SPDX-License-Identifier: Apache-2.0
# ctest helper for the mcu label (tests/mcu.cmake; not in tests/ itself, whose *.cmake are included), run with cmake -P:
#   -DMODE=build  configure (once) and build the cross build in BIN
#   -DMODE=probe  build the link check's probe target: must fail naming malloc
# Prints "mcu: skipped" (a ctest SKIP_REGULAR_EXPRESSION) when there is no
# arm-none-eabi-gcc.
find_program(SQN_ARM_GCC arm-none-eabi-gcc)
if(NOT SQN_ARM_GCC)
  message("mcu: skipped: arm-none-eabi-gcc not found (apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi)")
  return()
endif()

if(MODE STREQUAL "build")
  if(NOT EXISTS ${BIN}/CMakeCache.txt)
    execute_process(COMMAND ${CMAKE_COMMAND} -S ${SRC} -B ${BIN}
                    -DCMAKE_TOOLCHAIN_FILE=${SRC}/cmake/arm-none-eabi.cmake
                    -DCMAKE_BUILD_TYPE=MinSizeRel -DSQN_WERROR=${WERROR}
                    RESULT_VARIABLE rc)
    if(NOT rc EQUAL 0)
      message(FATAL_ERROR "mcu: configuring ${BIN} failed")
    endif()
  endif()
  execute_process(COMMAND ${CMAKE_COMMAND} --build ${BIN} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "mcu: building ${BIN} failed")
  endif()
elseif(MODE STREQUAL "probe")
  execute_process(COMMAND ${CMAKE_COMMAND} --build ${BIN}
                  --target sqnup_linkcheck_probe_check
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  message("${out}")
  if(rc EQUAL 0 OR NOT out MATCHES "malloc \\(wanted by linkcheck_probe")
    message(FATAL_ERROR "mcu: the link check let a malloc call through")
  endif()
  message("mcu: the link check refused malloc, as it must")
else()
  message(FATAL_ERROR "mcu_build.cmake: MODE build or probe")
endif()
