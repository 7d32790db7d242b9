// SPDX-License-Identifier: BSL-1.0
// slugify_tool: reads one name per line of standard input, written as hex bytes (so any byte,
// newline and invalid UTF-8 included, can be a name; an empty line is the empty name), and
// writes systask::slugify of each on its own line (a slug has no newline). With
// --unicode-version it prints the Unicode version of the slug table instead.
// Used by tests/engine/slug_reference.py. Exit 2 on bad input.

#include <systask/engine/slugify.hpp>

#include "slug_table.hpp"

#include <iostream>
#include <string>
#include <string_view>

namespace {

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 2 && std::string_view(argv[1]) == "--unicode-version") {
    std::cout << systask::detail::slug_table::unicode_version << "\n";
    return 0;
  }
  if (argc != 1) {
    std::cerr << "usage: slugify_tool [--unicode-version] < hex-lines\n";
    return 2;
  }
  std::ios::sync_with_stdio(false);
  std::string line, name, out;
  for (std::size_t n = 1; std::getline(std::cin, line); ++n) {
    if (line.size() % 2 != 0) {
      std::cerr << "slugify_tool: line " << n << ": odd number of hex digits\n";
      return 2;
    }
    name.clear();
    for (std::size_t i = 0; i < line.size(); i += 2) {
      const int hi = hex_digit(line[i]), lo = hex_digit(line[i + 1]);
      if (hi < 0 || lo < 0) {
        std::cerr << "slugify_tool: line " << n << ": not hex\n";
        return 2;
      }
      name.push_back(static_cast<char>(hi * 16 + lo));
    }
    out += systask::slugify(name);
    out += '\n';
  }
  std::cout << out;
  return std::cout.good() ? 0 : 1;
}
