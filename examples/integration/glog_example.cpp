// SPDX-License-Identifier: BSL-1.0
// systask::glog: LOG(...) calls made while a run is current land in that run.
#include <systask/engine.hpp>
#include <systask/glog/sink.hpp>

#include <boost/asio/io_context.hpp>

#include <glog/logging.h>

#include <cstdio>
#include <string>

int main(int, char** argv) {
  google::InitGoogleLogging(argv[0]);
  FLAGS_logtostderr = true;  // this example writes no log files

  boost::asio::io_context io;
  systask::registry reg(io);
  systask::glog_sink sink("ldap");  // glog has no logger names: the sink gives one
  google::AddLogSink(&sink);

  systask::run r = reg.start({.name = "ldap_sync", .uid = "corp"});
  {
    systask::run_scope scope(r);  // or async_run, which does this at every resumption
    LOG(INFO) << "bound to ldap://ldap.corp.example";
    LOG(WARNING) << "entry uid=bob has no mail attribute";
  }
  r.finish(systask::task_status::warning);
  google::RemoveLogSink(&sink);  // before the sink is destroyed

  std::string json;
  reg.tasks("ldap_sync", "corp").at(0).write_messages_json(json);
  std::printf("%s\n", json.c_str());
  google::ShutdownGoogleLogging();
  return sink.routed() == 2 ? 0 : 1;
}
