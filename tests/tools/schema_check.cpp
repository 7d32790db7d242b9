// SPDX-License-Identifier: BSL-1.0
// schema_check SCHEMA DEFINITION: validates each line of standard input (one JSON document per
// line) against one definition of the contract's JSON Schema. Exit 0 when all are valid.

#include <rapidjson/document.h>
#include <rapidjson/schema.h>
#include <rapidjson/stringbuffer.h>

#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: schema_check SCHEMA.json DEFINITION < lines\n";
    return 2;
  }
  std::ifstream in(argv[1]);
  std::stringstream text;
  text << in.rdbuf();
  rapidjson::Document schema_doc;
  schema_doc.Parse(text.str().c_str());
  if (schema_doc.HasParseError()) {
    std::cerr << "schema_check: cannot parse " << argv[1] << "\n";
    return 2;
  }
  const std::string ref = std::string("#/definitions/") + argv[2];
  schema_doc.AddMember("$ref", rapidjson::Value(ref.c_str(), schema_doc.GetAllocator()), schema_doc.GetAllocator());
  rapidjson::SchemaDocument schema(schema_doc);
  std::string line;
  int n = 0, bad = 0;
  while (std::getline(std::cin, line)) {
    if (line.empty()) continue;
    ++n;
    rapidjson::Document doc;
    doc.Parse<rapidjson::kParseValidateEncodingFlag>(line.c_str(), line.size());
    rapidjson::SchemaValidator v(schema);
    if (doc.HasParseError() || !doc.Accept(v)) {
      ++bad;
      std::cerr << "schema_check: line " << n << " is not a valid " << argv[2] << ": " << line.substr(0, 300) << "\n";
    }
  }
  if (n == 0) {
    std::cerr << "schema_check: no input\n";
    return 1;
  }
  std::cout << n << " " << argv[2] << " document(s) checked, " << bad << " invalid\n";
  return bad == 0 ? 0 : 1;
}
