# SPDX-License-Identifier: Apache-2.0
# Fuzz targets (tests/fuzz/fuzz_<name>.c, each defining LLVMFuzzerTestOneInput).
#
#   sqn_add_fuzz_target(<name> LIBS <lib>...)
#
# always builds replay_<name> (the target + replay_main.c) and registers it
# with ctest over fixtures/corpus/<name>/, label "fuzz-replay;unit", so gcc
# builds run the corpus and every saved regression. With -DSQN_FUZZ=ON (clang)
# it also builds fuzz_<name>, a libFuzzer binary with ASan and UBSan; the
# sources of the LIBS targets are compiled into it a second time with
# coverage instrumentation, so the fuzzer sees edges inside the library
# without changing how the libraries build for everything else.
#
# Run one:   build/tests/fuzz_<name> -max_total_time=60 fixtures/corpus/<name>
#
# tests/*.cmake are included in name order, so a part whose file sorts before
# this one includes it first:  include(${CMAKE_CURRENT_LIST_DIR}/fuzz.cmake)
include_guard(GLOBAL)

set(SQN_FUZZ_DIR ${CMAKE_CURRENT_LIST_DIR}/fuzz)

function(sqn_add_fuzz_target name)
  cmake_parse_arguments(A "" "" "LIBS" ${ARGN})
  set(src ${SQN_FUZZ_DIR}/fuzz_${name}.c)
  if(NOT EXISTS ${src})
    message(FATAL_ERROR "sqn_add_fuzz_target(${name}): ${src} not found")
  endif()

  add_executable(replay_${name} ${src} ${SQN_FUZZ_DIR}/replay_main.c)
  target_link_libraries(replay_${name} PRIVATE ${A_LIBS})
  target_compile_definitions(replay_${name} PRIVATE _DEFAULT_SOURCE)
  sqn_target_warnings(replay_${name})
  add_test(NAME replay_${name}
           COMMAND replay_${name} ${SQN_FIXTURES}/corpus/${name})
  set_tests_properties(replay_${name} PROPERTIES LABELS "fuzz-replay;unit"
                       TIMEOUT 120)

  if(SQN_FUZZ)
    add_executable(fuzz_${name} ${src})
    foreach(lib IN LISTS A_LIBS)
      if(NOT TARGET ${lib})
        target_link_libraries(fuzz_${name} PRIVATE ${lib})
        continue()
      endif()
      get_target_property(lib_srcs ${lib} SOURCES)
      get_target_property(lib_dir ${lib} SOURCE_DIR)
      foreach(s IN LISTS lib_srcs)
        if(NOT IS_ABSOLUTE ${s})
          set(s ${lib_dir}/${s})
        endif()
        target_sources(fuzz_${name} PRIVATE ${s})
      endforeach()
      # The library's own build settings and all of its direct dependencies
      # (private ones too, since its code is now part of this binary).
      target_include_directories(fuzz_${name} PRIVATE
        $<TARGET_PROPERTY:${lib},INCLUDE_DIRECTORIES>)
      target_compile_definitions(fuzz_${name} PRIVATE
        $<TARGET_PROPERTY:${lib},COMPILE_DEFINITIONS>)
      target_link_libraries(fuzz_${name} PRIVATE
        $<TARGET_PROPERTY:${lib},LINK_LIBRARIES>)
    endforeach()
    target_compile_definitions(fuzz_${name} PRIVATE _DEFAULT_SOURCE)
    target_compile_options(fuzz_${name} PRIVATE -g -O1
      -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all)
    target_link_options(fuzz_${name} PRIVATE -fsanitize=fuzzer,address,undefined)
  endif()
endfunction()

sqn_add_fuzz_target(stp_decode LIBS sqnup_codec)
