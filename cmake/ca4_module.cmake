# ca4_module(): the one way to declare a module.
#
#   ca4_module(NAME common
#              SOURCES src/a.cpp ...            # library sources (omit for header-only)
#              DEPS ca4::x PkgConfig::RDKAFKA   # public link deps
#              TESTS tests/a_test.cpp ...       # hermetic unit tests -> ctest -L unit
#              FUZZ fuzz/envelope_fuzz.cpp ...  # libFuzzer targets (only with -DCA4_FUZZ=ON and clang)
#              BENCH bench/x_bench.cpp ...)     # Google Benchmark targets
#
# Produces target ca4_<NAME> with alias ca4::<NAME>, public include dir <module>/include,
# warnings as errors and C++20. Tests link GTest::gtest_main.
include_guard(GLOBAL)

function(ca4_target_defaults target)
  target_compile_features(${target} PUBLIC cxx_std_20)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Werror)
endfunction()

function(ca4_module)
  cmake_parse_arguments(M "" "NAME" "SOURCES;DEPS;PRIVATE_DEPS;TESTS;TEST_DEPS;FUZZ;BENCH" ${ARGN})
  set(lib ca4_${M_NAME})
  if(M_SOURCES)
    add_library(${lib} STATIC ${M_SOURCES})
    target_include_directories(${lib} PUBLIC ${CMAKE_CURRENT_SOURCE_DIR}/include
                                      PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/src)
    target_link_libraries(${lib} PUBLIC ${M_DEPS} PRIVATE ${M_PRIVATE_DEPS})
    ca4_target_defaults(${lib})
  else()
    add_library(${lib} INTERFACE)
    target_include_directories(${lib} INTERFACE ${CMAKE_CURRENT_SOURCE_DIR}/include)
    target_link_libraries(${lib} INTERFACE ${M_DEPS})
  endif()
  add_library(ca4::${M_NAME} ALIAS ${lib})

  if(M_TESTS AND CA4_BUILD_TESTS)
    add_executable(${lib}_tests ${M_TESTS})
    target_link_libraries(${lib}_tests PRIVATE ${lib} ${M_TEST_DEPS} GTest::gtest GTest::gmock GTest::gtest_main)
    target_include_directories(${lib}_tests PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/src)
    ca4_target_defaults(${lib}_tests)
    gtest_discover_tests(${lib}_tests PROPERTIES LABELS unit DISCOVERY_TIMEOUT 60)
  endif()

  if(M_FUZZ AND CA4_FUZZ)
    foreach(src ${M_FUZZ})
      get_filename_component(fname ${src} NAME_WE)
      add_executable(${fname} ${src})
      target_link_libraries(${fname} PRIVATE ${lib})
      target_compile_options(${fname} PRIVATE -fsanitize=fuzzer)
      target_link_options(${fname} PRIVATE -fsanitize=fuzzer)
      ca4_target_defaults(${fname})
    endforeach()
  endif()

  if(M_BENCH AND CA4_BUILD_BENCH)
    foreach(src ${M_BENCH})
      get_filename_component(bname ${src} NAME_WE)
      add_executable(${bname} ${src})
      target_link_libraries(${bname} PRIVATE ${lib} benchmark::benchmark)
      ca4_target_defaults(${bname})
    endforeach()
  endif()
endfunction()

# ca4_binary(NAME ca4-processor SOURCES main.cpp DEPS ca4::processor)
function(ca4_binary)
  cmake_parse_arguments(B "" "NAME" "SOURCES;DEPS" ${ARGN})
  add_executable(${B_NAME} ${B_SOURCES})
  target_link_libraries(${B_NAME} PRIVATE ${B_DEPS})
  ca4_target_defaults(${B_NAME})
endfunction()
