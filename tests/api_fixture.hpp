// SPDX-License-Identifier: BSL-1.0
#pragma once

// Test helper: a facade over an engine_fixture, with tokens for every permission mix, and a
// validator of bodies against the contract's JSON Schema (tests/data/systask-wire.schema.json).

#include <systask/api/facade.hpp>

#include "engine_fixture.hpp"

#include <rapidjson/schema.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <fstream>
#include <regex>
#include <sstream>
#include <string>

#ifndef SYSTASK_SCHEMA_PATH
#error "SYSTASK_SCHEMA_PATH must name tests/data/systask-wire.schema.json"
#endif

namespace systask::test {

/// Validates JSON text against one definition of the contract's schema.
inline ::testing::AssertionResult matches_schema(std::string_view body, std::string_view definition) {
  static const std::string schema_text = [] {
    std::ifstream in(SYSTASK_SCHEMA_PATH);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }();
  rapidjson::Document schema_doc;
  schema_doc.Parse(schema_text.c_str());
  if (schema_doc.HasParseError()) return ::testing::AssertionFailure() << "schema file does not parse";
  schema_doc.AddMember("$ref", rapidjson::Value(("#/definitions/" + std::string(definition)).c_str(),
                                                schema_doc.GetAllocator()),
                       schema_doc.GetAllocator());
  rapidjson::SchemaDocument schema(schema_doc);
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseValidateEncodingFlag>(body.data(), body.size());
  if (doc.HasParseError()) return ::testing::AssertionFailure() << "not JSON: " << body;
  rapidjson::SchemaValidator validator(schema);
  if (!doc.Accept(validator)) {
    rapidjson::StringBuffer where, what;
    validator.GetInvalidSchemaPointer().StringifyUriFragment(where);
    validator.GetInvalidDocumentPointer().StringifyUriFragment(what);
    return ::testing::AssertionFailure() << "schema " << definition << ": keyword '"
                                         << validator.GetInvalidSchemaKeyword() << "' at " << where.GetString()
                                         << ", document " << what.GetString() << " in " << body;
  }
  return ::testing::AssertionSuccess();
}

/// The schema definition a response with this status must match on this route.
inline std::string_view definition_for(int status, std::string_view success_definition) {
  switch (status) {
    case 200: return success_definition;
    case 400: return "ValidationError";
    default: return "GenericError";
  }
}

/// Replaces every uuid value with <uuid> so that bodies can be compared byte for byte.
inline std::string mask_uuids(const std::string& body) {
  static const std::regex uuid(R"re("uuid":"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")re");
  return std::regex_replace(body, uuid, R"("uuid":"<uuid>")");
}

struct api_fixture : engine_fixture {
  api_fixture() : facade_(reg, make_options()) {}

  static api::facade_options make_options() {
    auto tokens = std::make_shared<api::static_tokens>();
    tokens->add("admin-token", {"admin", api::permissions::all()});
    tokens->add("viewer-token", {"viewer", api::permission::view_provider | api::permission::view_systemtask});
    tokens->add("provider-only-token", {"provider-only", api::permission::view_provider});
    tokens->add("nothing-token", {"nobody", {}});
    api::facade_options o;
    o.tokens = tokens;
    return o;
  }

  api::response call(std::string_view method, std::string_view target, std::string_view token = "admin-token",
                     std::string_view body = {}) {
    auth_ = std::string("Bearer ") + std::string(token);
    api::request req = api::request::from_target(method, target);
    if (!token.empty()) req.headers.emplace_back("Authorization", auth_);
    req.body = body;
    return facade_.handle(req);
  }
  api::response get(std::string_view target, std::string_view token = "admin-token") {
    return call("GET", target, token);
  }
  api::response post(std::string_view target, std::string_view body, std::string_view token = "admin-token") {
    return call("POST", target, token, body);
  }

  api::facade facade_;
  std::string auth_;
};

}  // namespace systask::test
