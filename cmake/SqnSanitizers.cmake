# SPDX-License-Identifier: Apache-2.0
# -DSQN_SANITIZE=ON: ASan + UBSan on everything, any UB report aborts.
if(SQN_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-sanitize-recover=all
                      -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
endif()

# -DSQN_FUZZ=ON: libFuzzer targets, clang only.
if(SQN_FUZZ AND NOT CMAKE_C_COMPILER_ID MATCHES "Clang")
  message(FATAL_ERROR "SQN_FUZZ needs clang: apt-get install clang, then configure with -DCMAKE_C_COMPILER=clang")
endif()
