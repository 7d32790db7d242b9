// SPDX-License-Identifier: BSL-1.0
#pragma once

// The one generic serializer of the wire structs: Boost.Describe walks the members in order,
// RapidJSON writes them, and the engine's pre-rendered message fragments are spliced in raw.
// Private to the api library: RapidJSON never appears in a public header.

#include "wire.hpp"

#include <systask/engine/render.hpp>

#include <boost/describe/class.hpp>
#include <boost/describe/enum.hpp>
#include <boost/describe/members.hpp>
#include <boost/mp11/algorithm.hpp>

#include <rapidjson/writer.h>

#include <array>
#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>

namespace systask::api::detail {

/// RapidJSON output stream appending to a std::string.
struct string_sink {
  using Ch = char;
  std::string* out;
  void Put(char c) { out->push_back(c); }
  void Flush() {}
};

/// RapidJSON's writer plus raw splicing and a sticky failure flag: every call's result is
/// checked, and a body with any failed call is never sent. One per thread, reused for every
/// body (see to_json): RapidJSON allocates its nesting stack, and an allocator object for it, on
/// a writer's first value; a reused writer pays that once per thread, not per request.
class json_writer : public rapidjson::Writer<string_sink> {
 public:
  json_writer() { Reset(sink_); }
  json_writer(const json_writer&) = delete;
  json_writer& operator=(const json_writer&) = delete;

  /// Starts a new body appended to `out`, forgetting any previous one (finished or not).
  void reset(std::string& out) noexcept {
    sink_.out = &out;
    Reset(sink_);
    ok_ = true;
  }

  bool ok() const noexcept { return ok_; }

  /// An object member's name that is a C++ identifier, given with its quotes: RapidJSON's Key()
  /// escapes byte by byte (15% of a small status body). Any other name is written with
  /// write(w, std::string_view), like every string.
  void quoted_identifier_key(std::string_view quoted) {
    raw(rapidjson::kStringType, [&](std::string& out) { out.append(quoted); });
  }
  void check(bool result) noexcept { ok_ = ok_ && result; }

  /// Writes one value whose text `fill(std::string&)` appends directly to the output.
  template <class Fill>
  void raw(rapidjson::Type type, Fill&& fill) {
    Prefix(type);
    fill(*sink_.out);
    check(EndValue(true));
  }

