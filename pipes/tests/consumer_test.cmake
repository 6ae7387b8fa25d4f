# The library as a user gets it, then the consumer project built and run against that alone:
#   FROM=install  cmake --install of the pipes build into a scratch prefix
#   FROM=deb      cpack -G DEB, then dpkg-deb -x of the .deb into a scratch directory (nothing is
#                 installed system-wide)
# Each time twice: with find_package(pipes 1 REQUIRED), and with pkg-config --cflags --libs pipes.
# Run with cmake -P; see tests/CMakeLists.txt for the inputs.
foreach(var FROM BUILD_DIR SOURCE_DIR WORK_DIR GENERATOR CXX_COMPILER)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "consumer_test.cmake: ${var} is not set")
  endif()
endforeach()

function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE result)
  if(NOT result EQUAL 0)
    string(REPLACE ";" " " command "${ARGN}")
    message(FATAL_ERROR "failed (${result}): ${command}")
  endif()
endfunction()

file(REMOVE_RECURSE ${WORK_DIR})
if(FROM STREQUAL "install")
  set(prefix ${WORK_DIR}/prefix)
  run(${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${prefix})
elseif(FROM STREQUAL "deb")
  run(cpack -G DEB --config ${BUILD_DIR}/CPackConfig.cmake -B ${WORK_DIR}/package)
  file(GLOB debs ${WORK_DIR}/package/*.deb)
  list(LENGTH debs count)
  if(NOT count EQUAL 1)
    message(FATAL_ERROR "expected one .deb in ${WORK_DIR}/package, found: ${debs}")
  endif()
  run(dpkg-deb -x ${debs} ${WORK_DIR}/root)
  message(STATUS "unpacked ${debs}")
  set(prefix ${WORK_DIR}/root/usr)
else()
  message(FATAL_ERROR "consumer_test.cmake: FROM must be install or deb, not ${FROM}")
endif()

# find_package(pipes 1 REQUIRED), finding only this prefix.
run(${CMAKE_COMMAND} -S ${SOURCE_DIR} -B ${WORK_DIR}/build -G ${GENERATOR}
    -DCMAKE_PREFIX_PATH=${prefix}
    -DCMAKE_BUILD_TYPE=${BUILD_TYPE}
    -DCMAKE_CXX_COMPILER=${CXX_COMPILER}
    "-DCMAKE_CXX_FLAGS=${CXX_FLAGS}"
    "-DCMAKE_EXE_LINKER_FLAGS=${LINKER_FLAGS}")
run(${CMAKE_COMMAND} --build ${WORK_DIR}/build)
run(${WORK_DIR}/build/pipes_consumer)

# pkg-config --cflags --libs pipes, finding only this prefix's pipes.pc.
file(GLOB_RECURSE pc_file ${prefix}/*/pipes.pc)
list(LENGTH pc_file count)
if(NOT count EQUAL 1)
  message(FATAL_ERROR "expected one pipes.pc under ${prefix}, found: ${pc_file}")
endif()
get_filename_component(pc_dir ${pc_file} DIRECTORY)
set(ENV{PKG_CONFIG_LIBDIR} ${pc_dir})
set(ENV{PKG_CONFIG_PATH} "")
execute_process(COMMAND pkg-config --cflags --libs pipes OUTPUT_VARIABLE flags
                RESULT_VARIABLE result OUTPUT_STRIP_TRAILING_WHITESPACE)
if(NOT result EQUAL 0)
  message(FATAL_ERROR "pkg-config --cflags --libs pipes failed")
endif()
message(STATUS "pkg-config --cflags --libs pipes: ${flags}")
separate_arguments(flags UNIX_COMMAND "${flags}")
separate_arguments(extra UNIX_COMMAND "${CXX_FLAGS} ${LINKER_FLAGS}")
run(${CXX_COMPILER} ${extra} ${SOURCE_DIR}/main.cpp ${flags} -o ${WORK_DIR}/pkg_config_consumer)
run(${WORK_DIR}/pkg_config_consumer)
