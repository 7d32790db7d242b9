// SPDX-License-Identifier: BSL-1.0
#include <systask/engine/slugify.hpp>

#include <gtest/gtest.h>

// Expected values are Django's slugify run by python3 (tests/engine/slug_reference.py checks
// the same function over generated names). Source text is UTF-8; invalid bytes are escaped.

namespace {

using systask::slugify;

TEST(Slug, MatchesAuthentikUidsOfTheContractExamples) {
  EXPECT_EQ(slugify("Acme.Corp"), "acmecorp");
  EXPECT_EQ(slugify("Café Nord"), "cafe-nord");
  EXPECT_EQ(slugify("SCIM_2.0 (prod)"), "scim_20-prod");
  EXPECT_EQ(slugify("Acme Google Workspace"), "acme-google-workspace");
  EXPECT_EQ(slugify("  --Acme -- Entra!! "), "acme-entra");
}

TEST(Slug, DeletesPunctuationWithoutSeparating) {
  EXPECT_EQ(slugify("a.b"), "ab");
  EXPECT_EQ(slugify("a!b?c"), "abc");
  EXPECT_EQ(slugify("Acme \"SCIM\"\\prod"), "acme-scimprod");
  EXPECT_EQ(slugify("a-.-b"), "a-b") << "deleting the '.' joins the two '-' into one run";
}

TEST(Slug, KeepsUnderscoresInsideAndStripsThemAtBothEnds) {
  EXPECT_EQ(slugify("a_b"), "a_b");
  EXPECT_EQ(slugify("__init__"), "init");
  EXPECT_EQ(slugify("_-_a b_-_"), "a-b");
  EXPECT_EQ(slugify("a - _ b"), "a-_-b") << "'_' is a word character, so it splits the run";
}

TEST(Slug, TransliteratesThroughCompatibilityDecomposition) {
  EXPECT_EQ(slugify("ﬁle"), "file");
  EXPECT_EQ(slugify("Ｆｕｌｌ"), "full");
  EXPECT_EQ(slugify("Ｓｃｉｍ　２"), "scim-2") << "U+3000 decomposes to a space";
  EXPECT_EQ(slugify("½"), "12");
  EXPECT_EQ(slugify("¼ ¾"), "14-34");
  EXPECT_EQ(slugify("Ⅻ"), "xii");
  EXPECT_EQ(slugify("Ⅻ Ⅷ ⅷ"), "xii-viii-viii");
  EXPECT_EQ(slugify("①②"), "12");
  EXPECT_EQ(slugify("ℌello"), "hello");
  EXPECT_EQ(slugify("㎯"), "rads2") << "longer than its UTF-8 input";
  EXPECT_EQ(slugify("ǅ"), "dz");
  EXPECT_EQ(slugify("İstanbul"), "istanbul");
  EXPECT_EQ(slugify("e\xCC\x81\xCC\xA3" "b"), "eb") << "combining marks after ASCII are dropped";
}

TEST(Slug, DropsWhatHasNoAsciiDecomposition) {
  EXPECT_EQ(slugify("ß"), "") << "NFKD keeps ß, which is not ASCII";
  EXPECT_EQ(slugify("Straße"), "strae");
  EXPECT_EQ(slugify("Łódź Kraków"), "odz-krakow") << "Ł has no decomposition";
  EXPECT_EQ(slugify("Ærøskøbing"), "rskbing");
  EXPECT_EQ(slugify("東京 Tokyo"), "tokyo");
  EXPECT_EQ(slugify("Ωmega"), "mega");
}

TEST(Slug, TransliteratesLatin1) {
  EXPECT_EQ(slugify("ÀÁÂÃÄÅ àáâãäå Çç ÈÉÊË ÌÍÎÏ Ñ ÒÓÔÕÖ ÙÚÛÜ Ýýÿ"),
            "aaaaaa-aaaaaa-cc-eeee-iiii-n-ooooo-uuuu-yyy");
  EXPECT_EQ(slugify("Ðð Þþ ×÷ ª º ¹²³ µ"), "a-o-123");
  EXPECT_EQ(slugify("a¨b"), "a-b") << "the spacing diaeresis decomposes to a space and U+0308";
}

TEST(Slug, TransliteratesLatinExtendedA) {
  EXPECT_EQ(slugify("ĀăĄćĈċČďĐēĦĲĳĸĿŀŁłŉŊŒœſ"), "aaaccccdeijijllns");
  EXPECT_EQ(slugify("Ĳssel Ŀ ŉ ſ Œuvre"), "ijssel-l-n-s-uvre");
}

TEST(Slug, SeparatesOnPythonWhitespaceIncludingInformationSeparators) {
  EXPECT_EQ(slugify("a\x1C" "b\x1D\x1E" "c\x1F" "d"), "a-b-c-d");
  EXPECT_EQ(slugify("a\tb\nc\vd\fe\rf"), "a-b-c-d-e-f");
  EXPECT_EQ(slugify("x\xC2\xA0y"), "x-y") << "U+00A0 decomposes to a space";
  EXPECT_EQ(slugify("a\xE2\x80\x83" "b"), "a-b") << "U+2003 decomposes to a space";
  EXPECT_EQ(slugify("x\xC2\x85y"), "xy") << "U+0085 is whitespace, but not ASCII: dropped first";
  EXPECT_EQ(slugify("x\xE2\x80\xA8y"), "xy") << "U+2028 likewise";
}

TEST(Slug, IsEmptyWhenNothingSurvives) {
  EXPECT_EQ(slugify(""), "");
  EXPECT_EQ(slugify("!!!"), "");
  EXPECT_EQ(slugify("___"), "");
  EXPECT_EQ(slugify(" - "), "");
  EXPECT_EQ(slugify("東京"), "");
}

TEST(Slug, DropsInvalidUtf8WithoutSwallowingWhatFollows) {
  EXPECT_EQ(slugify("Caf\xC3"), "caf") << "truncated sequence at the end";
  EXPECT_EQ(slugify("Caf\xC3\xA9\xC3"), "cafe");
  EXPECT_EQ(slugify("\xE2\xC3\xA9t\xC3\xA9"), "ete") << "a bad lead byte does not take the next é";
  EXPECT_EQ(slugify("a\xFF" "b"), "ab");
  EXPECT_EQ(slugify("a\xED\xA0\x80" "b"), "ab") << "encoded surrogate";
  EXPECT_EQ(slugify("x\xC1\x81y"), "xy") << "overlong 'A' is not an A";
  EXPECT_EQ(slugify("\xE0\x80\xADx"), "x") << "overlong '-'";
  EXPECT_EQ(slugify("x\xE0\x83\xA9y"), "xy") << "overlong é is not an e";
  EXPECT_EQ(slugify("x\xF0\x8F\xBC\xA1y"), "xy") << "overlong U+FF21 is not an A";
  EXPECT_EQ(slugify("a\xF0\x9F\x98" "b"), "ab") << "truncated 4-byte sequence before ASCII";
  EXPECT_EQ(slugify("a\xF4\x90\x80\x80" "b"), "ab") << "above U+10FFFF";
}

}  // namespace
