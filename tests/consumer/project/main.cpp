// A tiny host: starts a run, logs, finishes, and checks what the registry shows.
#include <systask/engine.hpp>

#include <boost/asio/io_context.hpp>

#include <cstdio>

int main() {
  boost::asio::io_context io;
  systask::registry reg(io);
  systask::run r = reg.start({.name = "consumer_check", .uid = "", .description = "find_package works"});
  r.info("hello from a consumer", {{"ok", true}});
  r.finish(systask::task_status::successful);
  const auto records = reg.tasks("consumer_check", "");
  std::string messages;
  records.at(0).write_messages_json(messages);
  std::printf("%s\n", messages.c_str());
  return records.size() == 1 && records[0].status() == systask::task_status::successful ? 0 : 1;
}
