// SPDX-License-Identifier: BSL-1.0
#pragma once

// Request bodies that must be one JSON object (POST sync/object, PATCH schedules), read the way
// Django REST framework reads them: a parse error or another JSON type is a 400 naming it under
// non_field_errors, before any field is looked at.

#include "responses.hpp"

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>

#include <optional>
#include <string>
#include <string_view>

namespace systask::api::detail {

/// Parses `body` into `doc` (invalid UTF-8 is a parse error). Returns the 400 to answer when it is
/// not one JSON object, std::nullopt when `doc` holds the object. Allocates; throws bad_alloc.
inline std::optional<response> parse_json_object(std::string_view body, rapidjson::Document& doc) {
  doc.Parse<rapidjson::kParseValidateEncodingFlag>(body.data(), body.size());
  validation_error errors;
  if (doc.HasParseError()) {
    errors.add("non_field_errors", std::string("JSON parse error - ") + rapidjson::GetParseError_En(doc.GetParseError()));
  } else if (!doc.IsObject()) {
    errors.add("non_field_errors", "Invalid data. Expected a dictionary.");
  }
  if (errors.empty()) return std::nullopt;
  return json_response(400, errors);
}

/// The member `name` of the object `doc`, or nullptr. By name, not by iterator comparison:
/// RapidJSON's iterators are ambiguous under C++20's reversed operators.
inline const rapidjson::Value* member(const rapidjson::Document& doc, const char* name) {
  return doc.HasMember(name) ? &doc[name] : nullptr;
}

}  // namespace systask::api::detail
