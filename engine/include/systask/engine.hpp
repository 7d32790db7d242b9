// SPDX-License-Identifier: BSL-1.0
#pragma once

// Everything a host needs to track its tasks with systask's engine.
#include <systask/engine/async_run.hpp>
#include <systask/engine/attribute.hpp>
#include <systask/engine/clock.hpp>
#include <systask/engine/crontab.hpp>
#include <systask/engine/current_run.hpp>
#include <systask/engine/enums.hpp>
#include <systask/engine/errc.hpp>
#include <systask/engine/limits.hpp>
#include <systask/engine/observer.hpp>
#include <systask/engine/options.hpp>
#include <systask/engine/record.hpp>
#include <systask/engine/registry.hpp>
#include <systask/engine/render.hpp>
#include <systask/engine/run.hpp>
#include <systask/engine/run_executor.hpp>
#include <systask/engine/run_ref.hpp>
#include <systask/engine/schedule.hpp>
#include <systask/engine/store.hpp>
#include <systask/engine/version.hpp>
