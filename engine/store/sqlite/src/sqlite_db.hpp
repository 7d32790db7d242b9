// SPDX-License-Identifier: BSL-1.0
#pragma once

// Thin RAII over SQLite's C API for the store: a connection, prepared statements, and one
// exception type carrying SQLite's result code. Private to the library.

#include <sqlite3.h>

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace systask::sqlite_detail {

/// A failed SQLite call: its primary result code and SQLite's message.
class failure : public std::runtime_error {
 public:
  failure(int code, const std::string& what) : std::runtime_error(what), code_(code) {}
  int code() const noexcept { return code_ & 0xff; }
  int extended_code() const noexcept { return code_; }

 private:
  int code_;
};

[[noreturn]] inline void fail(sqlite3* db, int rc, std::string_view doing) {
  std::string what(doing);
  what += ": ";
  what += db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  throw failure(rc, what);
}

/// A prepared statement, reset after each use.
class statement {
 public:
  statement() = default;
  statement(sqlite3* db, std::string_view sql) : db_(db) {
    const int rc = sqlite3_prepare_v3(db, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT, &stmt_,
                                      nullptr);
    if (rc != SQLITE_OK) fail(db, rc, "preparing a statement");
  }
  statement(statement&& o) noexcept : db_(o.db_), stmt_(o.stmt_) { o.stmt_ = nullptr; }
  statement& operator=(statement&& o) noexcept {
    if (this != &o) {
      sqlite3_finalize(stmt_);
      db_ = o.db_;
      stmt_ = o.stmt_;
      o.stmt_ = nullptr;
    }
    return *this;
  }
  ~statement() { sqlite3_finalize(stmt_); }
  statement(const statement&) = delete;
  statement& operator=(const statement&) = delete;

  statement& bind(int i, std::int64_t v) {
    check(sqlite3_bind_int64(stmt_, i, v));
    return *this;
  }
  statement& bind(int i, double v) {
    check(sqlite3_bind_double(stmt_, i, v));
    return *this;
  }
  statement& bind(int i, std::string_view v) {
    check(sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC));
    return *this;
  }
  statement& bind_blob(int i, std::string_view v) {
    check(sqlite3_bind_blob(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC));
    return *this;
  }
  statement& bind_null(int i) {
    check(sqlite3_bind_null(stmt_, i));
    return *this;
  }
  statement& bind(int i, const std::optional<std::int64_t>& v) { return v ? bind(i, *v) : bind_null(i); }

  /// Steps once: true when a row is ready, false when done (then the statement is reset).
  bool step() {
    const int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    sqlite3_reset(stmt_);
    if (rc == SQLITE_DONE) {
      sqlite3_clear_bindings(stmt_);
      return false;
    }
    sqlite3_clear_bindings(stmt_);
    fail(db_, rc, "executing a statement");
  }
  /// Steps to the end (for statements without rows to read).
  void run() {
    while (step()) {
    }
  }
  void reset() noexcept {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }

  std::int64_t integer(int col) const noexcept { return sqlite3_column_int64(stmt_, col); }
  double real(int col) const noexcept { return sqlite3_column_double(stmt_, col); }
  bool is_null(int col) const noexcept { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }
  std::string_view text(int col) const noexcept {
    const auto* p = sqlite3_column_text(stmt_, col);
    const int n = sqlite3_column_bytes(stmt_, col);
    return p ? std::string_view(reinterpret_cast<const char*>(p), static_cast<std::size_t>(n)) : std::string_view();
  }
  std::string_view blob(int col) const noexcept {
    const void* p = sqlite3_column_blob(stmt_, col);
    const int n = sqlite3_column_bytes(stmt_, col);
    return p ? std::string_view(static_cast<const char*>(p), static_cast<std::size_t>(n)) : std::string_view();
  }
  std::optional<std::int64_t> optional_integer(int col) const noexcept {
    if (is_null(col)) return std::nullopt;
    return integer(col);
  }

 private:
  void check(int rc) const {
    if (rc != SQLITE_OK) fail(db_, rc, "binding a value");
  }
  sqlite3* db_ = nullptr;
  sqlite3_stmt* stmt_ = nullptr;
};

/// Runs SQL without results (several statements allowed).
inline void exec(sqlite3* db, const char* sql) {
  char* message = nullptr;
  const int rc = sqlite3_exec(db, sql, nullptr, nullptr, &message);
  if (rc != SQLITE_OK) {
    std::string what = std::string("executing '") + std::string(std::string_view(sql).substr(0, 60)) + "': " +
                       (message ? message : sqlite3_errstr(rc));
    sqlite3_free(message);
    throw failure(rc, what);
  }
}

/// The single integer a query returns.
inline std::int64_t query_integer(sqlite3* db, std::string_view sql) {
  statement s(db, sql);
  if (!s.step()) throw failure(SQLITE_ERROR, std::string(sql) + ": no row");
  const std::int64_t v = s.integer(0);
  s.reset();
  return v;
}

/// The single text a query returns.
inline std::string query_text(sqlite3* db, std::string_view sql) {
  statement s(db, sql);
  if (!s.step()) throw failure(SQLITE_ERROR, std::string(sql) + ": no row");
  std::string v(s.text(0));
  s.reset();
  return v;
}

}  // namespace systask::sqlite_detail
