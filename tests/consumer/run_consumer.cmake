# Configures, builds and runs the consumer project; for MODE=package it first installs systask
# from SYSTASK_SOURCE into a private prefix. Fails on the first step that fails.
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
