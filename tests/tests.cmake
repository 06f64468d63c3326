# Unit tests: every tests/unit/test_<module>.c is one Check executable and one ctest.
# Integration and interop tests: every tests/{integ,interop}/*.sh is one ctest
# (exit 77 = skipped). Fuzz targets: tests/fuzz/fuzz_*.c with -DAKV_FUZZ=ON.
file(GLOB AKV_TEST_SUPPORT CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/support/*.c)
set(AKV_TEST_ENV
  "AKV_BUILD_DIR=${CMAKE_BINARY_DIR}"
  "AKV_SOURCE_DIR=${CMAKE_SOURCE_DIR}"
  "AKV_VECTORS_DIR=${CMAKE_SOURCE_DIR}/tests/vectors")

if(CHECK_FOUND)
  file(GLOB AKV_UNIT_TESTS CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/unit/test_*.c)
  foreach(src ${AKV_UNIT_TESTS})
    get_filename_component(name ${src} NAME_WE)
    add_executable(${name} ${src} ${AKV_TEST_SUPPORT})
    target_include_directories(${name} PRIVATE ${CMAKE_SOURCE_DIR}/tests/support)
    target_link_libraries(${name} PRIVATE akv_server PkgConfig::CHECK)
    add_test(NAME unit/${name} COMMAND ${name})
    set_tests_properties(unit/${name} PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 600
      ENVIRONMENT "${AKV_TEST_ENV}")
  endforeach()
else()
  message(WARNING "Check not found: unit tests are not built (run `make deps`)")
endif()

# LD_PRELOAD shim that holds fsync at a gate file (tests/integ/cx_registrar.sh)
add_library(akv_fsync_gate MODULE ${CMAKE_SOURCE_DIR}/tests/shim/fsync_gate.c)
target_link_libraries(akv_fsync_gate PRIVATE ${CMAKE_DL_LIBS})

foreach(kind integ interop)
  file(GLOB scripts CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/${kind}/*.sh)
  foreach(sh ${scripts})
    get_filename_component(name ${sh} NAME_WE)
    add_test(NAME ${kind}/${name} COMMAND bash ${sh})
    set_tests_properties(${kind}/${name} PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 900
      ENVIRONMENT "${AKV_TEST_ENV}")
  endforeach()
endforeach()
# These two build a second tree (ASan/UBSan, clang + libFuzzer) before they
# run: on a busy 2-core machine the build alone took 844 s of the 900.
set_tests_properties(integ/sanitize integ/fuzz PROPERTIES TIMEOUT 1800)

if(AKV_FUZZ)
  # The code under test needs coverage instrumentation too, or libFuzzer is blind;
  # the ASan/UBSan runtimes it then needs come with every target linking the libs.
  foreach(lib akv_crypto akv_server)
    target_compile_options(${lib} PRIVATE -fsanitize=fuzzer-no-link,address,undefined)
    target_link_options(${lib} INTERFACE -fsanitize=address,undefined)
  endforeach()
  if(CMAKE_C_COMPILER_ID STREQUAL "Clang")
    # clang ignores `#pragma GCC target`: give the SIMD kernels their ISA here
    # (fuzz builds only, run on the machine that builds them).
    set_source_files_properties(${CMAKE_SOURCE_DIR}/crypto/mil_ni.c PROPERTIES
      COMPILE_OPTIONS "-Wno-unknown-pragmas;-msse4.1;-maes")
    set_source_files_properties(${CMAKE_SOURCE_DIR}/crypto/mil_vaes.c PROPERTIES
      COMPILE_OPTIONS "-Wno-unknown-pragmas;-msse4.1;-maes;-mavx;-mavx2;-mvaes")
  endif()
  file(GLOB AKV_FUZZ_SRC CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/fuzz/fuzz_*.c)
  foreach(src ${AKV_FUZZ_SRC})
    get_filename_component(name ${src} NAME_WE)
    add_executable(${name} ${src})
    target_compile_options(${name} PRIVATE -fsanitize=fuzzer,address,undefined)
    target_link_options(${name} PRIVATE -fsanitize=fuzzer,address,undefined)
    target_link_libraries(${name} PRIVATE akv_server)
  endforeach()
endif()
