// SPDX-License-Identifier: BSL-1.0
// The HTTP adapter over Beast's in-memory test stream: exact bytes in, exact bytes out.

#include <systask/http/testing.hpp>

#include "api_fixture.hpp"

#include <gtest/gtest.h>

namespace {

using namespace systask;
using systask::test::api_fixture;
using systask::test::matches_schema;

struct http_stream : ::testing::Test, api_fixture {
  http_stream() {
    reg.register_provider("scim", 3, "Acme SCIM");
    reg.start(reg.sync_spec("scim", 3)).finish(task_status::successful);
    options.access_log = [this](std::string_view line) { log += line; };
  }
  std::string serve(std::string_view input) { return http::testing::serve_bytes(facade_, input, options); }

  // Splits the server's output into (status line, headers+body) per response.
  static std::vector<std::string> status_lines(const std::string& out) {
    std::vector<std::string> lines;
    std::size_t pos = 0;
    while ((pos = out.find("HTTP/1.1 ", pos)) != std::string::npos) {
      lines.push_back(out.substr(pos, out.find("\r\n", pos) - pos));
      pos += 9;
    }
    return lines;
  }
  static std::string body_of(const std::string& out) { return out.substr(out.find("\r\n\r\n") + 4); }

  http::server_options options;
  std::string log;
};

TEST_F(http_stream, SyncStatusWithBearerToken) {
  const std::string out = serve(
      "GET /api/v3/providers/scim/3/sync/status/ HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer admin-token\r\n"
      "Connection: close\r\n\r\n");
  EXPECT_EQ(status_lines(out), std::vector<std::string>{"HTTP/1.1 200 OK"});
  EXPECT_NE(out.find("Content-Type: application/json; charset=utf-8\r\n"), std::string::npos);
  EXPECT_TRUE(matches_schema(body_of(out), "SyncStatus"));
  EXPECT_NE(log.find(R"({"method":"GET","path":"/api/v3/providers/scim/3/sync/status/","status":200,"bytes":)"),
            std::string::npos)
      << log;
}

TEST_F(http_stream, CheckOrderAndErrorsAreTheFacades) {
  auto one = [&](std::string_view request) {
    const std::string out = serve(request);
    return std::pair{status_lines(out).at(0), body_of(out)};
  };
  auto [s1, b1] = one("GET /api/v3/providers/scim/abc/sync/status/ HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(s1, "HTTP/1.1 403 Forbidden");
  EXPECT_EQ(b1, R"({"detail":"Authentication credentials were not provided.","code":"not_authenticated"})");
  auto [s2, b2] = one("DELETE /api/v3/events/system_tasks/ HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer admin-token\r\n\r\n");
  EXPECT_EQ(s2, "HTTP/1.1 405 Method Not Allowed");
  auto [s3, b3] = one("GET /nope HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(s3, "HTTP/1.1 404 Not Found");
  const std::string out = serve("DELETE /api/v3/events/system_tasks/ HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer admin-token\r\n\r\n");
  EXPECT_NE(out.find("Allow: GET\r\n"), std::string::npos);
}

TEST_F(http_stream, KeepAliveAndPipelinedRequestsAreAnsweredInOrder) {
  const std::string out = serve(
      "GET /api/v3/events/system_tasks/ HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer admin-token\r\n\r\n"
      "GET /nope/ HTTP/1.1\r\nHost: x\r\n\r\n"
      "GET /-/health/live/ HTTP/1.1\r\nHost: x\r\n\r\n"
      "POST /api/v3/providers/scim/3/sync/object/ HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer admin-token\r\n"
      "Content-Length: 2\r\n\r\n{}");
  EXPECT_EQ(status_lines(out), (std::vector<std::string>{"HTTP/1.1 200 OK", "HTTP/1.1 404 Not Found", "HTTP/1.1 200 OK",
                                                        "HTTP/1.1 400 Bad Request"}));
  EXPECT_EQ(std::count(log.begin(), log.end(), '\n'), 4) << "one access-log line per request";
}

// Paths reach the access log as they came (Beast accepts any byte above 0x20 in a target): valid
// UTF-8 stays as it is, an invalid byte becomes U+FFFD, quotes and backslashes are escaped, as
// in every body the facade writes.
TEST_F(http_stream, ErrorBodiesAndAccessLogLinesAreEscapedByTheEnginesEscaper) {
  options.max_body_bytes = 100;
  const std::string out = serve("GET /caf\xc3\xa9/\"q\"\\/\xff HTTP/1.1\r\nHost: x\r\n\r\n"
                                "POST /\xc3\xa9\xfe/?x=\xff HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n" +
                                std::string(5000, '{'));
  EXPECT_EQ(status_lines(out),
            (std::vector<std::string>{"HTTP/1.1 404 Not Found", "HTTP/1.1 413 Payload Too Large"}));
  EXPECT_NE(out.find("\r\n\r\n{\"detail\":\"Not found.\",\"code\":\"not_found\"}HTTP/1.1 413"), std::string::npos) << out;
  EXPECT_TRUE(out.ends_with("\r\n\r\n{\"detail\":\"Request body too large.\",\"code\":\"body_too_large\"}")) << out;
  EXPECT_NE(log.find("{\"method\":\"GET\",\"path\":\"/caf\xc3\xa9/\\\"q\\\"\\\\/\xef\xbf\xbd\",\"status\":404,\"bytes\":42,"),
            std::string::npos)
      << log;
  EXPECT_NE(log.find("{\"method\":\"POST\",\"path\":\"/\xc3\xa9\xef\xbf\xbd/\",\"status\":413,"), std::string::npos) << log;
  EXPECT_TRUE(is_valid_utf8(log)) << log;
}

// HEAD: the GET's status line and headers, Content-Length of the GET's body, and not one byte of
// body, so the next pipelined response starts right after the headers (issue 14).
TEST_F(http_stream, HeadSendsTheGetsHeadersAndContentLengthButNoBody) {
  const std::string get = serve(
      "GET /api/v3/events/system_tasks/ HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer admin-token\r\n"
      "Connection: close\r\n\r\n");
  const std::string length = std::to_string(body_of(get).size());
  const std::string out = serve(
      "HEAD /api/v3/events/system_tasks/ HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer admin-token\r\n\r\n"
      "HEAD /nope/ HTTP/1.1\r\nHost: x\r\n\r\n"
      "HEAD /-/health/live/ HTTP/1.1\r\nHost: x\r\n\r\n"
      "GET /-/health/live/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(status_lines(out), (std::vector<std::string>{"HTTP/1.1 200 OK", "HTTP/1.1 404 Not Found", "HTTP/1.1 200 OK",
                                                        "HTTP/1.1 200 OK"}));
  const std::size_t first_end = out.find("\r\n\r\n") + 4;
  const std::string first = out.substr(0, first_end);
  EXPECT_NE(first.find("Content-Type: application/json; charset=utf-8\r\n"), std::string::npos) << first;
  EXPECT_NE(first.find("Content-Length: " + length + "\r\n"), std::string::npos) << first << " vs GET " << length;
  EXPECT_EQ(out.compare(first_end, 9, "HTTP/1.1 "), 0) << "no body after a HEAD's headers: " << out;
  EXPECT_NE(out.find("Content-Length: 42\r\n\r\nHTTP/1.1 200 OK"), std::string::npos)
      << "the 404's length, no body: " << out;
  EXPECT_NE(log.find(R"({"method":"HEAD","path":"/api/v3/events/system_tasks/","status":200,"bytes":0,)"),
            std::string::npos)
      << log;
}

// A revalidated page asset is a 304: its head ends the response (no Content-Length, no body,
// RFC 9110 8.6), and the next request on the connection is read and answered after it.
TEST_F(http_stream, A304EndsAtItsHeadAndTheConnectionGoesOn) {
  const std::string first = serve("GET /ui/ HTTP/1.1\r\nHost: x\r\n\r\n");
  const auto tag_at = first.find("ETag: ");
  ASSERT_NE(tag_at, std::string::npos) << first;
  const std::string etag = first.substr(tag_at + 6, first.find("\r\n", tag_at) - tag_at - 6);
  const std::string out = serve("GET /ui/ HTTP/1.1\r\nHost: x\r\nIf-None-Match: " + etag +
                                "\r\n\r\nGET /-/health/live/ HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(status_lines(out), (std::vector<std::string>{"HTTP/1.1 304 Not Modified", "HTTP/1.1 200 OK"})) << out;
  const auto head_end = out.find("\r\n\r\n");
  ASSERT_NE(head_end, std::string::npos);
  EXPECT_EQ(out.substr(0, head_end).find("Content-Length"), std::string::npos) << out;
  EXPECT_EQ(out.compare(head_end + 4, 9, "HTTP/1.1 "), 0) << "the next response follows the 304's head: " << out;
}

TEST_F(http_stream, HealthNeedsNoTokenAndHasAnEmptyBody) {
  const std::string out = serve("GET /-/health/live/ HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(status_lines(out), std::vector<std::string>{"HTTP/1.1 200 OK"});
  EXPECT_NE(out.find("Content-Length: 0\r\n"), std::string::npos);
}

TEST_F(http_stream, MetricsNeedATokenByDefault) {
  EXPECT_EQ(status_lines(serve("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")),
            std::vector<std::string>{"HTTP/1.1 403 Forbidden"});
  const std::string out = serve("GET /metrics HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer nothing-token\r\n\r\n");
  EXPECT_EQ(status_lines(out), std::vector<std::string>{"HTTP/1.1 200 OK"});
  EXPECT_NE(out.find("Content-Type: text/plain; version=0.0.4; charset=utf-8"), std::string::npos);
  EXPECT_NE(out.find("systask_runs_finished_total"), std::string::npos);
}

TEST_F(http_stream, OversizedHeadersAre431AndTheConnectionCloses) {
  options.max_header_bytes = 1024;
  const std::string out = serve("GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(4000, 'a') +
                                "\r\n\r\nGET /-/health/live/ HTTP/1.1\r\n\r\n");
  EXPECT_EQ(status_lines(out), std::vector<std::string>{"HTTP/1.1 431 Request Header Fields Too Large"});
  EXPECT_EQ(body_of(out), R"({"detail":"Request header fields too large.","code":"header_too_large"})");
  EXPECT_NE(out.find("Connection: close\r\n"), std::string::npos);
}

TEST_F(http_stream, OversizedBodiesAre413) {
  options.max_body_bytes = 100;
  const std::string out = serve("POST /api/v3/providers/scim/3/sync/object/ HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n" +
                                std::string(5000, '{'));
  EXPECT_EQ(status_lines(out), std::vector<std::string>{"HTTP/1.1 413 Payload Too Large"});
  EXPECT_EQ(body_of(out), R"({"detail":"Request body too large.","code":"body_too_large"})");
}

TEST_F(http_stream, MalformedRequestLinesAre400) {
  for (std::string_view bad : {"GARBAGE\r\n\r\n", "GET\r\n\r\n", "GET / HTTP/9.9.9\r\n\r\n", "GET / HTTP/1.1\r\nBad Header\r\n\r\n",
                               "G\x01T / HTTP/1.1\r\n\r\n"}) {
    const std::string out = serve(bad);
    ASSERT_FALSE(status_lines(out).empty()) << bad;
    EXPECT_EQ(status_lines(out).at(0), "HTTP/1.1 400 Bad Request") << bad;
    EXPECT_EQ(body_of(out), R"({"detail":"Malformed HTTP request.","code":"bad_request"})");
  }
}

TEST(HttpDefaults, TheAccessLogIsOffUnlessTheHostSetsOne) {
  EXPECT_FALSE(http::server_options{}.access_log);
}

TEST_F(http_stream, EmptyOrTruncatedInputGetsNoResponseAndNoCrash) {
  EXPECT_EQ(serve(""), "");
  EXPECT_EQ(serve("GET /api/v3/events/system_tasks/ HTTP/1.1\r\nHost:"), "");
}

}  // namespace

namespace {

// Every kind of response the adapter writes, byte for byte (uuids masked): status lines, header
// fields and their order, Content-Length, Connection: close, bodies. Written down from the
// adapter as it serialized responses with Beast's serializer, so that a change to how the head
// is built cannot change a byte.
struct http_golden : http_stream {
  http_golden() {
    reg.set_runner("scim_sync", [](const run_spec&) {});
    uuid = reg.list_tasks().at(0).uuid();
  }
  std::string uuid;
};

TEST_F(http_golden, EveryKindOfResponseIsWrittenByteForByteAsBefore) {
  const std::string auth = "Authorization: Bearer admin-token\r\n";
  const std::string keep_alive = serve(
      "GET /api/v3/providers/scim/3/sync/status/ HTTP/1.1\r\nHost: x\r\n" + auth + "\r\n" +
      "GET /nope/ HTTP/1.1\r\nHost: x\r\n\r\n"
      "GET /-/health/live/ HTTP/1.1\r\nHost: x\r\n\r\n"
      "DELETE /api/v3/events/system_tasks/ HTTP/1.1\r\nHost: x\r\n" + auth + "\r\n" +
      "GET /api/v3/events/system_tasks/ HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer nothing-token\r\n\r\n"
      "POST /api/v3/events/system_tasks/" + uuid + "/run/ HTTP/1.1\r\nHost: x\r\n" + auth + "\r\n" +
      "POST /api/v3/providers/scim/3/sync/object/ HTTP/1.1\r\nHost: x\r\n" + auth + "Content-Length: 2\r\n\r\n{}" +
      "GET /api/v3/providers/scim/3/sync/status/?include_running=maybe HTTP/1.1\r\nHost: x\r\n" + auth + "\r\n" +
      "GET /-/health/live/ HTTP/1.0\r\n\r\n"
      "GET /-/health/live/ HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(systask::test::mask_uuids(keep_alive),
            "HTTP/1.1 200 OK\r\n"
            "Content-Type: application/json; charset=utf-8\r\n"
            "Server: systask\r\n"
            "Content-Length: 489\r\n"
            "\r\n"
            R"({"is_running":false,"tasks":[{"uuid":"<uuid>","name":"scim_sync","full_name":"scim_sync:acme-scim",)"
            R"("uid":"acme-scim","description":"Run full sync for provider \"Acme SCIM\"",)"
            R"("start_timestamp":"2024-07-29T15:51:28.000000Z","finish_timestamp":"2024-07-29T15:51:28.000000Z",)"
            R"("duration":0.0,"status":"successful","messages":[],"expires":"2024-07-29T21:51:28.000000Z",)"
            R"("expiring":true}],"last_successful_sync":"2024-07-29T15:51:28.000000Z","last_sync_status":"done"})"
            "HTTP/1.1 404 Not Found\r\n"
            "Content-Type: application/json; charset=utf-8\r\n"
            "Server: systask\r\n"
            "Content-Length: 42\r\n"
            "\r\n"
            "{\"detail\":\"Not found.\",\"code\":\"not_found\"}"
            "HTTP/1.1 200 OK\r\n"
            "Server: systask\r\n"
            "Content-Length: 0\r\n"
            "\r\n"
            "HTTP/1.1 405 Method Not Allowed\r\n"
            "Content-Type: application/json; charset=utf-8\r\n"
            "Allow: GET\r\n"
            "Server: systask\r\n"
            "Content-Length: 71\r\n"
            "\r\n"
            "{\"detail\":\"Method \\\"DELETE\\\" not allowed.\",\"code\":\"method_not_allowed\"}"
            "HTTP/1.1 403 Forbidden\r\n"
            "Content-Type: application/json; charset=utf-8\r\n"
            "Server: systask\r\n"
            "Content-Length: 90\r\n"
            "\r\n"
            "{\"detail\":\"You do not have permission to perform this action.\",\"code\":\"permission_denied\"}"
            // No Content-Length on a 204 (RFC 9110 8.6: a server MUST NOT send one); Beast's
            // serializer, which wrote these bytes before, sent "Content-Length: 0".
            "HTTP/1.1 204 No Content\r\n"
            "Server: systask\r\n"
            "\r\n"
            "HTTP/1.1 400 Bad Request\r\n"
            "Content-Type: application/json; charset=utf-8\r\n"
            "Server: systask\r\n"
            "Content-Length: 94\r\n"
            "\r\n"
            "{\"sync_object_model\":[\"This field is required.\"],\"sync_object_id\":[\"This field is required.\"]}"
            "HTTP/1.1 400 Bad Request\r\n"
            "Content-Type: application/json; charset=utf-8\r\n"
            "Server: systask\r\n"
            "Content-Length: 48\r\n"
            "\r\n"
            "{\"include_running\":[\"Must be a valid boolean.\"]}"
            "HTTP/1.1 200 OK\r\n"
            "Server: systask\r\n"
            "Connection: close\r\n"
            "Content-Length: 0\r\n"
            "\r\n");
  EXPECT_EQ(serve("GET /nope/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
            "HTTP/1.1 404 Not Found\r\n"
            "Content-Type: application/json; charset=utf-8\r\n"
            "Server: systask\r\n"
            "Connection: close\r\n"
            "Content-Length: 42\r\n"
            "\r\n"
            "{\"detail\":\"Not found.\",\"code\":\"not_found\"}");
  EXPECT_EQ(serve("GET /nope/ HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /nope/ HTTP/1.0\r\n\r\n"),
            "HTTP/1.1 404 Not Found\r\n"
            "Content-Type: application/json; charset=utf-8\r\n"
            "Server: systask\r\n"
            "Content-Length: 42\r\n"
            "\r\n"
            "{\"detail\":\"Not found.\",\"code\":\"not_found\"}"
            "HTTP/1.1 404 Not Found\r\n"
            "Content-Type: application/json; charset=utf-8\r\n"
            "Server: systask\r\n"
            "Connection: close\r\n"
            "Content-Length: 42\r\n"
            "\r\n"
            "{\"detail\":\"Not found.\",\"code\":\"not_found\"}");
  options.max_body_bytes = 10;
  options.max_header_bytes = 200;
  EXPECT_EQ(serve("POST /x/ HTTP/1.1\r\nContent-Length: 11\r\n\r\n01234567890"),
            "HTTP/1.1 413 Payload Too Large\r\n"
            "Content-Type: application/json; charset=utf-8\r\n"
            "Server: systask\r\n"
            "Connection: close\r\n"
            "Content-Length: 60\r\n"
            "\r\n"
            "{\"detail\":\"Request body too large.\",\"code\":\"body_too_large\"}");
  EXPECT_EQ(serve("GET /x/ HTTP/1.1\r\nX: " + std::string(300, 'a') + "\r\n\r\n"),
            "HTTP/1.1 431 Request Header Fields Too Large\r\n"
            "Content-Type: application/json; charset=utf-8\r\n"
            "Server: systask\r\n"
            "Connection: close\r\n"
            "Content-Length: 71\r\n"
            "\r\n"
            "{\"detail\":\"Request header fields too large.\",\"code\":\"header_too_large\"}");
  EXPECT_EQ(serve("GET / HTTP/1.1\r\nBad Header\r\n\r\n"),
            "HTTP/1.1 400 Bad Request\r\n"
            "Content-Type: application/json; charset=utf-8\r\n"
            "Server: systask\r\n"
            "Connection: close\r\n"
            "Content-Length: 57\r\n"
            "\r\n"
            "{\"detail\":\"Malformed HTTP request.\",\"code\":\"bad_request\"}");
}

}  // namespace
