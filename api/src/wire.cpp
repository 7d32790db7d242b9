// SPDX-License-Identifier: BSL-1.0
#include "wire.hpp"

namespace systask::api {

void validation_error::add(std::string field, std::string message) {
  for (auto& [name, messages] : fields) {
    if (name == field) {
      messages.push_back(std::move(message));
      return;
    }
  }
  fields.push_back({std::move(field), {std::move(message)}});
}

system_task to_wire(const task_record& r) {
  system_task t;
  t.uuid = r.uuid();
  t.name = r.name();
  t.full_name = {r.name(), r.uid()};
  if (!r.uid().empty()) t.uid.value = r.uid();
  t.description = r.description();
  t.start_timestamp = {r.start_time()};
  t.finish_timestamp = {r.finish_time()};
  t.duration = r.duration();
  t.status = r.status();
  t.messages = {&r};
  if (r.expires()) t.expires = timestamp{*r.expires()};
  t.expiring = r.expiring();
  return t;
}

}  // namespace systask::api
