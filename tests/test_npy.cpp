// .npy reading and writing: round trips, byte-exact numpy compatibility, and hostile input.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <string>
#include <unistd.h>
#include <vector>

#include "relprop/error.hpp"
#include "relprop/tensor.hpp"
#include "engine/finite.h"
#include "relprop/npy.hpp"

using namespace relprop;

namespace {

// A string literal with embedded NULs, all of it.
template <size_t N>
std::string bytes(const char (&s)[N]) {
    return std::string(s, N - 1);
}

// A .npy file with this header dict (padded to 64 bytes and ended with '\n', as numpy does) and data.
std::string npy_with(const std::string& dict, const std::string& data, int major = 1) {
    size_t prefix = major == 1 ? 10 : 12;
    size_t pad = 64 - (prefix + dict.size() + 1) % 64;
    size_t len = dict.size() + 1 + pad;
    std::string out("\x93NUMPY", 6);
    out += static_cast<char>(major);
    out += '\0';
    for (size_t i = 0; i < prefix - 8; ++i) out += static_cast<char>((len >> (8 * i)) & 0xff);
    return out + dict + std::string(pad, ' ') + "\n" + data;
}

std::string f4_dict(const std::string& shape) {
    return "{'descr': '<f4', 'fortran_order': False, 'shape': " + shape + ", }";
}

std::string zeros(size_t n) { return std::string(n, '\0'); }

// Bytes numpy 1.24 wrote (np.save unless noted), generated with gen.py-style octal escapes.
// 152 bytes
const std::string k_f4_2x3 = bytes(
        "\223NUMPY\001\000v\000{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }         "
        "                                                 \012\000\000\000\000\000\000\200\077\000\000"
        "\000@\000\000@@\000\000\200@\000\000\240@");
// 160 bytes
const std::string k_f8 = bytes(
        "\223NUMPY\001\000v\000{'descr': '<f8', 'fortran_order': False, 'shape': (4,), }           "
        "                                                 \012\000\000\000\000\000\000\370\077\000\000"
        "\000\000\000\000\002\300\374\251\361\322MbP\077\000\000\000\000\000\000\360\177");
// 144 bytes
const std::string k_be_f4 = bytes(
        "\223NUMPY\001\000v\000{'descr': '>f4', 'fortran_order': False, 'shape': (2, 2), }         "
        "                                                 \012\077\200\000\000\300\000\000\000@`\000"
        "\000Q\025\002\371");
// 160 bytes
const std::string k_i8 = bytes(
        "\223NUMPY\001\000v\000{'descr': '<i8', 'fortran_order': False, 'shape': (4,), }           "
        "                                                 \012\375\377\377\377\377\377\377\377\000\000"
        "\000\000\000\000\000\000\007\000\000\000\000\000\000\000\000\000\000\000\000\001\000\000");
// 224 bytes
const std::string k_fortran = bytes(
        "\223NUMPY\001\000v\000{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3, 4), }       "
        "                                                 \012\000\000\000\000\000\000@A\000\000\200"
        "@\000\000\200A\000\000\000A\000\000\240A\000\000\200\077\000\000PA\000\000\240@\000\000\210"
        "A\000\000\020A\000\000\250A\000\000\000@\000\000`A\000\000\300@\000\000\220A\000\000 A\000"
        "\000\260A\000\000@@\000\000pA\000\000\340@\000\000\230A\000\0000A\000\000\270A");
// 148 bytes
const std::string k_v2 = bytes(
        "\223NUMPY\002\000t\000\000\000{'descr': '<f4', 'fortran_order': False, 'shape': (5,), }   "
        "                                                       \012\000\000\000\000\000\000\000\077"
        "\000\000\200\077\000\000\300\077\000\000\000@");
// 132 bytes
const std::string k_v3 = bytes(
        "\223NUMPY\003\000t\000\000\000{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1), } "
        "                                                       \012\000\000\340@");
// 132 bytes
const std::string k_scalar = bytes(
        "\223NUMPY\001\000v\000{'descr': '<f4', 'fortran_order': False, 'shape': (), }             "
        "                                                 \012\000\000`@");
// 131 bytes
const std::string k_u1 = bytes(
        "\223NUMPY\001\000v\000{'descr': '|u1', 'fortran_order': False, 'shape': (3,), }           "
        "                                                 \012\000\310\377");
// 136 bytes
const std::string k_i4 = bytes(
        "\223NUMPY\001\000v\000{'descr': '<i4', 'fortran_order': False, 'shape': (2,), }           "
        "                                                 \012\371\377\377\377\377\377\377\177");
// 128 bytes
const std::string k_empty = bytes(
        "\223NUMPY\001\000v\000{'descr': '<f4', 'fortran_order': False, 'shape': (0, 3), }         "
        "                                                 \012");

}  // namespace

