# SPDX-License-Identifier: BSL-1.0
# Loaded by systask-config.cmake when a consumer asks for the store_postgresql component. A
# missing libpq leaves systask::store_postgresql undefined, and systask-config.cmake says so.
find_package(PostgreSQL QUIET)
if(PostgreSQL_FOUND)
  include("${CMAKE_CURRENT_LIST_DIR}/systask-store_postgresql-targets.cmake")
endif()
