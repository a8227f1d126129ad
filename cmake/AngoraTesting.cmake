# angora_add_check_test(NAME n SOURCES s... LIBS l... [LABELS unit] [TIMEOUT sec] [ENV K=V...])
# One Check suite per source file, each registered as its own CTest test.
# CTest's timeout is the one hang guard. Check's own per-test timers (4 s by default) would fail
# a correct test on a loaded machine (ctest -j16 on 2 cores, sanitizers), so they are widened far
# past anything a passing test needs. Every Check suite runs with these variables.
set(ANGORA_CHECK_ENV CK_DEFAULT_TIMEOUT=300 CK_TIMEOUT_MULTIPLIER=10)

function(angora_add_check_test)
    cmake_parse_arguments(T "" "NAME;TIMEOUT" "SOURCES;LIBS;LABELS;ENV" ${ARGN})
    if(NOT T_LABELS)
        set(T_LABELS unit)
    endif()
    if(NOT T_TIMEOUT)
        set(T_TIMEOUT 300)
    endif()
    add_executable(${T_NAME} ${T_SOURCES})
    target_link_libraries(${T_NAME} PRIVATE ${T_LIBS} PkgConfig::CHECK)
    target_include_directories(${T_NAME} PRIVATE ${PROJECT_SOURCE_DIR}/tests)
    add_test(NAME ${T_NAME} COMMAND ${T_NAME})
    set(env OPENBLAS_NUM_THREADS=1 ANGORA_DATA_DIR=${ANGORA_BUILD_DATADIR} ${ANGORA_CHECK_ENV}
        ${T_ENV})
    set_tests_properties(${T_NAME} PROPERTIES LABELS "${T_LABELS}" TIMEOUT ${T_TIMEOUT}
                         ENVIRONMENT "${env}")
    # the programs a test runs (named as $<TARGET_FILE:...> in its environment) are built with it,
    # so that building the test alone leaves nothing it needs out of date
    string(REGEX MATCHALL "\\$<TARGET_FILE:[^>]+>" programs "${T_ENV}")
    foreach(program IN LISTS programs)
        string(REGEX REPLACE "^\\$<TARGET_FILE:([^>]+)>$" "\\1" program "${program}")
        add_dependencies(${T_NAME} ${program})
    endforeach()
endfunction()