TEST_CASE("npy: write then read gives the same shape and values") {
    Tensor t({2, 3, 4});
    for (int64_t i = 0; i < t.numel(); ++i) t[i] = static_cast<float>(i) * 0.37f - 3.0f;
    t[5] = std::numeric_limits<float>::infinity();
    t[6] = std::numeric_limits<float>::quiet_NaN();
    auto dir = std::filesystem::temp_directory_path();
    std::string path = (dir / ("relprop_test_npy_" + std::to_string(::getpid()) + ".npy")).string();
    write_npy(path, t);
    Tensor back = read_npy(path);
    std::filesystem::remove(path);
    CHECK(back.shape() == t.shape());
    for (int64_t i = 0; i < t.numel(); ++i) {
        if (i == 6) CHECK(std::isnan(back[i]));
        else CHECK(back[i] == t[i]);
    }
    CHECK(count_nonfinite(back) == 2);
    CHECK(count_nonfinite(t) == 2);

    // In-memory round trips of a scalar, a vector and an empty tensor.
    Tensor scalar(Shape{}, {2.5f});
    Tensor s = parse_npy(serialize_npy(scalar), "scalar");
    CHECK(s.shape().empty());
    CHECK(s.numel() == 1);
    CHECK(s[0] == 2.5f);
    Tensor v = parse_npy(serialize_npy(Tensor({3}, {1, 2, 3})), "vector");
    CHECK(v.shape() == Shape{3});
    CHECK(v.to_vector() == std::vector<float>{1, 2, 3});
    Tensor e = parse_npy(serialize_npy(Tensor({0, 5})), "empty");
    CHECK(e.shape() == Shape{0, 5});
    CHECK(e.numel() == 0);
}

TEST_CASE("npy: serialize_npy writes exactly what numpy writes") {
    CHECK(serialize_npy(Tensor({2, 3}, {0, 1, 2, 3, 4, 5})) == k_f4_2x3);
    CHECK(serialize_npy(Tensor(Shape{}, {3.5f})) == k_scalar);
    CHECK(serialize_npy(Tensor({0, 3})) == k_empty);
    // The data starts at a multiple of 64 bytes.
    for (Shape shape : {Shape{}, Shape{1}, Shape{123456789012, 0}, Shape{1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2}, Shape{17, 3}}) {
        std::string b = serialize_npy(Tensor(shape));
        CHECK((b.size() - static_cast<size_t>(shape_numel(shape)) * 4) % 64 == 0);
    }
}

TEST_CASE("npy: parse_npy reads the arrays numpy writes") {
    Tensor a = parse_npy(k_f4_2x3, "f4");
    CHECK(a.shape() == Shape{2, 3});
    CHECK(a.to_vector() == std::vector<float>{0, 1, 2, 3, 4, 5});

    Tensor f8 = parse_npy(k_f8, "f8");
    CHECK(f8.shape() == Shape{4});
    CHECK(f8[0] == 1.5f);
    CHECK(f8[1] == -2.25f);
    CHECK(f8[2] == static_cast<float>(1e-3));
    CHECK(std::isinf(f8[3]));  // inf stored in the file is kept: non-finite is the caller's call
    CHECK(count_nonfinite(f8) == 1);

    Tensor be = parse_npy(k_be_f4, "be");
    CHECK(be.shape() == Shape{2, 2});
    CHECK(be.to_vector() == std::vector<float>{1, -2, 3.5f, 4e10f});

    Tensor i8 = parse_npy(k_i8, "i8");
    CHECK(i8.to_vector() == std::vector<float>{-3, 0, 7, 1099511627776.0f});
    Tensor i4 = parse_npy(k_i4, "i4");
    CHECK(i4.to_vector() == std::vector<float>{-7, 2147483647.0f});
    Tensor u1 = parse_npy(k_u1, "u1");
    CHECK(u1.to_vector() == std::vector<float>{0, 200, 255});

    // Fortran order: data stored column-major, the tensor comes back in C order.
    Tensor f = parse_npy(k_fortran, "fortran");
    CHECK(f.shape() == Shape{2, 3, 4});
    for (int64_t i = 0; i < 24; ++i) CHECK(f[i] == static_cast<float>(i));

    Tensor v2 = parse_npy(k_v2, "v2");
    CHECK(v2.to_vector() == std::vector<float>{0, 0.5f, 1, 1.5f, 2});
    Tensor v3 = parse_npy(k_v3, "v3");
    CHECK(v3.shape() == Shape{1, 1});
    CHECK(v3[0] == 7.0f);

    Tensor s = parse_npy(k_scalar, "scalar");
    CHECK(s.rank() == 0);
    CHECK(s.numel() == 1);
    CHECK(s[0] == 3.5f);

    Tensor e = parse_npy(k_empty, "empty");
    CHECK(e.shape() == Shape{0, 3});

    // Keys in another order, double quotes, no trailing comma, a bool array, big-endian f8.
    Tensor k = parse_npy(npy_with("{\"shape\": (2,), 'fortran_order': False, 'descr': '|b1'}", bytes("\001\000")), "k");
    CHECK(k.to_vector() == std::vector<float>{1, 0});
    Tensor bf8 = parse_npy(npy_with("{'descr': '>f8', 'fortran_order': False, 'shape': (1,), }", bytes("\300\000\000\000\000\000\000\000")),
                           "bf8");
    CHECK(bf8[0] == -2.0f);
}

