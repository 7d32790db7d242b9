# systask_add_library(<name> <export name> <sources>...): one of systask's libraries, with its
# `systask::<export name>` alias, public headers in ./include (installed as they are), C++20, and
# install rules into the systask-targets export set (when SYSTASK_INSTALL is on), and systask's
# warnings (cmake/systask_warnings.cmake). Dependencies are added by the caller.
function(systask_add_library name export_name)
  add_library(${name} ${ARGN})
  add_library(systask::${export_name} ALIAS ${name})
  set_target_properties(${name} PROPERTIES EXPORT_NAME ${export_name} OUTPUT_NAME ${name})
  target_compile_features(${name} PUBLIC cxx_std_20)
  systask_warnings(${name})
  target_include_directories(${name} PUBLIC
    $<BUILD_INTERFACE:${CMAKE_CURRENT_SOURCE_DIR}/include>
    $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
  if(SYSTASK_INSTALL)
    install(TARGETS ${name} EXPORT systask-targets
      ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
      LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
    install(DIRECTORY include/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
  endif()
endfunction()
