# Warnings for our own code only: sqn_target_warnings(tgt).
function(sqn_target_warnings tgt)
  target_compile_options(${tgt} PRIVATE -Wall -Wextra -Werror -Wshadow
    -Wstrict-prototypes -Wmissing-prototypes -Wno-unused-parameter)
endfunction()