TEST_CASE("npy: float16 ('<f2', '>f2') converts exactly, subnormals, infinities and NaN included") {
    // 1, -2, 65504 (largest half), 2^-14 (smallest normal), 2^-24 (smallest subnormal), 3 * 2^-24,
    // -0, +inf, -inf, 1/3 rounded to half (0x3555 = 0.333251953125).
    const std::vector<uint16_t> halves = {0x3c00, 0xc000, 0x7bff, 0x0400, 0x0001, 0x0003, 0x8000, 0x7c00, 0xfc00, 0x3555};
    const std::vector<float> expect = {1.0f, -2.0f, 65504.0f, 0x1p-14f, 0x1p-24f, 3 * 0x1p-24f, -0.0f, INFINITY, -INFINITY,
                                       0.333251953125f};
    std::string little, big;
    for (uint16_t h : halves) {
        little += static_cast<char>(h & 0xff);
        little += static_cast<char>(h >> 8);
        big += static_cast<char>(h >> 8);
        big += static_cast<char>(h & 0xff);
    }
    const std::string shape = "'shape': (" + std::to_string(halves.size()) + ",), }";
    for (const auto& [descr, data] : {std::pair{"<f2", little}, std::pair{">f2", big}}) {
        INFO(descr);
        const Tensor t = parse_npy(npy_with(std::string("{'descr': '") + descr + "', 'fortran_order': False, " + shape, data), "h");
        REQUIRE(t.numel() == static_cast<int64_t>(expect.size()));
        for (size_t i = 0; i < expect.size(); ++i) CHECK(t[static_cast<int64_t>(i)] == expect[i]);
        CHECK(std::signbit(t[6]));
    }
    const Tensor nan = parse_npy(npy_with("{'descr': '<f2', 'fortran_order': False, 'shape': (), }", bytes("\000\176")), "n");
    CHECK(std::isnan(nan[0]));
    // Fortran order: (2, 3) stored column by column.
    std::string f;
    for (uint16_t h : {0x3c00, 0x4400, 0x4000, 0x4500, 0x4200, 0x4600})  // 1 4 2 5 3 6
        f += std::string{static_cast<char>(h & 0xff), static_cast<char>(h >> 8)};
    const Tensor fo = parse_npy(npy_with("{'descr': '<f2', 'fortran_order': True, 'shape': (2, 3), }", f), "f");
    CHECK(fo.to_vector() == std::vector<float>{1, 2, 3, 4, 5, 6});
}

