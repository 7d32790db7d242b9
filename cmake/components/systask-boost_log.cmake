# SPDX-License-Identifier: BSL-1.0
# Loaded by systask-config.cmake when a consumer asks for the boost_log component. A missing
# package leaves systask::boost_log undefined, and systask-config.cmake says so.
find_package(boost_log 1.81 CONFIG QUIET)
if(boost_log_FOUND)
  include("${CMAKE_CURRENT_LIST_DIR}/systask-boost_log-targets.cmake")
endif()
