# SPDX-License-Identifier: BSL-1.0
# Runs one consumer check (cmake -P), failing on the first step that fails. MODE:
#   install       (the fixture) configures, builds and installs systask from SYSTASK_SOURCE into
#                 PREFIX as shared libraries, the way a distribution would (tests, benchmarks,
#                 examples off; spdlog bridge on, glog bridge off so that a missing component
#                 can be tested), and checks the soname links and the installed files
#   package       find_package(systask REQUIRED COMPONENTS http spdlog) on PREFIX
#   missing       find_package of a component that was not built (glog) and of one that does
#                 not exist must fail to configure, each with its clear message
#   pkgconfig     a plain Makefile with pkg-config on PREFIX
#   subdirectory  add_subdirectory; then checks that systask, as a subproject, installs
#                 nothing by default and installs its package with SYSTASK_INSTALL=ON
#   fetchcontent  FetchContent from the local path SYSTASK_SOURCE (builds only what
#                 consumer_spdlog needs)
file(REMOVE_RECURSE ${BINARY})
file(MAKE_DIRECTORY ${BINARY})
function(step)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "step failed (${rc}): ${ARGN}\n${out}\n${err}")
  endif()
endfunction()
# A configure that must fail, and say `expected` (a regular expression) about why.
function(step_fails expected)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(rc EQUAL 0)
    message(FATAL_ERROR "step succeeded but must fail: ${ARGN}\n${out}\n${err}")
  endif()
  if(NOT "${out}${err}" MATCHES "${expected}")
    message(FATAL_ERROR "step failed without saying '${expected}': ${ARGN}\n${out}\n${err}")
  endif()
endfunction()
# Build type None, as Debian's packaging builds: no flags of CMake's own, so with no CXXFLAGS in
# the environment (CI) no optimisation. These checks are about packaging and linking, not speed,
# and each builds systask again (-O0 takes about two thirds of the CPU time of -O3 here).
set(common -G Ninja -DCMAKE_CXX_COMPILER=${CXX} -DCMAKE_BUILD_TYPE=None)

if(MODE STREQUAL "install")
  step(${CMAKE_COMMAND} -S ${SYSTASK_SOURCE} -B ${BINARY}/systask ${common}
       -DBUILD_SHARED_LIBS=ON -DSYSTASK_BUILD_TESTS=OFF -DSYSTASK_BUILD_BENCHMARKS=OFF -DSYSTASK_BUILD_EXAMPLES=OFF
       -DSYSTASK_WITH_SPDLOG=ON -DSYSTASK_WITH_GLOG=OFF -DSYSTASK_WITH_BOOST_LOG=OFF
       -DCMAKE_INSTALL_PREFIX=${PREFIX} -DCMAKE_INSTALL_LIBDIR=lib)
  step(${CMAKE_COMMAND} --build ${BINARY}/systask --target install)
  file(STRINGS ${SYSTASK_SOURCE}/engine/include/systask/engine/version.hpp v REGEX "SYSTASK_VERSION_(MAJOR|MINOR|PATCH) ")
  string(REGEX REPLACE ".*MAJOR ([0-9]+).*MINOR ([0-9]+).*PATCH ([0-9]+).*" "\\1;\\2;\\3" v "${v}")
  list(GET v 0 major)
  list(GET v 1 minor)
  list(GET v 2 patch)
  foreach(lib engine api http spdlog)
    # libsystask_engine.so -> .so.0.1 (the soname: major.minor while major is 0) -> .so.0.1.0
    if(NOT IS_SYMLINK ${PREFIX}/lib/libsystask_${lib}.so OR NOT IS_SYMLINK ${PREFIX}/lib/libsystask_${lib}.so.${major}.${minor}
       OR NOT EXISTS ${PREFIX}/lib/libsystask_${lib}.so.${major}.${minor}.${patch})
      message(FATAL_ERROR "libsystask_${lib}: expected the .so -> .so.${major}.${minor} -> .so.${major}.${minor}.${patch} links")
    endif()
  endforeach()
  foreach(f lib/pkgconfig/systask.pc share/doc/systask/LICENSE lib/cmake/systask/systask-spdlog.cmake
            include/systask/engine/current_run.hpp include/systask/spdlog/sink.hpp)
    if(NOT EXISTS ${PREFIX}/${f})
      message(FATAL_ERROR "not installed: ${f}")
    endif()
  endforeach()
  if(EXISTS ${PREFIX}/lib/cmake/systask/systask-glog.cmake)
    message(FATAL_ERROR "the glog component was installed although SYSTASK_WITH_GLOG=OFF")
  endif()
  return()
endif()

