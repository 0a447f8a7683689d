# SPDX-License-Identifier: Apache-2.0
# Benchmarks (tests/bench): executables that print their figures as ratios
# against a baseline measured in the same run (see docs/benchmarks.md). ctest
# only runs a quick smoke of each (label "bench", tiny sizes, no time
# assertions): it checks that the benchmark runs, its own correctness checks
# pass and the figures are printed. Run the real thing by hand:
#   build-bench/tests/bench_codec; build-bench/tests/bench_inproc;
#   build-bench/tests/bench_pingpong; build-bench/tests/bench_sweep
if(NOT TARGET sqnup_pkg)
  return()
endif()

set(SQN_BENCH_DIR ${CMAKE_CURRENT_SOURCE_DIR}/bench)

add_library(sqn_bench_util STATIC ${SQN_BENCH_DIR}/bench_util.c)
target_include_directories(sqn_bench_util PUBLIC ${SQN_BENCH_DIR})
target_link_libraries(sqn_bench_util PUBLIC sqnup_pkg)
target_compile_definitions(sqn_bench_util PRIVATE _GNU_SOURCE)
sqn_target_warnings(sqn_bench_util)

# sqn_add_bench(name SOURCES ... LIBS ... [ARGS smoke args])
function(sqn_add_bench name)
  cmake_parse_arguments(A "" "" "SOURCES;LIBS;ARGS" ${ARGN})
  add_executable(${name} ${A_SOURCES})
  target_link_libraries(${name} PRIVATE sqn_bench_util ${A_LIBS})
  target_compile_definitions(${name} PRIVATE SQN_FIXTURES="${SQN_FIXTURES}"
                             _GNU_SOURCE)
  sqn_target_warnings(${name})
  add_test(NAME test_${name}_quick_prints_figures
           COMMAND ${name} --quick ${A_ARGS})
  set_tests_properties(test_${name}_quick_prints_figures PROPERTIES
                       LABELS bench TIMEOUT 10 SKIP_RETURN_CODE 77)
endfunction()

sqn_add_bench(bench_codec SOURCES ${SQN_BENCH_DIR}/bench_codec.c)

if(TARGET harness_bridge)
  sqn_add_bench(bench_inproc SOURCES ${SQN_BENCH_DIR}/bench_inproc.c
                LIBS harness_bridge sim_model sim_files sqnup)
endif()

if(TARGET sqn-scenario)
  sqn_add_bench(bench_sweep SOURCES ${SQN_BENCH_DIR}/bench_sweep.c)
  target_compile_definitions(bench_sweep PRIVATE
                             SQN_SCENARIO_EXE="$<TARGET_FILE:sqn-scenario>")
  add_dependencies(bench_sweep sqn-scenario)
endif()

if(TARGET sqnup_posix)
  # The smoke scales sqn-update's timeouts by 0.02, not the default 0.001:
  # 10 ms ack timeouts failed it on a loaded machine (a healthy run waits
  # for no timeout, so the figures do not change).
  sqn_add_bench(bench_pingpong SOURCES ${SQN_BENCH_DIR}/bench_pingpong.c
                LIBS sqnup_posix sqnup sim_pty_rate PkgConfig::JANSSON util)
  # The pty benchmark runs the tools as processes: build them with it.
  foreach(tool sqn-sim sqn-update)
    if(TARGET ${tool})
      string(TOUPPER ${tool} var)
      string(REPLACE "-" "_" var ${var})
      target_compile_definitions(bench_pingpong PRIVATE
                                 ${var}_EXE="$<TARGET_FILE:${tool}>")
      add_dependencies(bench_pingpong ${tool})
    endif()
  endforeach()
endif()
