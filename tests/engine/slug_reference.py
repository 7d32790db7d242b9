#!/usr/bin/env python3
# SPDX-License-Identifier: BSL-1.0
"""Compares systask::slugify with Django's slugify, which authentik uses for provider uids.

Usage: slug_reference.py PATH/TO/slugify_tool

Generates names deterministically (every code point between two letters, fixed examples,
thousands of random names over Latin-1, Latin Extended-A, punctuation, whitespace including
0x1C-0x1F, digits, underscores, combining marks, CJK and compatibility characters, and the same
with invalid UTF-8 spliced in), runs them through slugify_tool in one batch (hex, one per line),
computes Django's slugify of each with unicodedata and re, and fails on the first difference.
Invalid UTF-8 is decoded with Python's "replace" handler (one U+FFFD per maximal invalid
subpart), the policy systask follows.
"""

import random
import re
import subprocess
import sys
import unicodedata


def django_slugify(value):
    """django/utils/text.py slugify(value, allow_unicode=False), verbatim but for the decorator."""
    value = str(value)
    value = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode("ascii")
    value = re.sub(r"[^\w\s-]", "", value.lower())
    return re.sub(r"[-\s]+", "-", value).strip("-_")


def chars(*spans):
    out = []
    for span in spans:
        if isinstance(span, str):
            out.extend(span)
        else:
            out.extend(chr(c) for c in range(span[0], span[1] + 1))
    return out


ASCII_WORD = chars((0x41, 0x5A), (0x61, 0x7A), "0123456789_")
ASCII_OTHER = chars("!\"#$%&'()*+,./:;<=>?@[\\]^`{|}~-", (0x00, 0x08), "\x7f")
WHITESPACE = chars(" \t\n\v\f\r\x1c\x1d\x1e\x1f", "\x85\xa0\u1680\u2028\u2029\u202f\u205f\u3000",
                   (0x2000, 0x200A))
LATIN1 = chars((0xA0, 0xFF))
LATIN_EXT_A = chars((0x100, 0x17F))
LATIN_OTHER = chars((0x180, 0x24F), (0x1E00, 0x1EFF), (0x2B0, 0x2FF))
COMBINING = chars((0x300, 0x36F), "\u1dc0\u20d0\u302a\u3099")
COMPAT = chars((0xFB00, 0xFB06), (0xFF01, 0xFF5E), (0x2150, 0x218B), (0x2460, 0x24FF),
               (0x3200, 0x33FF), (0x1D400, 0x1D7FF), (0x2100, 0x214F), (0xFE30, 0xFE6B),
               (0x1F100, 0x1F1FF), (0x2070, 0x209F), (0xFDFA, 0xFDFB), (0x1FBF0, 0x1FBF9))
OTHER_SCRIPTS = chars((0x4E00, 0x4E80), (0xAC00, 0xAC40), (0x370, 0x3FF), (0x400, 0x4FF),
                      (0x1F600, 0x1F64F), "\ufffd\ue000\U0010fffd\ufeff")
POOLS = [(ASCII_WORD, 30), (ASCII_OTHER, 8), (WHITESPACE, 10), (LATIN1, 12), (LATIN_EXT_A, 12),
         (LATIN_OTHER, 5), (COMBINING, 6), (COMPAT, 10), (OTHER_SCRIPTS, 7)]
WORDS = ["Acme", "Google", "Workspace", "Entra", "SCIM", "prod", "Café", "Nord", "Straße",
         "Ærø", "Łódź", "ﬁle", "Ｆｕｌｌ", "2.0", "v1_2", "__init__", "東京", "Ⅻ", "½"]
SEPARATORS = [" ", "-", "_", ".", " - ", "--", "\t", "\x1c", "\u00a0", "\u3000", "/", " (", ")", ""]
INVALID = [b"\x80", b"\xbf", b"\xc0\xaf", b"\xc1\x81", b"\xc2", b"\xdf", b"\xe0\x80\xad", b"\xe0\xa0",
           b"\xe2\x82", b"\xed\xa0\x80", b"\xed\xbf\xbf", b"\xef\xbf", b"\xf0\x80\x80\xaf", b"\xf0\x9f\x98",
           b"\xf4\x90\x80\x80", b"\xf5\x80\x80\x80", b"\xf8", b"\xfe", b"\xff",
           # overlong forms of characters that do keep ASCII (U+00E9, U+FF21): must keep nothing
           b"\xe0\x83\xa9", b"\xf0\x80\x83\xa9", b"\xf0\x8f\xbc\xa1"]

