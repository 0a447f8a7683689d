# SPDX-License-Identifier: Apache-2.0
# Licence hygiene: every source file names its licence (LICENSE, Apache-2.0).
add_test(NAME spdx_headers
  COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/integration/test_spdx.sh
          ${CMAKE_SOURCE_DIR})
set_tests_properties(spdx_headers PROPERTIES LABELS unit TIMEOUT 60)
