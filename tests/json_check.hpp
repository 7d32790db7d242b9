// SPDX-License-Identifier: BSL-1.0
#pragma once

// Test helper: parse text as JSON with RapidJSON (strict: the whole input, valid UTF-8).

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>

#include <gtest/gtest.h>

#include <string>
#include <string_view>

namespace systask::test {

inline ::testing::AssertionResult parses_as_json(std::string_view text) {
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseValidateEncodingFlag | rapidjson::kParseStopWhenDoneFlag>(text.data(), text.size());
  if (doc.HasParseError()) {
    return ::testing::AssertionFailure() << rapidjson::GetParseError_En(doc.GetParseError()) << " at offset "
                                         << doc.GetErrorOffset() << " in: " << text;
  }
  if (doc.GetErrorOffset() != 0 && doc.GetErrorOffset() != text.size()) {
    return ::testing::AssertionFailure() << "trailing bytes in: " << text;
  }
  return ::testing::AssertionSuccess();
}

inline rapidjson::Document parse(std::string_view text) {
  rapidjson::Document doc;
  doc.Parse(text.data(), text.size());
  return doc;
}

}  // namespace systask::test
