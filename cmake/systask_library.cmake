# SPDX-License-Identifier: BSL-1.0
# systask_add_library(<name> <export name> [EXPORT_SET <set>] <sources>...): one of systask's
# libraries, with its `systask::<export name>` alias, public headers in ./include (installed as
# they are), C++20, install rules into the export set (default systask-targets; each optional
# component has its own, loaded only when a consumer asks for that component) when
# SYSTASK_INSTALL is on, systask's warnings (cmake/systask_warnings.cmake), and, when built
# shared, VERSION and SOVERSION. Dependencies are added by the caller.
#
# SOVERSION: while the major version is 0, every minor release may break the ABI, so the
# soname carries major.minor (libsystask_engine.so.0.1); from 1.0 on, the major alone.
function(systask_add_library name export_name)
  cmake_parse_arguments(PARSE_ARGV 2 arg "" "EXPORT_SET" "")
  if(NOT arg_EXPORT_SET)
    set(arg_EXPORT_SET systask-targets)
  endif()
  add_library(${name} ${arg_UNPARSED_ARGUMENTS})
  add_library(systask::${export_name} ALIAS ${name})
  if(PROJECT_VERSION_MAJOR EQUAL 0)
    set(soversion ${PROJECT_VERSION_MAJOR}.${PROJECT_VERSION_MINOR})
  else()
    set(soversion ${PROJECT_VERSION_MAJOR})
  endif()
  set_target_properties(${name} PROPERTIES EXPORT_NAME ${export_name} OUTPUT_NAME ${name}
    VERSION ${PROJECT_VERSION} SOVERSION ${soversion})
  target_compile_features(${name} PUBLIC cxx_std_20)
  systask_warnings(${name})
  target_include_directories(${name} PUBLIC
    $<BUILD_INTERFACE:${CMAKE_CURRENT_SOURCE_DIR}/include>
    $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
  if(SYSTASK_INSTALL)
    install(TARGETS ${name} EXPORT ${arg_EXPORT_SET}
      ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
      LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
      RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
    install(DIRECTORY include/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
  endif()
endfunction()

# systask_add_integration(<component> <library> <find args>... SOURCES <sources>...): an
# optional logging bridge under engine/integrations/<component>/, built when its package is
# found. SYSTASK_WITH_<COMPONENT> is AUTO (build it when the package is found; the default),
# ON (the package is required: configure fails without it) or OFF. The package is found with
# `find_package(<find args>)`; the installed component file cmake/components/
# systask-<component>.cmake finds it again for the consumer. Sets SYSTASK_HAS_<COMPONENT> in
# the caller's scope and appends the component to the global property SYSTASK_COMPONENTS.
function(systask_add_integration component library)
  cmake_parse_arguments(PARSE_ARGV 2 arg "" "" "SOURCES;LINK")
  string(TOUPPER ${component} upper)
  set(SYSTASK_WITH_${upper} AUTO CACHE STRING "Build the systask::${component} bridge: AUTO (when found), ON, OFF")
  set_property(CACHE SYSTASK_WITH_${upper} PROPERTY STRINGS AUTO ON OFF)
  set(SYSTASK_HAS_${upper} OFF PARENT_SCOPE)
  if(SYSTASK_WITH_${upper} STREQUAL "OFF")
    message(STATUS "systask::${component}: off (SYSTASK_WITH_${upper}=OFF)")
    return()
  endif()
  if(SYSTASK_WITH_${upper} STREQUAL "ON")
    find_package(${arg_UNPARSED_ARGUMENTS} REQUIRED)
  else()
    find_package(${arg_UNPARSED_ARGUMENTS} QUIET)
  endif()
  list(GET arg_UNPARSED_ARGUMENTS 0 package)
  if(NOT ${package}_FOUND)
    message(STATUS "systask::${component}: not built (package ${package} not found; SYSTASK_WITH_${upper}=AUTO)")
    return()
  endif()
  message(STATUS "systask::${component}: built (${package} ${${package}_VERSION})")
  systask_add_library(${library} ${component} EXPORT_SET systask-${component}-targets ${arg_SOURCES})
  target_link_libraries(${library} PUBLIC systask::engine ${arg_LINK})
  if(SYSTASK_INSTALL)
    install(EXPORT systask-${component}-targets NAMESPACE systask::
      DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/systask)
    install(FILES ${PROJECT_SOURCE_DIR}/cmake/components/systask-${component}.cmake
      DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/systask)
  endif()
  set_property(GLOBAL APPEND PROPERTY SYSTASK_COMPONENTS ${component})
  set(SYSTASK_HAS_${upper} ON PARENT_SCOPE)
endfunction()
