# SPDX-License-Identifier: Apache-2.0
# The link check: libsqnup may use only these symbols from outside itself.
#   cmake -DNM=arm-none-eabi-nm -DLIBS="a.a;b.a" -DSTAMP=file -P check_symbols.cmake
# Fails (and names each symbol and the object that wants it) when the
# library needs anything else: malloc/free, the printf family, time,
# errno, stdio... A freestanding device has none of them, or pays for
# them in flash and RAM.
#
# Allowed:
#   libc, pure functions on caller memory (string.h):
#     memchr memcmp memcpy memmove memset strchr strcmp strlen strncmp strstr
#   _ctype_: newlib's 257-byte constant table behind toupper()
#   libgcc (compiler runtime, no state): 64-bit division and the soft-float
#     double helpers that timeout_scale (a double) needs on a core without FPU
set(SQN_ALLOWED
  memchr memcmp memcpy memmove memset strchr strcmp strlen strncmp strstr
  _ctype_
  __aeabi_uldivmod __aeabi_ldivmod __aeabi_uidiv __aeabi_uidivmod
  __aeabi_idiv __aeabi_idivmod __aeabi_llsl __aeabi_llsr __aeabi_lasr
  __aeabi_lmul
  __aeabi_dadd __aeabi_dsub __aeabi_drsub __aeabi_dmul __aeabi_ddiv
  __aeabi_dcmplt __aeabi_dcmple __aeabi_dcmpgt __aeabi_dcmpge
  __aeabi_dcmpeq __aeabi_dcmpun
  __aeabi_ui2d __aeabi_i2d __aeabi_ul2d __aeabi_l2d
  __aeabi_d2uiz __aeabi_d2iz __aeabi_d2ulz __aeabi_d2lz)

set(defined "")
set(wanted "")
foreach(lib ${LIBS})
  execute_process(COMMAND ${NM} -A -g ${lib} OUTPUT_VARIABLE out
                  RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "link check: ${NM} ${lib} failed")
  endif()
  string(REPLACE "\n" ";" lines "${out}")
  foreach(l ${lines})
    # "lib.a:obj.o:         U name" or "lib.a:obj.o:00000000 T name"
    if(l MATCHES "^[^:]*:([^:]*):[ 0-9a-fA-F]* ([A-Za-z]) ([^ ]+)$")
      set(obj ${CMAKE_MATCH_1})
      set(kind ${CMAKE_MATCH_2})
      set(sym ${CMAKE_MATCH_3})
      if(kind STREQUAL "U")
        list(APPEND wanted "${sym}@${obj}")
      else()
        list(APPEND defined ${sym})
      endif()
    endif()
  endforeach()
endforeach()

set(bad "")
foreach(w ${wanted})
  string(REPLACE "@" ";" parts "${w}")
  list(GET parts 0 sym)
  list(GET parts 1 obj)
  list(FIND defined ${sym} d)
  list(FIND SQN_ALLOWED ${sym} a)
  if(d EQUAL -1 AND a EQUAL -1)
    list(APPEND bad "${sym} (wanted by ${obj})")
  endif()
endforeach()
list(REMOVE_DUPLICATES bad)
if(bad)
  string(REPLACE ";" "\n  " text "${bad}")
  message(FATAL_ERROR "link check: libsqnup uses symbols outside its "
          "allow-list (examples/mcu/check_symbols.cmake):\n  ${text}")
endif()
if(STAMP)
  file(WRITE ${STAMP} "ok\n")
endif()
