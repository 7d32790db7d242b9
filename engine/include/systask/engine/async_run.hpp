// SPDX-License-Identifier: BSL-1.0
#pragma once

#include <systask/engine/errc.hpp>
#include <systask/engine/registry.hpp>
#include <systask/engine/run_executor.hpp>

#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>

namespace systask {

namespace detail {

template <class T>
struct is_awaitable : std::false_type {};
template <class T, class Executor>
struct is_awaitable<boost::asio::awaitable<T, Executor>> : std::true_type {};

struct run_outcome {
  boost::system::error_code ec;
  task_status status = task_status::unknown;
};

// Awaits a cluster lock service's answer; the handler runs on its associated executor (the
// awaiting coroutine's), whatever thread the service answers on.
template <class CompletionToken>
auto async_cluster_acquire(cluster_sync_lock& lock, const provider_ref& provider, CompletionToken&& token) {
  return boost::asio::async_initiate<CompletionToken, void(cluster_lock_answer)>(
      [](auto handler, cluster_sync_lock* service, const provider_ref* p) {
        auto ex = boost::asio::get_associated_executor(handler);
        // The service takes a copyable std::function; the handler is move-only.
        auto held = std::make_shared<decltype(handler)>(std::move(handler));
        service->async_acquire(*p, [held, ex](cluster_lock_answer answer) {
          boost::asio::post(ex, [held, answer = std::move(answer)]() mutable { std::move(*held)(std::move(answer)); });
        });
      },
      token, &lock, &provider);
}

// Why a provider sync did not start, as the message its refused run records.
inline std::string cluster_refusal_text(const cluster_lock_answer& answer) {
  std::string text = answer.status == cluster_lock_status::unavailable
                         ? "Synchronization not started: the cluster sync lock is unavailable"
                         : "Synchronization not started: it is already running on another replica";
  if (!answer.reason.empty()) text += " (" + answer.reason + ")";
  return text;
}

inline boost::system::error_code cluster_refusal_code(const cluster_lock_answer& answer) noexcept {
  return make_error_code(answer.status == cluster_lock_status::unavailable ? errc::cluster_lock_unavailable
                                                                            : errc::sync_running_elsewhere);
}

// The coroutine every async_run executes: start, body, finish, and the translation of
// exceptions and cancellation into the run's record.
template <class Body>
boost::asio::awaitable<run_outcome> tracked_run(registry& reg, run_spec spec, Body body,
                                               std::shared_ptr<run_slot> current) {
  using result = std::invoke_result_t<Body&, run&>;
  namespace this_coro = boost::asio::this_coro;
  // Our own awaits never throw on cancellation (we check it where it matters). This also keeps
  // co_spawn's final hop from throwing operation_aborted into the host's io_context::run() when
  // a body that never switched context (a plain callable) was cancelled meanwhile.
  co_await this_coro::throw_if_cancelled(false);
  // One turn through the executor before starting: a cancellation emitted after async_run
  // returned but before the operation ran is delivered through the executor too, so it reaches
  // the cancellation state first, and the body is not started at all.
  co_await boost::asio::post(co_await this_coro::executor, boost::asio::use_awaitable);
  {
    const auto state = co_await this_coro::cancellation_state;
    if (state.cancelled() != boost::asio::cancellation_type::none) {
      co_return run_outcome{boost::asio::error::operation_aborted, task_status::unknown};
    }
  }
  // With a cluster lock (registry::set_cluster_lock), a provider sync takes it before the local
  // one (docs/store.md, "Replicas"), unless a sync runs here already: then the local start
  // records the skip on the holder, as without a cluster lock.
  std::shared_ptr<cluster_lock_lease> lease;
  std::optional<cluster_lock_answer> late_answer;  // the rare case: the local holder ended meanwhile
  run r;
  try {
    std::shared_ptr<cluster_sync_lock> lock = reg.cluster_lock();
    std::optional<provider_ref> provider;
    if (lock) provider = reg.sync_provider(spec);
    if (provider && !cluster_start::running_here(reg, *provider)) {
      cluster_lock_answer answer = co_await async_cluster_acquire(*lock, *provider, boost::asio::use_awaitable);
      const auto after_wait = co_await this_coro::cancellation_state;
      if (after_wait.cancelled() != boost::asio::cancellation_type::none) {
        // Cancelled while waiting for the cluster lock: as before the start, nothing is recorded
        // and the body does not run (a lease, if any, is released with `answer`).
        co_return run_outcome{boost::asio::error::operation_aborted, task_status::unknown};
      }
      if (answer.status == cluster_lock_status::held_elsewhere) {
        // Nothing is recorded here: the holder's replica records the skipped request.
        co_return run_outcome{cluster_refusal_code(answer), task_status::unknown};
      }
      if (answer.status == cluster_lock_status::unavailable) {
        r = cluster_start::start(reg, spec);
        if (!r) co_return run_outcome{make_error_code(errc::sync_already_running), task_status::unknown};
        r.error(cluster_refusal_text(answer));
        co_return run_outcome{cluster_refusal_code(answer), r.finish(task_status::error)};
      }
      lease = std::move(answer.lease);
      r = cluster_start::start(reg, spec);
      if (r && !answer.reason.empty()) r.warning(answer.reason);
    } else {
      r = cluster_start::start(reg, spec);
      if (r && provider) {
        // The local holder finished between the check and the start: this run holds the local
        // lock only, so it takes the cluster lock now, and ends at once if it cannot.
        cluster_lock_answer answer = co_await async_cluster_acquire(*lock, *provider, boost::asio::use_awaitable);
        const auto after_late_wait = co_await this_coro::cancellation_state;
        if (after_late_wait.cancelled() != boost::asio::cancellation_type::none) {
          co_return run_outcome{boost::asio::error::operation_aborted, r.fail("cancelled")};
        }
        if (answer.status == cluster_lock_status::acquired) {
          lease = std::move(answer.lease);
          if (!answer.reason.empty()) r.warning(answer.reason);
        } else {
          late_answer = std::move(answer);
        }
      }
    }
  } catch (...) {
    if (r) r.fail(std::current_exception());
    co_return run_outcome{start_error(std::current_exception()), task_status::unknown};
  }
  if (!r) co_return run_outcome{make_error_code(errc::sync_already_running), task_status::unknown};
  if (late_answer) {
    r.error(cluster_refusal_text(*late_answer));
    co_return run_outcome{cluster_refusal_code(*late_answer), r.finish(task_status::error)};
  }
  if (lease) lease->attach(r.ref());
  // The cluster lock is released right after the run finishes (the local one at its finish).
  struct release_after_finish {
    std::shared_ptr<cluster_lock_lease>& lease;
    ~release_after_finish() { lease.reset(); }
  } releaser{lease};
  // From here on the run is current: for the rest of this resumption (the scope that our
  // run_executor opened reads the slot at each current_run() call), and at every later one.
  current->set(r.ref());
  // ... until the coroutine returns: the completion handler may run inline after that, and it is
  // not part of the run (a handler on another run's executor sees that run).
  struct close_on_return {
    run_slot& slot;
    ~close_on_return() { slot.close(); }
  } closer{*current};
  task_status requested = task_status::successful;
  std::exception_ptr failure;
  co_await this_coro::throw_if_cancelled(true);  // the body sees Asio's default
  try {
    if constexpr (is_awaitable<result>::value) {
      if constexpr (std::is_void_v<typename result::value_type>) {
        co_await body(r);
      } else {
        requested = co_await body(r);
      }
    } else if constexpr (std::is_void_v<result>) {
      body(r);
    } else {
      requested = body(r);
    }
  } catch (...) {
    failure = std::current_exception();
  }
  co_await this_coro::throw_if_cancelled(false);
  if (failure) {
    const auto state = co_await this_coro::cancellation_state;
    if (state.cancelled() != boost::asio::cancellation_type::none) {
      co_return run_outcome{boost::asio::error::operation_aborted, r.fail("cancelled")};
    }
    co_return run_outcome{{}, r.fail(failure)};
  }
  co_return run_outcome{{}, r.finish(requested)};
}

}  // namespace detail

/// Runs `body` as a tracked run on the registry's executor and completes with
/// `void(boost::system::error_code, task_status)`.
///
/// `body` is called with a `run&` and is one of: a coroutine returning
/// `boost::asio::awaitable<task_status>` or `awaitable<void>`, or a plain callable returning
/// `task_status` or `void` (void means `successful`). The run starts when the body is about to
/// execute (so queueing time is not counted), and is finished for it: with the returned status,
/// as `error` with the exception's text when it throws, as `error` with the message "cancelled"
/// when it is cancelled. The error_code is empty when the body ran (whatever its status),
/// `boost::asio::error::operation_aborted` when it was cancelled, and
/// `systask::errc::sync_already_running` when `spec` is a provider sync whose lock another run
/// holds (the body does not run; status `unknown`).
///
/// A spec that `registry::check_spec` refuses completes at once, through the handler (never
/// inline), with `errc::invalid_spec` or `errc::unknown_provider` and status `unknown`; the body
/// does not run. Should starting the run fail otherwise, the operation completes with the
/// error `detail::start_error` maps the exception to (`no_memory`, a system_error's code, or
/// `errc::start_failed`), status `unknown`.
///
/// Cancellation: supports `terminal` cancellation through the completion handler's associated
/// cancellation slot. Emit it on the registry's executor (Asio's rule: a cancellation signal is
/// emitted where the cancelled operation's handlers run; with a multi-threaded pool, make the
/// registry's executor a strand and emit on it), or from any thread before the executor runs
/// the operation. Asio's co_spawn forwards the emission through the coroutine's executor, the
/// run_executor, which runs it on the inner (registry's) executor like every resumption.
/// - Emitted before the body starts: the body does not run, nothing is recorded, and the
///   operation completes with `operation_aborted` and status `unknown`.
/// - Emitted while the body runs: it reaches the asynchronous operations a coroutine body
///   awaits. If the body lets the resulting exception escape, the run ends as `error` with the
///   message "cancelled" and the operation completes with `operation_aborted`.
/// - A body that returns normally decides its own outcome even though cancellation was
///   requested: a plain callable (which cannot be interrupted once it has begun), or a
///   coroutine that catches `operation_aborted`, finishes the run with the status it returns,
///   and the error_code is empty.
///
/// The current run: the body's run is `current_run()` at every resumption of the body, on
/// whatever thread of the registry's executor resumes it (the coroutine is spawned on a
/// `run_executor` over that executor), so log calls that go through `current_run()` (the
/// spdlog, glog and Boost.Log bridges) land in this run. Work the body hands to another
/// executor or thread is not covered; wrap that executor in a `run_executor` to carry the run.
///
/// The registry must outlive the operation. Works with callbacks, `use_awaitable`,
/// `use_future` and `detached`.
///
/// With g++ 12, build the spec in a named variable before `co_await async_run(...)`: see
/// docs/engine.md.
template <class Body, class CompletionToken = boost::asio::default_completion_token_t<registry::executor_type>>
auto async_run(registry& reg, run_spec spec, Body body,
               CompletionToken&& token = boost::asio::default_completion_token_t<registry::executor_type>()) {
  return boost::asio::async_initiate<CompletionToken, void(boost::system::error_code, task_status)>(
      [](auto handler, registry* r, run_spec s, Body b) {
        auto handler_ex = boost::asio::get_associated_executor(handler, r->get_executor());
        if (const boost::system::error_code ec = r->check_spec(s)) {
          boost::asio::post(boost::asio::bind_executor(
              handler_ex, [h = std::move(handler), ec]() mutable { std::move(h)(ec, task_status::unknown); }));
          return;
        }
        auto slot = boost::asio::get_associated_cancellation_slot(handler);
        // The coroutine runs on the registry's executor wrapped in a run_executor, which makes
        // the run current at every resumption (the run is filled in when it starts).
        auto current = std::make_shared<detail::run_slot>();
        run_executor<registry::executor_type> ex(r->get_executor(), current);
        boost::asio::co_spawn(
            ex, detail::tracked_run(*r, std::move(s), std::move(b), std::move(current)),
            boost::asio::bind_cancellation_slot(
                slot, boost::asio::bind_executor(handler_ex, [h = std::move(handler)](
                                                                 std::exception_ptr e,
                                                                 detail::run_outcome outcome) mutable {
                  // tracked_run catches what start and the body throw, so `e` is set only if
                  // the coroutine machinery itself failed; map it like a failed start.
                  if (e) outcome = {detail::start_error(e), task_status::unknown};
                  std::move(h)(outcome.ec, outcome.status);
                })));
      },
      token, &reg, std::move(spec), std::move(body));
}

}  // namespace systask
