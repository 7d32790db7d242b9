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

#include <cmath>
#include <cstdint>
#include <string>
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
/// checked, and a body with any failed call is never sent.
class json_writer : public rapidjson::Writer<string_sink> {
 public:
  explicit json_writer(string_sink& sink) : Writer(sink), out_(sink.out) {}

  bool ok() const noexcept { return ok_; }

  /// An object member's name that is a C++ identifier (from Describe), written as it is:
  /// RapidJSON's Key() escapes byte by byte (15% of a small status body). Any other name is
  /// written with write(w, std::string_view), like every string.
  void identifier_key(std::string_view name) {
    raw(rapidjson::kStringType, [&](std::string& out) {
      out.push_back('"');
      out.append(name);
      out.push_back('"');
    });
  }
  void check(bool result) noexcept { ok_ = ok_ && result; }

  /// Writes one value whose text `fill(std::string&)` appends directly to the output.
  template <class Fill>
  void raw(rapidjson::Type type, Fill&& fill) {
    Prefix(type);
    fill(*out_);
    check(EndValue(true));
  }

 private:
  std::string* out_;
  bool ok_ = true;
};

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

template <class T>
void write_member(json_writer& w, const char* key, const T& value) {
  if constexpr (is_omittable<T>::value) {
    if (!value.value) return;
    w.identifier_key(key);
    write(w, *value.value);
  } else {
    w.identifier_key(key);
    write(w, value);
  }
}

template <class T, class D>
  requires(!std::is_enum_v<T>)
void write(json_writer& w, const T& v) {
  w.check(w.StartObject());
  boost::mp11::mp_for_each<D>([&](auto member) { write_member(w, member.name, v.*member.pointer); });
  w.check(w.EndObject());
}

/// Serializes a wire value into `out` (appending). Returns false if any writer call failed;
/// `out` then holds a partial body that must not be sent.
template <class T>
bool to_json(const T& value, std::string& out) {
  string_sink sink{&out};
  json_writer w(sink);
  write(w, value);
  return w.ok() && w.IsComplete();
}

}  // namespace systask::api::detail
