# SPDX-License-Identifier: BSL-1.0
# Loaded by systask-config.cmake when a consumer asks for the spdlog component. A missing
# package leaves systask::spdlog undefined, and systask-config.cmake says so.
find_package(spdlog 1.10 CONFIG QUIET)
if(spdlog_FOUND)
  include("${CMAKE_CURRENT_LIST_DIR}/systask-spdlog-targets.cmake")
endif()
