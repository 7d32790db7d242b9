// SPDX-License-Identifier: BSL-1.0
#pragma once

// The session's HTTP request parser: Beast's parser (basic_parser) with what systask keeps of a
// request written into storage the connection reuses. Beast's request_parser builds a
// `http::request`, whose fields allocate one node each and whose body is a fresh string: about
// ten allocations per request that the facade, which reads views, never needed
// (docs/PERFORMANCE-analysis.md, target 9). Private to the adapter.

#include <boost/beast/http/basic_parser.hpp>
#include <boost/system/errc.hpp>

#include <cstdint>
#include <new>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace systask::http::detail {

/// One request's method, target, header fields and body, copied back to back into one string
/// whose capacity a connection keeps from request to request. Positions, not views, while it
/// fills (the string may move as it grows); views once the request is complete.
class request_text {
 public:
  /// Forgets the previous request; keeps the storage, unless a large request grew it (a
  /// keep-alive connection then holds the usual few hundred bytes again, not its largest body).
  void clear() noexcept {
    if (text_.capacity() > kept_bytes) std::string().swap(text_);
    if (fields_.capacity() > kept_fields) decltype(fields_)().swap(fields_);
    text_.clear();
    fields_.clear();
    method_ = target_ = body_ = {};
    has_request_line_ = false;
    verb_ = boost::beast::http::verb::unknown;
  }

  void set_request_line(boost::beast::http::verb v, std::string_view method, std::string_view target) {
    verb_ = v;
    method_ = add(method);
    target_ = add(target);
    has_request_line_ = true;
  }
  void add_field(std::string_view name, std::string_view value) { fields_.emplace_back(add(name), add(value)); }
  /// The body's bytes arrive in pieces, after every field: they stay contiguous at the end.
  void start_body() noexcept { body_ = {text_.size(), 0}; }
  void add_body(std::string_view piece) {
    text_.append(piece);
    body_.size += piece.size();
  }

  /// False until the request line has been parsed (a refused request may have none).
  bool has_request_line() const noexcept { return has_request_line_; }
  boost::beast::http::verb verb() const noexcept { return verb_; }
  std::string_view method() const noexcept { return view(method_); }
  std::string_view target() const noexcept { return view(target_); }
  std::string_view body() const noexcept { return view(body_); }
  std::size_t field_count() const noexcept { return fields_.size(); }
  std::pair<std::string_view, std::string_view> field(std::size_t i) const noexcept {
    return {view(fields_[i].first), view(fields_[i].second)};
  }

 private:
  static constexpr std::size_t kept_bytes = 16 * 1024, kept_fields = 64;
  struct span {
    std::size_t at = 0, size = 0;
  };
  span add(std::string_view s) {
    const span r{text_.size(), s.size()};
    text_.append(s);
    return r;
  }
  std::string_view view(span s) const noexcept { return {text_.data() + s.at, s.size}; }

  std::string text_;
  std::vector<std::pair<span, span>> fields_;
  span method_, target_, body_;
  boost::beast::http::verb verb_ = boost::beast::http::verb::unknown;
  bool has_request_line_ = false;
};

/// Parses one request into a `request_text` (cleared first). Beast's parser checks the syntax,
/// the header and body limits, Content-Length and chunked framing, and keep-alive; this class
/// only stores. One per request (Beast's parsers cannot be reset), cheap to make: it allocates
/// nothing.
class request_reader final : public boost::beast::http::basic_parser<true> {
 public:
  explicit request_reader(request_text& out) : out_(out) { out_.clear(); }

 private:
  using string_view = boost::beast::string_view;
  using error_code = boost::beast::error_code;
  static std::string_view std_view(string_view s) noexcept { return {s.data(), s.size()}; }

  // Out of memory while storing: the read fails with an error and the session closes this
  // connection; the server and its other connections go on.
  template <class Store>
  static void guarded(error_code& ec, Store&& store) noexcept {
    try {
      store();
    } catch (const std::bad_alloc&) {
      ec = make_error_code(boost::system::errc::not_enough_memory);
    }
  }

  void on_request_impl(boost::beast::http::verb method, string_view method_str, string_view target, int,
                       error_code& ec) override {
    guarded(ec, [&] { out_.set_request_line(method, std_view(method_str), std_view(target)); });
  }
  // A request parser: Beast never calls this.
  void on_response_impl(int, string_view, int, error_code&) override {}
  void on_field_impl(boost::beast::http::field, string_view name, string_view value, error_code& ec) override {
    guarded(ec, [&] { out_.add_field(std_view(name), std_view(value)); });
  }
  void on_header_impl(error_code&) override {}
  void on_body_init_impl(const boost::optional<std::uint64_t>&, error_code&) override { out_.start_body(); }
  std::size_t on_body_impl(string_view body, error_code& ec) override {
    guarded(ec, [&] { out_.add_body(std_view(body)); });
    return ec ? 0 : body.size();
  }
  void on_chunk_header_impl(std::uint64_t, string_view, error_code&) override {}
  std::size_t on_chunk_body_impl(std::uint64_t, string_view body, error_code& ec) override {
    guarded(ec, [&] { out_.add_body(std_view(body)); });
    return ec ? 0 : body.size();
  }
  void on_finish_impl(error_code&) override {}

  request_text& out_;
};

}  // namespace systask::http::detail
