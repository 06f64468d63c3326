# akavs-bench: the CLI (crypto, engine, load, echo, plan) from bench/tool/*.c.
# akavs-microbench: Google Benchmark over plain-C kernels in bench/micro/bench_*.c,
# registered by bench/micro/gbench_main.cc (the only C++ file).
file(GLOB AKV_BENCH_TOOL_SRC CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/bench/tool/*.c)
if(AKV_BENCH_TOOL_SRC)
  add_executable(akavs-bench ${AKV_BENCH_TOOL_SRC})
  target_include_directories(akavs-bench PRIVATE ${CMAKE_SOURCE_DIR}/bench/tool)
  target_link_libraries(akavs-bench PRIVATE akv_server)
  if(OSMOGSM_FOUND)
    target_compile_definitions(akavs-bench PRIVATE AKV_HAVE_OSMO=1)
    target_link_libraries(akavs-bench PRIVATE PkgConfig::OSMOGSM)
  endif()
endif()

file(GLOB AKV_MICRO_SRC CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/bench/micro/*.c)
if(GBENCH_FOUND AND AKV_MICRO_SRC)
  add_executable(akavs-microbench ${AKV_MICRO_SRC} ${CMAKE_SOURCE_DIR}/bench/micro/gbench_main.cc)
  target_include_directories(akavs-microbench PRIVATE ${CMAKE_SOURCE_DIR}/bench/micro)
  target_link_libraries(akavs-microbench PRIVATE akv_server PkgConfig::GBENCH)
endif()
