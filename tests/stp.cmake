# SPDX-License-Identifier: Apache-2.0
# STP frame codec and the CRCs under it (core/src/codec), against the golden
# vectors in fixtures/stp/ and fixtures/crc/.
sqn_add_check_test(test_crc
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_crc.c
  LIBS sqnup_codec
  LABELS unit)

sqn_add_check_test(test_stp
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_stp.c
  LIBS sqnup_codec
  LABELS unit
  TIMEOUT 60)
