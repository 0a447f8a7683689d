# SPDX-License-Identifier: Apache-2.0
# Toolchain file for Cortex-M3 with Debian's gcc-arm-none-eabi and newlib
# (libnewlib-arm-none-eabi): cmake --preset mcu, or
#   cmake -S . -B build-mcu -DCMAKE_TOOLCHAIN_FILE=cmake/arm-none-eabi.cmake
# The top-level CMakeLists.txt sees CMAKE_SYSTEM_NAME Generic and builds
# only libsqnup and the example firmware (examples/mcu).
set(CMAKE_SYSTEM_NAME Generic)
set(CMAKE_SYSTEM_PROCESSOR arm)

set(SQN_MCU_PREFIX arm-none-eabi- CACHE STRING "cross tool prefix")
set(CMAKE_C_COMPILER ${SQN_MCU_PREFIX}gcc)
set(CMAKE_ASM_COMPILER ${SQN_MCU_PREFIX}gcc)
set(CMAKE_AR ${SQN_MCU_PREFIX}ar CACHE FILEPATH "")
set(CMAKE_RANLIB ${SQN_MCU_PREFIX}ranlib CACHE FILEPATH "")
set(CMAKE_SIZE ${SQN_MCU_PREFIX}size CACHE FILEPATH "")
set(CMAKE_NM ${SQN_MCU_PREFIX}nm CACHE FILEPATH "")
set(CMAKE_OBJCOPY ${SQN_MCU_PREFIX}objcopy CACHE FILEPATH "")

# try_compile cannot link a program without a board's startup code.
set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)

set(SQN_MCU_CPU_FLAGS "-mcpu=cortex-m3 -mthumb")
set(CMAKE_C_FLAGS_INIT
    "${SQN_MCU_CPU_FLAGS} -ffreestanding -ffunction-sections -fdata-sections")
set(CMAKE_EXE_LINKER_FLAGS_INIT
    "${SQN_MCU_CPU_FLAGS} -nostartfiles -Wl,--gc-sections --specs=nano.specs")

set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