FIXED = ["Acme.Corp", "Café Nord", "SCIM_2.0 (prod)", "  --Acme -- Entra!! ", "ﬁle", "Ｆｕｌｌ", "½",
         "Ⅻ", "ß", "Straße", "ÀÁÂÃÄÅÇÈÉÊËÌÍÎÏÑÒÓÔÕÖÙÚÛÜÝàáâãäåçèéêëìíîïñòóôõöùúûüýÿ",
         "".join(LATIN_EXT_A), "a\x1cb\x1dc\x1ed\x1fe", "__init__", "_-_a b_-_", "!!!", "", "㎯",
         "Acme \"SCIM\"\\prod", "a\u0301\u0323b", "\ufdfa"]


def random_name(rng):
    if rng.random() < 0.3:
        parts = []
        for _ in range(rng.randint(1, 5)):
            parts.append(rng.choice(WORDS))
            parts.append(rng.choice(SEPARATORS))
        return "".join(parts[:-1] if rng.random() < 0.5 else parts)
    pools = [p for p, _ in POOLS]
    weights = [w for _, w in POOLS]
    if rng.random() < 0.3:  # a name from one or two pools only, so rare pools meet each other
        chosen = rng.sample(range(len(POOLS)), rng.randint(1, 2))
        pools = [POOLS[i][0] for i in chosen]
        weights = [1] * len(pools)
    return "".join(rng.choice(rng.choices(pools, weights)[0]) for _ in range(rng.randint(0, 40)))


def with_invalid_utf8(rng, name):
    data = bytearray(name.encode("utf-8"))
    for _ in range(rng.randint(1, 4)):
        at = rng.randint(0, len(data))
        if data and rng.random() < 0.3:
            data[at - 1 if at == len(data) else at] = rng.randint(0x80, 0xFF)
        elif rng.random() < 0.3:
            cut = chr(rng.choice([0xE9, 0x20AC, 0x1F600, 0xFB01])).encode("utf-8")
            data[at:at] = cut[:rng.randint(1, len(cut) - 1)]  # a truncated sequence
        else:
            data[at:at] = rng.choice(INVALID)
    return bytes(data)


def names():
    """Every name as UTF-8 (or not) bytes, in a fixed order."""
    for cp in range(0x110000):
        if not 0xD800 <= cp <= 0xDFFF:
            yield ("a" + chr(cp) + "b").encode("utf-8")
    for name in FIXED:
        yield name.encode("utf-8")
    rng = random.Random(20261130)
    generated = [random_name(rng) for _ in range(6000)]
    for name in generated:
        yield name.encode("utf-8")
    for name in generated[:3000]:
        yield with_invalid_utf8(rng, name)
    for _ in range(1000):  # arbitrary bytes
        yield bytes(rng.randint(0, 255) for _ in range(rng.randint(1, 24)))


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: slug_reference.py PATH/TO/slugify_tool")
    tool = sys.argv[1]
    table_version = subprocess.run([tool, "--unicode-version"], check=True, capture_output=True,
                                   text=True).stdout.strip()
    if table_version != unicodedata.unidata_version:
        sys.exit(f"slug_reference: the slug table is from Unicode {table_version} but python3 has "
                 f"{unicodedata.unidata_version}; the comparison needs the same version "
                 "(regenerate with scripts/gen-slug-table.py, see docs/engine.md)")
    inputs = list(names())
    result = subprocess.run([tool], input="".join(b.hex() + "\n" for b in inputs).encode("ascii"),
                            capture_output=True, check=False)
    if result.returncode != 0:
        sys.exit(f"slug_reference: slugify_tool exited with {result.returncode}: "
                 f"{result.stderr.decode(errors='replace')}")
    got = result.stdout.decode("ascii").split("\n")
    if got[-1] != "" or len(got) - 1 != len(inputs):
        sys.exit(f"slug_reference: {len(inputs)} names in, {len(got) - 1} slugs out")
    for i, data in enumerate(inputs):
        expected = django_slugify(data.decode("utf-8", "replace"))
        if got[i] != expected:
            sys.exit(f"slug_reference: name {i} differs\n  bytes:  {data!r}\n  text:   "
                     f"{data.decode('utf-8', 'replace')!r}\n  django: {expected!r}\n  systask: {got[i]!r}")
    print(f"slug_reference: {len(inputs)} names agree with Django's slugify (Unicode {table_version})")


if __name__ == "__main__":
    main()
