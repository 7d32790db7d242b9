# Configures, builds and runs the consumer project; for MODE=package it first installs systask
# from SYSTASK_SOURCE into a private prefix. For MODE=subdirectory it then checks that systask,
# as a subproject, installs nothing by default and installs its package with SYSTASK_INSTALL=ON.
# Fails on the first step that fails.
file(REMOVE_RECURSE ${BINARY})
file(MAKE_DIRECTORY ${BINARY})
function(step)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "step failed (${rc}): ${ARGN}\n${out}\n${err}")
  endif()
endfunction()
set(common -G Ninja -DCMAKE_CXX_COMPILER=${CXX} -DCMAKE_BUILD_TYPE=Release)
if(MODE STREQUAL "package")
  step(${CMAKE_COMMAND} -S ${SYSTASK_SOURCE} -B ${BINARY}/systask ${common}
       -DSYSTASK_BUILD_TESTS=OFF -DSYSTASK_BUILD_BENCHMARKS=OFF -DSYSTASK_BUILD_EXAMPLES=OFF
       -DCMAKE_INSTALL_PREFIX=${BINARY}/prefix)
  step(${CMAKE_COMMAND} --build ${BINARY}/systask --target install)
  step(${CMAKE_COMMAND} -S ${SOURCE} -B ${BINARY}/consumer ${common} -DCONSUMER_MODE=package
       -DCMAKE_PREFIX_PATH=${BINARY}/prefix)
else()
  step(${CMAKE_COMMAND} -S ${SOURCE} -B ${BINARY}/consumer ${common} -DCONSUMER_MODE=subdirectory
       -DSYSTASK_SOURCE=${SYSTASK_SOURCE})
endif()
step(${CMAKE_COMMAND} --build ${BINARY}/consumer)
step(${BINARY}/consumer/consumer)

if(MODE STREQUAL "subdirectory")
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
endif()
