// SPDX-License-Identifier: BSL-1.0
// A host that logs with spdlog into a systask run, through systask::spdlog.
#include <systask/engine.hpp>
#include <systask/spdlog/sink.hpp>

#include <boost/asio/io_context.hpp>

#include <spdlog/logger.h>

#include <cstdio>
#include <memory>
#include <string>

int main() {
  boost::asio::io_context io;
  systask::registry reg(io);
  auto sink = std::make_shared<systask::spdlog_sink>();
  spdlog::logger log("consumer", sink);
  systask::run r = reg.start({.name = "consumer_task"});
  {
    systask::run_scope scope(r);
    log.warn("routed through spdlog {}", 1);
  }
  r.finish(systask::task_status::successful);
  std::string json;
  reg.tasks("consumer_task", "").at(0).write_messages_json(json);
  std::printf("%s\n", json.c_str());
  return sink->routed() == 1 && json.find(R"("logger":"consumer","event":"routed through spdlog 1")") != std::string::npos
             ? 0
             : 1;
}