TEST_CASE("npy: malformed input is refused with a message naming the file") {
    const std::string ok6 = zeros(24);
    struct Bad {
        std::string bytes;
        std::string message;
    };
    const std::vector<Bad> cases = {
        {"", "empty file"},
        {"\x93NUMPZ\x01\x00", "bad magic"},
        {"GIF89a", "bad magic"},
        {std::string("\x93NUMPY", 6), "truncated inside the .npy preamble"},
        {std::string("\x93NUMPY\x04\x00\x10\x00", 10), "unsupported .npy format version 4.0"},
        {std::string("\x93NUMPY\x01\x00\xff\x7f{}", 12), "header length 32767 runs past the end of the file"},
        {std::string("\x93NUMPY\x02\x00\xff\xff\xff\xff{}", 14), "header length 4294967295 runs past"},
        {npy_with("[1, 2, 3]", ""), "expected the header to be a Python dict literal starting with '{'"},
        {npy_with("{'descr': '<f4', 'fortran_order': False}", ""), "missing 'shape'"},
        {npy_with("{'descr': '<f4', 'shape': (1,)}", "xxxx"), "missing 'fortran_order'"},
        {npy_with("{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }", zeros(8)),
         "unsupported dtype '<c8' (complex)"},
        {npy_with("{'descr': '|O', 'fortran_order': False, 'shape': (1,), }", zeros(8)),
         "unsupported dtype '|O' (Python objects)"},
        {npy_with("{'descr': '<f16', 'fortran_order': False, 'shape': (1,), }", zeros(16)), "unsupported dtype '<f16'"},
        {npy_with("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }", zeros(4)),
         "structured dtypes are not supported"},
        {npy_with(f4_dict("(2, -3)"), ""), "negative dimension in 'shape'"},
        {npy_with(f4_dict("(4294967296, 4294967296, 4294967296)"), ""), "the count overflows"},
        {npy_with(f4_dict("(65536, 65536)"), zeros(8)), "more than the limit of 2147483648"},
        {npy_with(f4_dict("(2, 3)"), zeros(20)), " is truncated: expected 24 bytes of data, found 20"},
        {npy_with(f4_dict("(2, 3)"), ok6 + "x"), "has 1 trailing bytes after the data"},
        {npy_with("{'descr': '<f4', 'fortran_order': 0, 'shape': (6,), }", ok6),
         "expected True or False for 'fortran_order'"},
        {npy_with("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3", ok6),
         "unterminated tuple for 'shape'"},
        {npy_with(f4_dict("(2, x)"), ok6), "expected a non-negative integer in 'shape'"},
        {npy_with(f4_dict("(6)"), ok6), "a 1-d shape is written (6,)"},
        {npy_with(f4_dict("(1000000000,)"), zeros(8)), " is truncated: expected 4000000000 bytes of data, found 8"},
        {npy_with("{'descr': '<f4', 'fortran_order': False, 'shape': (6,), 'extra': 1}", ok6),
         "unknown key 'extra'"},
        {npy_with("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (6,)}", ok6),
         "has the key 'descr' twice"},
        {npy_with(f4_dict("(6,)") + " junk", ok6), "expected only spaces and a newline after the closing '}'"},
        {npy_with("{'descr' '<f4', 'fortran_order': False, 'shape': (6,)}", ok6), "expected ':' after the key 'descr'"},
        {npy_with("{'descr': '<f4', 'fortran_order': False, 'shape': (6,) 'x'}", ok6),
         "expected ',' or '}' after the value of 'shape'"},
        {npy_with("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,)}", ok6),
         "a dimension in 'shape' is too large"},
        {npy_with("{'descr': '<f8', 'fortran_order': False, 'shape': (1,)}", bytes("\000\000\000\000\000\000\340\177")),
         "does not fit in float32"},
        {npy_with("{'descr': 'a\\'b', 'fortran_order': False, 'shape': (6,)}", ok6), "escape sequences"},
    };
    for (const Bad& bad : cases) {
        CAPTURE(bad.message);
        CHECK_THROWS_WITH_AS(parse_npy(bad.bytes, "hostile.npy"), doctest::Contains(bad.message.c_str()), Error);
        CHECK_THROWS_WITH_AS(parse_npy(bad.bytes, "hostile.npy"), doctest::Contains("hostile.npy"), Error);
    }
    // The element limit is a parameter.
    CHECK_THROWS_WITH_AS(parse_npy(npy_with(f4_dict("(2, 3)"), ok6), "small.npy", 5),
                         doctest::Contains("small.npy: shape [2, 3] has 6 elements, more than the limit of 5"),
                         Error);
    CHECK(parse_npy(npy_with(f4_dict("(2, 3)"), ok6), "small.npy", 6).numel() == 6);
}

TEST_CASE("npy: file system errors name the path") {
    auto dir = std::filesystem::temp_directory_path();
    std::string missing = (dir / "relprop_no_such_dir_npy" / "x.npy").string();
    CHECK_THROWS_WITH_AS(read_npy(missing), doctest::Contains((missing + ": cannot open .npy file").c_str()), Error);
    CHECK_THROWS_WITH_AS(read_npy(dir.string()), doctest::Contains("is a directory"), Error);
    CHECK_THROWS_WITH_AS(write_npy(missing, Tensor({1})),
                         doctest::Contains((missing + ": cannot write .npy file: No such file or directory").c_str()), Error);
    CHECK_THROWS_WITH_AS(serialize_npy(Tensor()), doctest::Contains("undefined"), Error);
}
