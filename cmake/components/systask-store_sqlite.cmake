# SPDX-License-Identifier: BSL-1.0
# Loaded by systask-config.cmake when a consumer asks for the store_sqlite component. A missing
# SQLite leaves systask::store_sqlite undefined, and systask-config.cmake says so.
find_package(SQLite3 QUIET)
if(SQLite3_FOUND)
  include("${CMAKE_CURRENT_LIST_DIR}/systask-store_sqlite-targets.cmake")
endif()
