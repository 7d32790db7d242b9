// SPDX-License-Identifier: BSL-1.0
// libFuzzer: text and an attribute tree built from the input -> rendered LogEvent. The result
// must always be valid JSON no longer than limits::message_bytes, and the event must equal the
// input exactly whenever the input was valid UTF-8 short enough not to be cut.

#include <systask/engine/limits.hpp>
#include <systask/engine/render.hpp>

#include <rapidjson/document.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

struct reader {
  const std::uint8_t* p;
  std::size_t n;
  std::uint8_t byte() { return n ? (--n, *p++) : 0; }
  std::string_view text() {
    const std::size_t len = std::min<std::size_t>(byte() * 4 + byte() % 4, n);
    std::string_view s(reinterpret_cast<const char*>(p), len);
    p += len;
    n -= len;
    return s;
  }
};

bool valid_utf8(std::string_view s) {
  rapidjson::Document d;
  std::string quoted = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\' || static_cast<unsigned char>(c) < 0x20) return false;  // keep the check simple
    quoted.push_back(c);
  }
  quoted.push_back('"');
  d.Parse<rapidjson::kParseValidateEncodingFlag>(quoted.c_str(), quoted.size());
  return !d.HasParseError();
}

// Builds a tree of attribute values from the input; storage keeps every view alive.
struct tree {
  std::vector<std::vector<systask::attribute>> objects;
  std::vector<std::vector<systask::attribute_value>> arrays;

  systask::attribute_value value(reader& r, int depth) {
    switch (r.byte() % 9) {
      case 0: return nullptr;
      case 1: return r.byte() % 2 == 0;
      case 2: {
        std::int64_t v = 0;
        for (int i = 0; i < 8; ++i) v = (v << 8) | r.byte();
        return v;
      }
      case 3: {
        std::uint64_t v = 0;
        for (int i = 0; i < 8; ++i) v = (v << 8) | r.byte();
        double d;
        std::memcpy(&d, &v, 8);  // every bit pattern: NaN, infinities, denormals
        return d;
      }
      case 4: return static_cast<std::uint64_t>(r.byte()) << 56;
      case 5:
      case 6: return r.text();
      case 7: {
        if (depth > 12) return nullptr;
        arrays.emplace_back();
        const std::size_t idx = arrays.size() - 1;
        for (int i = r.byte() % 6; i > 0; --i) {
          auto v = value(r, depth + 1);
          arrays[idx].push_back(v);
        }
        return systask::attribute_value::make_array(arrays[idx]);
      }
      default: {
        if (depth > 12) return nullptr;
        return systask::attribute_value::make_object(object(r, depth + 1));
      }
    }
  }
  std::span<const systask::attribute> object(reader& r, int depth) {
    objects.emplace_back();
    const std::size_t idx = objects.size() - 1;
    for (int i = r.byte() % 6; i > 0; --i) {
      const auto key = r.text();
      auto v = value(r, depth);
      objects[idx].push_back({key, v});
    }
    return objects[idx];
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  reader r{data, size};
  const auto level = static_cast<systask::log_level>(r.byte() % 8);
  const std::string_view logger = r.text();
  const std::string_view event = r.text();
  tree t;
  t.objects.reserve(64);
  t.arrays.reserve(64);
  const auto attrs = t.object(r, 1);
  const std::string out = systask::render_log_event(systask::wall_time{std::chrono::microseconds{
                                                        static_cast<std::int64_t>(size) * 1'000'003}},
                                                    level, logger, event, attrs);
  if (out.size() > systask::limits::message_bytes) std::abort();
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseValidateEncodingFlag>(out.c_str(), out.size());
  if (doc.HasParseError() || !doc.IsObject() || doc.MemberCount() != 5) std::abort();
  if (!doc["attributes"].IsObject() || !doc["event"].IsString()) std::abort();
  if (event.size() <= 1000 && valid_utf8(event)) {
    if (std::string_view(doc["event"].GetString(), doc["event"].GetStringLength()) != event) std::abort();
  }
  return 0;
}
