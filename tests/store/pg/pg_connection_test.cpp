// SPDX-License-Identifier: BSL-1.0
// The libpq connection on Asio (engine/store/postgresql/src/pg_connection.*) and the lock key
// derivation, against a real PostgreSQL server (tests/store/pg/pg_cluster.*).

#include "pg_connection.hpp"
#include "pg_test_support.hpp"
#include "sha256.hpp"

#include <systask/store/postgresql.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <mutex>
#include <string>
#include <vector>

namespace {

using namespace std::chrono_literals;
using systask::detail::pg_connection;
using systask::detail::pg_notification;
using systask::detail::pg_result;
using systask::testing::io_thread;
using systask::testing::pg_cluster;
using systask::testing::shared_cluster;
using systask::testing::wait_until;

std::string hex(const systask::detail::sha256::digest& d) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (auto b : d) {
    out += digits[b >> 4];
    out += digits[b & 15];
  }
  return out;
}

TEST(Sha256, MatchesTheNistVectors) {
  using systask::detail::sha256;
  EXPECT_EQ(hex(sha256::of("")), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(hex(sha256::of("abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(hex(sha256::of("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  sha256 million;
  const std::string chunk(1000, 'a');
  for (int i = 0; i < 1000; ++i) million.update(chunk);
  EXPECT_EQ(hex(million.finish()), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  // Every length around the 56- and 64-byte padding boundaries, fed in odd pieces, equals one piece.
  for (std::size_t n = 50; n < 140; ++n) {
    const std::string text(n, 'x');
    sha256 pieces;
    for (std::size_t i = 0; i < n; i += 7) pieces.update(std::string_view(text).substr(i, 7));
    EXPECT_EQ(hex(pieces.finish()), hex(sha256::of(text))) << n;
  }
}

TEST(PgLockKey, MatchesDjangoPglockForAuthentiksLockName) {
  // persistence.md 1.3: verified with Python's django-pglock derivation and with SQL.
  EXPECT_EQ(systask::pg_lock_key("goauthentik.io/public/providers/outgoing-sync/1"), -7571249210039885935LL);
}

TEST(PgLockKey, MatchesPostgresqlsSha256) {
  auto& cluster = shared_cluster();
  const std::vector<std::string> names = {"goauthentik.io/public/providers/outgoing-sync/1",
                                          "systask/default/providers/scim/1",
                                          "systask/tenant-ü/providers/google_workspace/9223372036854775807",
                                          std::string(300, 'k'), ""};
  for (const auto& name : names) {
    const std::string sql =
        "select ('x'||string_agg(lpad(to_hex(get_byte(h,7-i)),2,'0'),'' order by i))::bit(64)::bigint "
        "from (select sha256(convert_to('" + name + "','UTF8')) h) t, generate_series(0,7) i";
    EXPECT_EQ(cluster.psql(sql), std::to_string(systask::pg_lock_key(name))) << name;
  }
  EXPECT_EQ(systask::pg_provider_lock_key("default", "scim", 1), systask::pg_lock_key("systask/default/providers/scim/1"));
  EXPECT_EQ(systask::pg_provider_lock_key("tenant-ü", "google_workspace", 9223372036854775807LL),
            systask::pg_lock_key("systask/tenant-ü/providers/google_workspace/9223372036854775807"));
}

TEST(PgConnection, PrepareAddsKeepalivesAndRefusesWhatLibpqCannotUse) {
  const auto plain = pg_connection::prepare("host=127.0.0.1 port=5 dbname=x");
  EXPECT_NE(plain.conninfo.find("keepalives_idle='10'"), std::string::npos) << plain.conninfo;
  EXPECT_NE(plain.conninfo.find("keepalives_interval='5'"), std::string::npos);
  EXPECT_NE(plain.conninfo.find("keepalives_count='3'"), std::string::npos);
  EXPECT_TRUE(plain.resolve_host.empty());
  const auto own = pg_connection::prepare("postgresql://127.0.0.1:5/x?keepalives_idle=60");
  EXPECT_NE(own.conninfo.find("keepalives_idle='60'"), std::string::npos) << own.conninfo;
  EXPECT_NE(own.conninfo.find("dbname='x'"), std::string::npos);
  const auto named = pg_connection::prepare("host=db.example port=6543");
  EXPECT_EQ(named.resolve_host, "db.example");
  EXPECT_EQ(named.resolve_port, "6543");
  EXPECT_TRUE(pg_connection::prepare("host=db.example hostaddr=10.0.0.1").resolve_host.empty());
  EXPECT_TRUE(pg_connection::prepare("host=/var/run/postgresql").resolve_host.empty());
  EXPECT_THROW(pg_connection::prepare("host=a,b"), std::invalid_argument);
  EXPECT_THROW(pg_connection::prepare("nonsense"), std::invalid_argument);
  EXPECT_THROW(pg_connection::prepare("no_such_key=1"), std::invalid_argument);
}

// A connection on a strand of its own io_context thread, with its callbacks recorded.
struct test_connection {
  io_thread io;
  pg_connection::strand_type strand{boost::asio::make_strand(io.context().get_executor())};
  std::shared_ptr<pg_connection> conn;
  std::atomic<bool> up{false};
  std::atomic<int> closed_calls{0};
  std::mutex mutex;
  std::string closed_why;
  std::vector<pg_notification> notes;

  explicit test_connection(const std::string& conninfo, std::chrono::milliseconds timeout = 5s) {
    pg_connection::callbacks cb;
    cb.on_connected = [this] { up = true; };
    cb.on_closed = [this](std::string why) {
      std::lock_guard lock(mutex);
      closed_why = std::move(why);
      up = false;
      ++closed_calls;
    };
    cb.on_notify = [this](pg_notification n) {
      std::lock_guard lock(mutex);
      notes.push_back(std::move(n));
    };
    conn = pg_connection::create(strand, pg_connection::prepare(conninfo), timeout, std::move(cb));
    boost::asio::post(strand, [c = conn] { c->start(); });
  }
  ~test_connection() {
    std::promise<void> done;
    boost::asio::post(strand, [&] {
      conn->close();
      done.set_value();
    });
    done.get_future().wait();
  }

  std::future<pg_result> query(std::string sql, std::vector<std::optional<std::string>> params = {}) {
    auto p = std::make_shared<std::promise<pg_result>>();
    auto f = p->get_future();
    boost::asio::post(strand, [c = conn, p, sql = std::move(sql), params = std::move(params)]() mutable {
      c->query(std::move(sql), std::move(params), [p](pg_result r) { p->set_value(std::move(r)); });
    });
    return f;
  }
  pg_result run(std::string sql, std::vector<std::optional<std::string>> params = {}) {
    auto f = query(std::move(sql), std::move(params));
    if (f.wait_for(10s) != std::future_status::ready) {
      pg_result r;
      r.error = "test: no answer within 10 s";
      return r;
    }
    return f.get();
  }
};

TEST(PgConnection, ConnectsAndRunsQueriesWithParameters) {
  test_connection c(shared_cluster().conninfo());
  ASSERT_TRUE(wait_until([&] { return c.up.load(); })) << c.closed_why;
  const auto r = c.run("select $1::int + 1, $2::text, $3::text is null", {"41", "it's \"quoted\"", std::nullopt});
  ASSERT_TRUE(r.ok) << r.error;
  ASSERT_EQ(r.rows.size(), 1u);
  ASSERT_EQ(r.rows[0].size(), 3u);
  EXPECT_EQ(r.rows[0][0], "42");
  EXPECT_EQ(r.rows[0][1], "it's \"quoted\"");
  EXPECT_EQ(r.rows[0][2], "t");
  const auto nulls = c.run("select null::text");
  ASSERT_TRUE(nulls.ok);
  EXPECT_FALSE(nulls.rows.at(0).at(0).has_value());
}

TEST(PgConnection, TheSessionHasServerKeepalivesAndUtf8UnlessTheHostSetsThem) {
  test_connection c(shared_cluster().conninfo());
  ASSERT_TRUE(wait_until([&] { return c.up.load(); })) << c.closed_why;
  const auto r = c.run("select current_setting('tcp_keepalives_idle'), current_setting('tcp_keepalives_interval'),"
                       " current_setting('tcp_keepalives_count'), current_setting('client_encoding')");
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.rows.at(0).at(0), "10") << "a vanished replica's session ends within ~25 s, not the OS's 2 h";
  EXPECT_EQ(r.rows.at(0).at(1), "5");
  EXPECT_EQ(r.rows.at(0).at(2), "3");
  EXPECT_EQ(r.rows.at(0).at(3), "UTF8");
  test_connection own(shared_cluster().conninfo() + " options='-c tcp_keepalives_idle=60 -c work_mem=8MB'");
  ASSERT_TRUE(wait_until([&] { return own.up.load(); })) << own.closed_why;
  const auto o = own.run("select current_setting('tcp_keepalives_idle'), current_setting('work_mem')");
  ASSERT_TRUE(o.ok) << o.error;
  EXPECT_EQ(o.rows.at(0).at(0), "60") << "the host's own setting is kept";
  EXPECT_EQ(o.rows.at(0).at(1), "8MB") << "and its other options too";
}

TEST(PgConnection, ResolvesAHostNameWithAsio) {
  // "localhost" is resolved by Asio (libpq's own resolver would block); every address is
  // tried, so a server on 127.0.0.1 only is reached even when ::1 comes first.
  test_connection c("host=localhost port=" + std::to_string(shared_cluster().port()) + " user=postgres dbname=postgres");
  ASSERT_TRUE(wait_until([&] { return c.up.load() || c.closed_calls.load() > 0; }));
  ASSERT_TRUE(c.up.load()) << c.closed_why;
  const auto r = c.run("select inet_client_addr()::text");
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.rows.at(0).at(0), "127.0.0.1/32");
  test_connection unknown("host=no-such-host.invalid port=5432 user=postgres");
  ASSERT_TRUE(wait_until([&] { return unknown.closed_calls.load() == 1; }));
  std::lock_guard lock(unknown.mutex);
  EXPECT_NE(unknown.closed_why.find("could not resolve host \"no-such-host.invalid\""), std::string::npos)
      << unknown.closed_why;
}

TEST(PgConnection, BadSqlIsAnErrorAndTheConnectionGoesOn) {
  test_connection c(shared_cluster().conninfo());
  ASSERT_TRUE(wait_until([&] { return c.up.load(); }));
  const auto bad = c.run("selec 1");
  EXPECT_FALSE(bad.ok);
  EXPECT_NE(bad.error.find("syntax error"), std::string::npos) << bad.error;
  EXPECT_EQ(bad.sqlstate, "42601") << "the server's SQLSTATE comes with its error";
  const auto missing = c.run("select * from no_such_table");
  EXPECT_FALSE(missing.ok);
  EXPECT_NE(missing.error.find("no_such_table"), std::string::npos) << missing.error;
  const auto good = c.run("select 7");
  ASSERT_TRUE(good.ok) << good.error;
  EXPECT_EQ(good.rows.at(0).at(0), "7");
  EXPECT_EQ(c.closed_calls.load(), 0);
}

TEST(PgConnection, RefusedPortFailsFastWithTheReason) {
  // A port nobody listens on: the connect fails at once (not after the timeout), with libpq's reason.
  const int port = shared_cluster().port();
  const auto start = std::chrono::steady_clock::now();
  test_connection c("host=127.0.0.1 port=" + std::to_string(port == 1 ? 2 : 1) + " user=postgres", 60s);
  ASSERT_TRUE(wait_until([&] { return c.closed_calls.load() == 1; }, 10s));
  EXPECT_LT(std::chrono::steady_clock::now() - start, 10s);
  {
    std::lock_guard lock(c.mutex);
    EXPECT_NE(c.closed_why.find("refused"), std::string::npos) << c.closed_why;
  }
  EXPECT_FALSE(c.up.load());
  const auto r = c.run("select 1");  // a query on a failed connection answers with an error
  EXPECT_FALSE(r.ok);
}

TEST(PgConnection, ConnectTimeoutEndsAnUnansweredConnect) {
  // A listening socket that never answers: the connect timeout ends the attempt.
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(fd, 4), 0);
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  {
    test_connection c("host=127.0.0.1 port=" + std::to_string(ntohs(addr.sin_port)) + " user=postgres", 200ms);
    ASSERT_TRUE(wait_until([&] { return c.closed_calls.load() == 1; }, 10s));
    std::lock_guard lock(c.mutex);
    EXPECT_NE(c.closed_why.find("timed out"), std::string::npos) << c.closed_why;
  }
  ::close(fd);
}

TEST(PgConnection, DeliversNotifications) {
  auto& cluster = shared_cluster();
  test_connection c(cluster.conninfo());
  ASSERT_TRUE(wait_until([&] { return c.up.load(); }));
  ASSERT_TRUE(c.run("LISTEN \"test channel\"").ok);
  cluster.psql("NOTIFY \"test channel\", 'one'; NOTIFY other, 'ignored'; select pg_notify('test channel', 'two')");
  ASSERT_TRUE(wait_until([&] {
    std::lock_guard lock(c.mutex);
    return c.notes.size() >= 2;
  }));
  std::lock_guard lock(c.mutex);
  ASSERT_EQ(c.notes.size(), 2u);
  EXPECT_EQ(c.notes[0].channel, "test channel");
  EXPECT_EQ(c.notes[0].payload, "one");
  EXPECT_EQ(c.notes[1].payload, "two");
  EXPECT_GT(c.notes[0].sender_pid, 0);
}

TEST(PgConnection, ServerRestartCallsClosedAndFailsPendingQueries) {
  pg_cluster own;
  test_connection c(own.conninfo());
  ASSERT_TRUE(wait_until([&] { return c.up.load(); }));
  auto sleeping = c.query("select pg_sleep(60)");
  auto queued = c.query("select 1");
  own.restart();
  ASSERT_EQ(sleeping.wait_for(10s), std::future_status::ready);
  ASSERT_EQ(queued.wait_for(10s), std::future_status::ready);
  EXPECT_FALSE(sleeping.get().ok);
  EXPECT_FALSE(queued.get().ok);
  ASSERT_TRUE(wait_until([&] { return c.closed_calls.load() == 1; }));
  EXPECT_FALSE(c.up.load());
}

TEST(PgConnection, ManyQueuedQueriesCompleteInOrder) {
  test_connection c(shared_cluster().conninfo());
  ASSERT_TRUE(wait_until([&] { return c.up.load(); }));
  constexpr int count = 2000;
  std::vector<int> order;
  std::promise<void> all;
  boost::asio::post(c.strand, [&] {
    for (int i = 0; i < count; ++i) {
      // Large parameters too, so that some sends need more than one write.
      std::vector<std::optional<std::string>> params{std::to_string(i), std::string(i % 7 == 0 ? 100'000 : 10, 'p')};
      c.conn->query("select $1::int, length($2)", std::move(params), [&, i](pg_result r) {
        order.push_back(r.ok && r.rows.size() == 1 && r.rows[0][0] == std::to_string(i) ? i : -1);
        if (order.size() == count) all.set_value();
      });
    }
  });
  ASSERT_EQ(all.get_future().wait_for(60s), std::future_status::ready);
  ASSERT_EQ(order.size(), static_cast<std::size_t>(count));
  for (int i = 0; i < count; ++i) ASSERT_EQ(order[static_cast<std::size_t>(i)], i);
}

}  // namespace
