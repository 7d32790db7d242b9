# SPDX-License-Identifier: BSL-1.0
# cmake -DCXX=<compiler> -DINCLUDE=<engine include dir> -DSOURCE=<snippet> -P expect_failure.cmake
# The snippet must compile as it is (so a failure below is not a broken include path or flag),
# and must fail to compile, on a deleted conversion, with each of the macros.
execute_process(COMMAND ${CXX} -std=c++20 -fsyntax-only -I${INCLUDE} ${SOURCE}
                RESULT_VARIABLE rc ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "the control snippet does not compile:\n${err}")
endif()
foreach(macro SYSTASK_NAMED_ARRAY SYSTASK_NAMED_OBJECT SYSTASK_NAMED_CONST_ARRAY)
  execute_process(COMMAND ${CXX} -std=c++20 -fsyntax-only -D${macro} -I${INCLUDE} ${SOURCE}
                  RESULT_VARIABLE rc ERROR_VARIABLE err)
  if(rc EQUAL 0)
    message(FATAL_ERROR "${macro}: a named attribute view compiled; it must not")
  endif()
  if(NOT err MATCHES "deleted")
    message(FATAL_ERROR "${macro}: failed for another reason than the deleted conversion:\n${err}")
  endif()
  message(STATUS "${macro}: refused as expected")
endforeach()
