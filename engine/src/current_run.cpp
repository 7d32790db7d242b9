// SPDX-License-Identifier: BSL-1.0
// The current run: one thread-local per process, defined here and nowhere else. A header-defined
// (inline) thread_local would be duplicated by every shared library that includes it.
#include <systask/engine/current_run.hpp>

#include <cassert>

namespace systask {

namespace {

// The innermost live scope on this thread; scopes link to the one they hide.
thread_local const run_scope* innermost = nullptr;

}  // namespace

run_scope::run_scope(run_ref r) noexcept : ref_(std::move(r)), previous_(innermost) { innermost = this; }

run_scope::run_scope(const detail::run_slot& slot) noexcept : slot_(&slot), previous_(innermost) {
  innermost = this;
}

run_scope::~run_scope() {
  // Scopes end in reverse order on their own thread (see the header); a scope kept across a
  // co_await breaks that, and would leave another scope's run current here.
  assert(innermost == this && "run_scope ended out of order or on another thread");
  innermost = previous_;
}

run_ref current_run() noexcept {
  const run_scope* s = innermost;
  if (!s) return {};
  return s->slot_ ? s->slot_->get() : s->ref_;
}

}  // namespace systask
