# SPDX-License-Identifier: BSL-1.0
# Loaded by systask-config.cmake when a consumer asks for the glog component. A missing
# package leaves systask::glog undefined, and systask-config.cmake says so.
find_package(glog 0.6 CONFIG QUIET)
if(glog_FOUND)
  include("${CMAKE_CURRENT_LIST_DIR}/systask-glog-targets.cmake")
endif()
