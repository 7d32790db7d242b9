// SPDX-License-Identifier: BSL-1.0
// systask::boost_log: Boost.Log records carry the current run in an attribute, so even an
// asynchronous sink, whose thread consumes them later, puts each one into its run.
#include <systask/boost_log/backend.hpp>
#include <systask/engine.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/log/core.hpp>
#include <boost/log/sinks/async_frontend.hpp>
#include <boost/log/sources/record_ostream.hpp>
#include <boost/log/sources/severity_channel_logger.hpp>
#include <boost/log/trivial.hpp>
#include <boost/make_shared.hpp>

#include <cstdio>
#include <string>

namespace logging = boost::log;

int main() {
  // Once, at start-up: the attribute that copies the current run into each record, and the
  // sink that appends each record to its run.
  logging::core::get()->add_global_attribute(systask::boost_log_run_attribute_name, systask::current_run_attribute());
  auto backend = boost::make_shared<systask::boost_log_backend>();
  auto sink = boost::make_shared<logging::sinks::asynchronous_sink<systask::boost_log_backend>>(backend);
  logging::core::get()->add_sink(sink);

  boost::asio::io_context io;
  systask::registry reg(io);
  logging::sources::severity_channel_logger_mt<logging::trivial::severity_level, std::string> lg(
      logging::keywords::channel = "billing");

  systask::run r = reg.start({.name = "invoice_run"});
  {
    systask::run_scope scope(r);  // or async_run, which does this at every resumption
    BOOST_LOG_SEV(lg, logging::trivial::info) << "issued " << 42 << " invoices";
    BOOST_LOG_SEV(lg, logging::trivial::warning) << "customer 7 has no billing address";
  }
  sink->flush();  // the asynchronous sink delivers what is queued before the run finishes
  r.finish(systask::task_status::warning);

  logging::core::get()->remove_sink(sink);
  sink->stop();
  std::string json;
  reg.tasks("invoice_run", "").at(0).write_messages_json(json);
  std::printf("%s\n", json.c_str());
  return backend->routed() == 2 ? 0 : 1;
}