if(MODE STREQUAL "package")
  step(${CMAKE_COMMAND} -S ${SOURCE} -B ${BINARY}/consumer ${common} -DCONSUMER_MODE=package
       -DCMAKE_PREFIX_PATH=${PREFIX})
  step(${CMAKE_COMMAND} --build ${BINARY}/consumer)
  step(${BINARY}/consumer/consumer)
  step(${BINARY}/consumer/consumer_spdlog)
  return()
endif()

if(MODE STREQUAL "missing")
  file(WRITE ${BINARY}/missing/CMakeLists.txt
    "cmake_minimum_required(VERSION 3.25)\nproject(missing LANGUAGES CXX)\n"
    "find_package(systask REQUIRED COMPONENTS \${WANT})\n")
  step_fails("built without its 'glog' component"
    ${CMAKE_COMMAND} -S ${BINARY}/missing -B ${BINARY}/missing/glog ${common} -DWANT=glog -DCMAKE_PREFIX_PATH=${PREFIX})
  step_fails("systask has no component 'nonsense'"
    ${CMAKE_COMMAND} -S ${BINARY}/missing -B ${BINARY}/missing/nonsense ${common} -DWANT=nonsense -DCMAKE_PREFIX_PATH=${PREFIX})
  # An optional component that is missing is only reported; the package is still found.
  file(WRITE ${BINARY}/optional/CMakeLists.txt
    "cmake_minimum_required(VERSION 3.25)\nproject(optional LANGUAGES CXX)\n"
    "find_package(systask REQUIRED COMPONENTS engine OPTIONAL_COMPONENTS glog)\n"
    "if(systask_glog_FOUND OR NOT TARGET systask::engine)\n  message(FATAL_ERROR \"wrong components\")\nendif()\n")
  step(${CMAKE_COMMAND} -S ${BINARY}/optional -B ${BINARY}/optional/build ${common} -DCMAKE_PREFIX_PATH=${PREFIX})
  return()
endif()

if(MODE STREQUAL "pkgconfig")
  set(ENV{PKG_CONFIG_PATH} ${PREFIX}/lib/pkgconfig)
  step(make -C ${BINARY} -f ${SOURCE}/../makefile/Makefile CXX=${CXX} SOURCE=${SOURCE}/main.cpp consumer)
  set(ENV{LD_LIBRARY_PATH} ${PREFIX}/lib)
  step(${BINARY}/consumer)
  return()
endif()

if(MODE STREQUAL "fetchcontent")
  step(${CMAKE_COMMAND} -S ${SOURCE} -B ${BINARY}/consumer ${common} -DCONSUMER_MODE=fetchcontent
       -DSYSTASK_SOURCE=${SYSTASK_SOURCE} -DSYSTASK_WITH_SPDLOG=ON)
  step(${CMAKE_COMMAND} --build ${BINARY}/consumer --target consumer_spdlog)
  step(${BINARY}/consumer/consumer_spdlog)
  return()
endif()

# subdirectory
step(${CMAKE_COMMAND} -S ${SOURCE} -B ${BINARY}/consumer ${common} -DCONSUMER_MODE=subdirectory
     -DSYSTASK_SOURCE=${SYSTASK_SOURCE} -DSYSTASK_WITH_SPDLOG=OFF -DSYSTASK_WITH_GLOG=OFF -DSYSTASK_WITH_BOOST_LOG=OFF)
step(${CMAKE_COMMAND} --build ${BINARY}/consumer)
step(${BINARY}/consumer/consumer)
# The consumer has no install rules of its own: whatever lands in the prefix is systask's.
step(${CMAKE_COMMAND} --install ${BINARY}/consumer --prefix ${BINARY}/default_prefix)
file(GLOB_RECURSE installed LIST_DIRECTORIES false ${BINARY}/default_prefix/*)
if(installed)
  message(FATAL_ERROR "systask as a subproject installed files without SYSTASK_INSTALL=ON: ${installed}")
endif()
# Opting in changes no compile flag, so this rebuilds nothing; it only adds the install rules.
step(${CMAKE_COMMAND} -S ${SOURCE} -B ${BINARY}/consumer -DSYSTASK_INSTALL=ON)
step(${CMAKE_COMMAND} --build ${BINARY}/consumer)
step(${CMAKE_COMMAND} --install ${BINARY}/consumer --prefix ${BINARY}/opt_in_prefix)
file(GLOB_RECURSE package_config ${BINARY}/opt_in_prefix/*/cmake/systask/systask-targets.cmake)
if(NOT package_config OR NOT EXISTS ${BINARY}/opt_in_prefix/include/systask/engine.hpp)
  message(FATAL_ERROR "SYSTASK_INSTALL=ON in a subproject did not install systask's package")
endif()
