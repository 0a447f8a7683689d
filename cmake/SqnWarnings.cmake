# SPDX-License-Identifier: Apache-2.0
# Warnings for our own code only: sqn_target_warnings(tgt).
# -Werror is for developers and CI (-DSQN_WERROR=ON, set by .ci/run), not
# imposed on people who build a release with another compiler.
option(SQN_WERROR "Treat compiler warnings in our code as errors" OFF)
function(sqn_target_warnings tgt)
  target_compile_options(${tgt} PRIVATE -Wall -Wextra -Wshadow
    -Wstrict-prototypes -Wmissing-prototypes -Wno-unused-parameter)
  if(SQN_WERROR)
    target_compile_options(${tgt} PRIVATE -Werror)
  endif()
endfunction()