 private:
  string_sink sink_{nullptr};
  bool ok_ = true;
};

/// The calling thread's writer (see json_writer).
inline json_writer& thread_json_writer() {
  thread_local json_writer w;
  return w;
}

/// The name of the Boost.Describe member `D` in quotes, built at compile time.
template <class D>
inline constexpr auto quoted_member_name = [] {
  constexpr std::string_view name = D::name;
  std::array<char, name.size() + 2> quoted{};
  quoted.front() = '"';
  for (std::size_t i = 0; i < name.size(); ++i) quoted[i + 1] = name[i];
  quoted.back() = '"';
  return quoted;
}();

template <class T>
struct is_omittable : std::false_type {};
template <class T>
struct is_omittable<omittable<T>> : std::true_type {};

inline void write(json_writer& w, bool v) { w.check(w.Bool(v)); }
inline void write(json_writer& w, double v) {
  // RapidJSON refuses NaN and infinities; the contract wants null there.
  w.check(std::isfinite(v) ? w.Double(v) : w.Null());
}
template <class T>
  requires(std::is_integral_v<T> && !std::is_same_v<T, bool>)
void write(json_writer& w, T v) {
  if constexpr (std::is_signed_v<T>) {
    w.check(w.Int64(static_cast<std::int64_t>(v)));
  } else {
    w.check(w.Uint64(static_cast<std::uint64_t>(v)));
  }
}
inline void write(json_writer& w, std::string_view v) {
  // The engine's escaper (16 bytes per step) instead of RapidJSON's byte-at-a-time WriteString,
  // which was a quarter of a small status body's time. It also repairs invalid UTF-8 (an echoed
  // method or query value), so every body is valid UTF-8 whatever its caller passed.
  w.raw(rapidjson::kStringType, [&](std::string& out) { append_json_string(out, v); });
}
inline void write(json_writer& w, const std::string& v) { write(w, std::string_view(v)); }
inline void write(json_writer& w, const timestamp& t) {
  w.raw(rapidjson::kStringType, [&](std::string& out) {
    const std::size_t at = out.size();
    out.resize(at + timestamp_length + 2);
    out[at] = '"';
    format_timestamp(t.value, out.data() + at + 1);
    out[at + timestamp_length + 1] = '"';
  });
}
inline void write(json_writer& w, const full_name& n) {
  // One JSON string `name:uid` from two appends, whatever their lengths: the name's closing quote
  // becomes the ':', and the uid's opening quote is taken out again.
  w.raw(rapidjson::kStringType, [&](std::string& out) {
    append_json_string(out, n.name);
    if (n.uid.empty()) return;
    out.back() = ':';
    const std::size_t at = out.size();
    append_json_string(out, n.uid);
    out.erase(at, 1);
  });
}
inline void write(json_writer& w, const message_list& m) {
  w.raw(rapidjson::kArrayType, [&](std::string& out) { m.record->write_messages_json(out); });
}
inline void write(json_writer& w, const raw_log_events& m) {
  w.raw(rapidjson::kArrayType, [&](std::string& out) {
    out.push_back('[');
    for (std::size_t i = 0; i < m.events->size(); ++i) {
      if (i) out.push_back(',');
      out += (*m.events)[i];
    }
    out.push_back(']');
  });
}
inline void write(json_writer& w, const validation_error& e) {
  w.check(w.StartObject());
  for (const auto& [field, messages] : e.fields) {
    write(w, std::string_view(field));  // the member name: a string in key position
    w.check(w.StartArray());
    for (const auto& m : messages) write(w, m);
    w.check(w.EndArray());
  }
  w.check(w.EndObject());
}

template <class E>
  requires boost::describe::has_describe_enumerators<E>::value
void write(json_writer& w, E e) {
  write(w, to_string(e));
}

template <class T>
void write(json_writer& w, const std::optional<T>& v);
template <class T>
void write(json_writer& w, const std::vector<T>& v);
template <class T, class D = boost::describe::describe_members<T, boost::describe::mod_public>>
  requires(!std::is_enum_v<T>)
void write(json_writer& w, const T& v);

template <class T>
void write(json_writer& w, const std::optional<T>& v) {
  if (v) {
    write(w, *v);
  } else {
    w.check(w.Null());
  }
}

template <class T>
void write(json_writer& w, const std::vector<T>& v) {
  w.check(w.StartArray());
  for (const auto& item : v) write(w, item);
  w.check(w.EndArray());
}

template <class D, class T>
void write_member(json_writer& w, const T& value) {
  constexpr std::string_view key{quoted_member_name<D>.data(), quoted_member_name<D>.size()};
  if constexpr (is_omittable<T>::value) {
    if (!value.value) return;
    w.quoted_identifier_key(key);
    write(w, *value.value);
  } else {
    w.quoted_identifier_key(key);
    write(w, value);
  }
}

template <class T, class D>
  requires(!std::is_enum_v<T>)
void write(json_writer& w, const T& v) {
  w.check(w.StartObject());
  boost::mp11::mp_for_each<D>([&](auto member) { write_member<decltype(member)>(w, v.*member.pointer); });
  w.check(w.EndObject());
}

/// Serializes a wire value into `out` (appending). Returns false if any writer call failed;
/// `out` then holds a partial body that must not be sent. Uses the calling thread's writer, so
/// it must not be called from inside a write() (no write does).
template <class T>
bool to_json(const T& value, std::string& out) {
  json_writer& w = thread_json_writer();
  w.reset(out);
  write(w, value);
  return w.ok() && w.IsComplete();
}

}  // namespace systask::api::detail
