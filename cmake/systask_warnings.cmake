# SPDX-License-Identifier: BSL-1.0
# systask_warnings(<target>): the warnings systask's own code is kept free of, in the manner of
# spdlog's spdlog_enable_warnings (cmake/utils.cmake). They are PRIVATE compile options, so they
# never reach a consumer through exported target properties, and they are not in the presets'
# CMAKE_CXX_FLAGS, so every preset (sanitizers included) checks the same set.
# SYSTASK_WERROR=ON makes them errors; scripts/test, and so CI, configures every preset with it.
# Every library, test, benchmark, example and fuzz target calls this; systask_check_warnings()
# at the end of the top-level CMakeLists.txt names any target that does not.

option(SYSTASK_WERROR "Treat compiler warnings in systask's own targets as errors" OFF)

function(systask_warnings target)
  if(CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
    target_compile_options(${target} PRIVATE
      -Wall -Wextra -Wpedantic
      -Wshadow                # a local that hides a member or a parameter
      -Wold-style-cast        # every cast names the conversion it means
      -Woverloaded-virtual
      -Wformat=2
      -Wimplicit-fallthrough  # in -Wextra for g++, not for clang
      # g++ only: a function with external linkage and no declaration (belongs in an unnamed
      # namespace), and conditions that are always true or repeated.
      $<$<CXX_COMPILER_ID:GNU>:-Wmissing-declarations -Wlogical-op -Wduplicated-cond>
      $<$<BOOL:${SYSTASK_WERROR}>:-Werror>)
    # g++'s sanitizer instrumentation misleads its flow-based warnings: under the asan preset
    # g++ 12 reports std::regex's std::function members as maybe-uninitialized, and Asio's
    # coroutine frames (aligned_alloc'd by the frame's operator new, freed by its operator
    # delete) as mismatched, in code that is clean at -O2 and -O3 without instrumentation. The
    # release build keeps both warnings for every file.
    if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_FLAGS MATCHES "-fsanitize=")
      target_compile_options(${target} PRIVATE -Wno-maybe-uninitialized -Wno-mismatched-new-delete)
    endif()
  elseif(MSVC)
    target_compile_options(${target} PRIVATE /W4 $<$<BOOL:${SYSTASK_WERROR}>:/WX>)
  endif()
  set_property(TARGET ${target} PROPERTY SYSTASK_WARNINGS ON)
endfunction()

# Fails the configuration (a warning without SYSTASK_WERROR) naming every target compiled in
# `dir` or below that never called systask_warnings(): a target added with a plain
# add_executable would otherwise be the one place warnings go unseen.
function(systask_check_warnings dir)
  set(missing "")
  set(dirs "${dir}")
  while(dirs)
    list(POP_FRONT dirs d)
    get_property(targets DIRECTORY "${d}" PROPERTY BUILDSYSTEM_TARGETS)
    foreach(t IN LISTS targets)
      get_target_property(type ${t} TYPE)
      get_target_property(imported ${t} IMPORTED)
      if(type MATCHES "^(EXECUTABLE|STATIC_LIBRARY|SHARED_LIBRARY|MODULE_LIBRARY|OBJECT_LIBRARY)$" AND NOT imported)
        get_target_property(has ${t} SYSTASK_WARNINGS)
        if(NOT has)
          list(APPEND missing ${t})
        endif()
      endif()
    endforeach()
    get_property(subdirs DIRECTORY "${d}" PROPERTY SUBDIRECTORIES)
    list(APPEND dirs ${subdirs})
  endwhile()
  if(missing)
    set(mode AUTHOR_WARNING)
    if(SYSTASK_WERROR)
      set(mode FATAL_ERROR)
    endif()
    message(${mode} "systask targets built without systask_warnings(): ${missing}\n"
                    "Call systask_warnings(<target>) after creating them (cmake/systask_warnings.cmake).")
  endif()
endfunction()
