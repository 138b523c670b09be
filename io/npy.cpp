#include "relprop/npy.hpp"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <memory>
#include <string_view>
#include <type_traits>

#include <sys/stat.h>

#include "relprop/error.hpp"
#include "io/file_write.h"

namespace relprop {

namespace {

constexpr std::string_view kMagic("\x93NUMPY", 6);
constexpr size_t kMaxRank = 64;
constexpr size_t kArrayAlign = 64;          // numpy's ARRAY_ALIGN
constexpr size_t kGrowthAxisMaxDigits = 21;  // numpy's GROWTH_AXIS_MAX_DIGITS
// Doubles at or beyond FLT_MAX + half an ulp round to infinity in float32.
constexpr double kFloat32Overflow = 0x1.ffffffp+127;

[[noreturn]] void fail(const std::string& source, const std::string& what) {
    throw Error(source + ": " + what);
}

// How a byte of the header reads in a message: 'x', or byte 0x93, or "the end of the header".
std::string describe_char(std::string_view text, size_t pos) {
    if (pos >= text.size()) return "the end of the header";
    unsigned char c = static_cast<unsigned char>(text[pos]);
    if (c >= 0x20 && c < 0x7f) return std::string("'") + static_cast<char>(c) + "'";
    static const char* hex = "0123456789abcdef";
    return std::string("byte 0x") + hex[c >> 4] + hex[c & 15];
}

struct Dtype {
    char kind = 0;  // 'f', 'i', 'u' or 'b'
    int size = 0;   // bytes per element
    bool swap = false;  // stored in the other byte order than this machine's
};

struct Header {
    std::string descr;
    bool fortran_order = false;
    Shape shape;
};

// A strict parser for the one Python literal numpy writes:
//   {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
// Keys in any order, each exactly once, nothing else; no recursion, one pass over the text.
class HeaderParser {
public:
    HeaderParser(std::string_view text, const std::string& source) : m_text(text), m_source(source) {}

    Header parse() {
        Header header;
        bool seen_descr = false, seen_fortran = false, seen_shape = false;
        skip_ws();
        if (peek() != '{') expected("the header to be a Python dict literal starting with '{'");
        ++m_pos;
        for (;;) {
            skip_ws();
            if (peek() == '}') { ++m_pos; break; }
            if (peek() != '\'' && peek() != '"') expected("a quoted key or '}'");
            std::string key = parse_string("a key");
            skip_ws();
            if (peek() != ':') expected("':' after the key '" + key + "'");
            ++m_pos;
            skip_ws();
            if (key == "descr") {
                once(seen_descr, key);
                if (peek() == '[')
                    fail(m_source, "'descr' is a list: structured dtypes are not supported");
                if (peek() != '\'' && peek() != '"') expected("a quoted dtype string such as '<f4' for 'descr'");
                header.descr = parse_string("'descr'");
            } else if (key == "fortran_order") {
                once(seen_fortran, key);
                header.fortran_order = parse_bool();
            } else if (key == "shape") {
                once(seen_shape, key);
                header.shape = parse_shape();
            } else {
                fail(m_source, "unknown key '" + key + "' in the .npy header (expected 'descr', "
                               "'fortran_order' and 'shape')");
            }
            skip_ws();
            if (peek() == ',') { ++m_pos; continue; }
            if (peek() == '}') { ++m_pos; break; }
            expected("',' or '}' after the value of '" + key + "'");
        }
        skip_ws();
        if (m_pos != m_text.size()) expected("only spaces and a newline after the closing '}'");
        if (!seen_descr) fail(m_source, "the .npy header is missing 'descr'");
        if (!seen_fortran) fail(m_source, "the .npy header is missing 'fortran_order'");
        if (!seen_shape) fail(m_source, "the .npy header is missing 'shape'");
        return header;
    }

private:
    char peek() const { return m_pos < m_text.size() ? m_text[m_pos] : '\0'; }
    bool at_end() const { return m_pos >= m_text.size(); }

    void skip_ws() {
        while (!at_end() && (peek() == ' ' || peek() == '\t' || peek() == '\n' || peek() == '\r')) ++m_pos;
    }

    [[noreturn]] void expected(const std::string& what) const {
        fail(m_source, "malformed .npy header: expected " + what + " at header offset " +
                           std::to_string(m_pos) + ", found " + describe_char(m_text, m_pos));
    }

    void once(bool& seen, const std::string& key) const {
        if (seen) fail(m_source, "the .npy header has the key '" + key + "' twice");
        seen = true;
    }

    std::string parse_string(const std::string& what) {
        char quote = m_text[m_pos++];
        size_t start = m_pos;
        while (!at_end() && peek() != quote) {
            if (peek() == '\\') fail(m_source, "escape sequences in " + what + " are not supported");
            ++m_pos;
        }
        if (at_end()) fail(m_source, "malformed .npy header: unterminated string for " + what);
        std::string s(m_text.substr(start, m_pos - start));
        ++m_pos;
        return s;
    }

    bool parse_bool() {
        std::string_view rest = m_text.substr(m_pos);
        if (rest.starts_with("True")) { m_pos += 4; return true; }
        if (rest.starts_with("False")) { m_pos += 5; return false; }
        expected("True or False for 'fortran_order'");
    }

    int64_t parse_dim() {
        if (peek() == '-') fail(m_source, "negative dimension in 'shape'");
        if (at_end()) fail(m_source, "malformed .npy header: unterminated tuple for 'shape'");
        if (peek() < '0' || peek() > '9') expected("a non-negative integer in 'shape'");
        int64_t value = 0;
        while (peek() >= '0' && peek() <= '9') {
            int digit = peek() - '0';
            if (value > (std::numeric_limits<int64_t>::max() - digit) / 10)
                fail(m_source, "a dimension in 'shape' is too large");
            value = value * 10 + digit;
            ++m_pos;
        }
        if (peek() == 'L') ++m_pos;  // Python 2 long literal, as old numpy wrote it
        return value;
    }

    Shape parse_shape() {
        if (peek() != '(') expected("a tuple such as (2, 3) for 'shape'");
        ++m_pos;
        Shape shape;
        skip_ws();
        if (peek() == ')') { ++m_pos; return shape; }
        for (;;) {
            skip_ws();
            if (shape.size() == kMaxRank)
                fail(m_source, "'shape' has more than " + std::to_string(kMaxRank) + " dimensions");
            shape.push_back(parse_dim());
            skip_ws();
            if (at_end()) fail(m_source, "malformed .npy header: unterminated tuple for 'shape'");
            if (peek() == ',') {
                ++m_pos;
                skip_ws();
                if (at_end()) fail(m_source, "malformed .npy header: unterminated tuple for 'shape'");
                if (peek() == ')') { ++m_pos; return shape; }
                continue;
            }
            if (peek() == ')') {
                if (shape.size() == 1)
                    expected("',' before ')': a 1-d shape is written (" + std::to_string(shape[0]) + ",)");
                ++m_pos;
                return shape;
            }
            expected("',' or ')' in 'shape'");
        }
    }

    std::string_view m_text;
    size_t m_pos = 0;
    const std::string& m_source;
};

Dtype parse_dtype(const std::string& descr, const std::string& source) {
    auto unsupported = [&](const std::string& why) -> Dtype {
        fail(source, "unsupported dtype '" + descr + "'" + why +
                         ": expected a float ('<f2', '<f4', '<f8'), integer ('<i4', '<i8', '|u1', ...) or bool "
                         "('|b1') dtype, little or big endian");
    };
    if (descr.size() < 2) return unsupported("");
    char order = descr[0], kind = descr[1];
    if (kind == 'c') return unsupported(" (complex)");
    if (kind == 'O') return unsupported(" (Python objects)");
    if (kind == 'U' || kind == 'S' || kind == 'a') return unsupported(" (strings)");
    if (kind == 'M' || kind == 'm') return unsupported(" (dates and times)");
    if (kind == 'V') return unsupported(" (raw or structured records)");
    if (order != '<' && order != '>' && order != '|' && order != '=') return unsupported("");
    std::string_view size_text = std::string_view(descr).substr(2);
    int size = 0;
    if (size_text == "1") size = 1;
    else if (size_text == "2") size = 2;
    else if (size_text == "4") size = 4;
    else if (size_text == "8") size = 8;
    else return unsupported("");
    bool ok = (kind == 'f' && size != 1) || kind == 'i' || kind == 'u' || (kind == 'b' && size == 1);
    if (!ok) return unsupported(kind == 'f' ? " (only float16, float32 and float64 are read)" : "");
    if (order == '|' && size != 1) return unsupported(" ('|' is only for one-byte types)");
    bool little_host = std::endian::native == std::endian::little;
    Dtype dtype;
    dtype.kind = kind;
    dtype.size = size;
    dtype.swap = size > 1 && ((order == '<' && !little_host) || (order == '>' && little_host));
    return dtype;
}

template <typename T>
T load(const unsigned char* p, bool swap) {
    unsigned char b[sizeof(T)];
    std::memcpy(b, p, sizeof(T));
    if (swap) std::reverse(b, b + sizeof(T));
    T v;
    std::memcpy(&v, b, sizeof(T));
    return v;
}

// IEEE 754 binary16 (numpy's float16) to float32, exactly: every half value is a float32 value.
float half_to_float(uint16_t h) {
    const uint32_t sign = uint32_t(h & 0x8000u) << 16, exponent = (h >> 10) & 0x1fu, mantissa = h & 0x3ffu;
    uint32_t bits;
    if (exponent == 0x1f) {
        bits = sign | 0x7f800000u | (mantissa << 13);  // inf, NaN (payload kept)
    } else if (exponent != 0) {
        bits = sign | ((exponent + 112) << 23) | (mantissa << 13);  // normal: rebias 15 -> 127
    } else {
        // zero or subnormal: mantissa * 2^-24
        const float magnitude = static_cast<float>(mantissa) * 0x1p-24f;
        return sign ? -magnitude : magnitude;
    }
    float f;
    std::memcpy(&f, &bits, sizeof f);
    return f;
}

// Calls visit(c, s) for each element: c its index in C order, s its index in the stored order.
template <typename Visit>
void for_each_element(const Shape& shape, int64_t numel, bool fortran_order, Visit visit) {
    if (!fortran_order || shape.size() < 2) {
        for (int64_t i = 0; i < numel; ++i) visit(i, i);
        return;
    }
    if (numel == 0) return;
    // Walk in C order (last index fastest) and keep the Fortran-order offset in step.
    size_t rank = shape.size();
    std::vector<int64_t> stride(rank), index(rank, 0);
    stride[0] = 1;
    for (size_t k = 1; k < rank; ++k) stride[k] = stride[k - 1] * shape[k - 1];
    int64_t offset = 0;
    for (int64_t c = 0; c < numel; ++c) {
        visit(c, offset);
        for (size_t k = rank; k-- > 0;) {
            if (++index[k] < shape[k]) { offset += stride[k]; break; }
            offset -= (shape[k] - 1) * stride[k];
            index[k] = 0;
        }
    }
}

template <typename T>
void decode_as(const unsigned char* src, float* dst, const Header& h, int64_t numel, const Dtype& d,
               const std::string& source) {
    for_each_element(h.shape, numel, h.fortran_order, [&](int64_t c, int64_t s) {
        T v = load<T>(src + s * static_cast<int64_t>(sizeof(T)), d.swap);
        if constexpr (std::is_same_v<T, double>) {
            if (std::isfinite(v) && std::fabs(v) >= kFloat32Overflow) {
                char buf[64];
                std::snprintf(buf, sizeof buf, "%.17g", v);
                fail(source, std::string("float64 value ") + buf + " at element " + std::to_string(s) +
                                 " does not fit in float32");
            }
        }
        dst[c] = static_cast<float>(v);
    });
}

void decode(const unsigned char* src, float* dst, const Header& h, int64_t numel, const Dtype& d,
            const std::string& source) {
    switch (d.kind) {
        case 'f':
            if (d.size == 2) {
                for_each_element(h.shape, numel, h.fortran_order, [&](int64_t c, int64_t s) {
                    dst[c] = half_to_float(load<uint16_t>(src + s * 2, d.swap));
                });
                return;
            }
            if (d.size == 4) return decode_as<float>(src, dst, h, numel, d, source);
            return decode_as<double>(src, dst, h, numel, d, source);
        case 'i':
            if (d.size == 1) return decode_as<int8_t>(src, dst, h, numel, d, source);
            if (d.size == 2) return decode_as<int16_t>(src, dst, h, numel, d, source);
            if (d.size == 4) return decode_as<int32_t>(src, dst, h, numel, d, source);
            return decode_as<int64_t>(src, dst, h, numel, d, source);
        case 'u':
            if (d.size == 1) return decode_as<uint8_t>(src, dst, h, numel, d, source);
            if (d.size == 2) return decode_as<uint16_t>(src, dst, h, numel, d, source);
            if (d.size == 4) return decode_as<uint32_t>(src, dst, h, numel, d, source);
            return decode_as<uint64_t>(src, dst, h, numel, d, source);
        default:  // 'b': one byte, any non-zero value is true
            decode_as<uint8_t>(src, dst, h, numel, d, source);
            std::transform(dst, dst + numel, dst, [](float x) { return x != 0.0f ? 1.0f : 0.0f; });
            return;
    }
}

std::string shape_repr(const Shape& shape) {
    if (shape.empty()) return "()";
    std::string s = "(";
    for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
    return s + (shape.size() == 1 ? ",)" : ")");
}

}  // namespace

namespace {

constexpr uint64_t kMaxHeaderBytes = uint64_t{1} << 20;  // numpy itself refuses more than 10,000 by default

// Where the data of a .npy file lies and what it holds, from its first bytes (`head`: at least the
// preamble and header, or the whole file when it is shorter) and the file's size: everything is
// checked here, before anything of the declared size is allocated or read.
struct Layout {
    Header header;
    Dtype dtype;
    int64_t numel = 0;
    size_t data_offset = 0;
    uint64_t data_bytes = 0;
};

Layout parse_layout(std::string_view bytes, uint64_t size, const std::string& source, int64_t max_elements) {
    if (size == 0) fail(source, "empty file, not a .npy file (expected it to start with \\x93NUMPY)");
    const size_t magic = static_cast<size_t>(std::min<uint64_t>(size, kMagic.size()));
    if (bytes.size() < magic || bytes.compare(0, magic, kMagic.data(), magic) != 0)
        fail(source, "not a .npy file: bad magic (expected it to start with \\x93NUMPY)");
    if (size < kMagic.size() + 2)
        throw Error(source + " is truncated inside the .npy preamble (" + std::to_string(size) + " bytes)");
    const int major = static_cast<unsigned char>(bytes[6]), minor = static_cast<unsigned char>(bytes[7]);
    if ((major != 1 && major != 2 && major != 3) || minor != 0)
        fail(source, "unsupported .npy format version " + std::to_string(major) + "." + std::to_string(minor) +
                         " (expected 1.0, 2.0 or 3.0)");
    const size_t prefix = major == 1 ? 10 : 12;
    if (size < prefix)
        throw Error(source + " is truncated inside the .npy preamble (" + std::to_string(size) + " bytes)");
    uint64_t header_len = 0;
    for (size_t i = prefix; i-- > 8;) header_len = header_len * 256 + static_cast<unsigned char>(bytes[i]);
    if (header_len > size - prefix)
        fail(source, "header length " + std::to_string(header_len) + " runs past the end of the file (" +
                         std::to_string(size - prefix) + " bytes left after the preamble)");
    if (header_len > kMaxHeaderBytes)
        fail(source, "header length " + std::to_string(header_len) + " is more than the " +
                         std::to_string(kMaxHeaderBytes) + " bytes relprop reads");

    Layout l;
    std::string_view header_text = bytes.substr(prefix, header_len);
    l.header = HeaderParser(header_text, source).parse();
    l.dtype = parse_dtype(l.header.descr, source);

    int64_t numel = 1;
    for (int64_t d : l.header.shape) {
        if (d != 0 && numel > std::numeric_limits<int64_t>::max() / d)
            fail(source, "shape " + shape_str(l.header.shape) + " has too many elements (the count overflows)");
        numel *= d;
    }
    if (numel > max_elements)
        fail(source, "shape " + shape_str(l.header.shape) + " has " + std::to_string(numel) +
                         " elements, more than the limit of " + std::to_string(max_elements));
    if (numel > std::numeric_limits<int64_t>::max() / l.dtype.size)
        fail(source, "shape " + shape_str(l.header.shape) + " has too many bytes (the count overflows)");
    const uint64_t expected = static_cast<uint64_t>(numel) * static_cast<uint64_t>(l.dtype.size);
    l.data_offset = prefix + header_len;
    const uint64_t found = size - l.data_offset;
    if (found < expected)
        throw Error(source + " is truncated: expected " + std::to_string(expected) + " bytes of data, found " +
                    std::to_string(found));
    if (found > expected)
        fail(source, "has " + std::to_string(found - expected) + " trailing bytes after the data (expected " +
                         std::to_string(expected) + " bytes of data, found " + std::to_string(found) + ")");
    l.numel = numel;
    l.data_bytes = expected;
    return l;
}

}  // namespace

Tensor parse_npy(const std::string& bytes, const std::string& source, int64_t max_elements) {
    const Layout l = parse_layout(bytes, bytes.size(), source, max_elements);
    Tensor t(l.header.shape);
    decode(reinterpret_cast<const unsigned char*>(bytes.data()) + l.data_offset, t.data(), l.header, l.numel, l.dtype,
           source);
    return t;
}

Tensor read_npy(const std::string& path, int64_t max_elements) {
    namespace fs = std::filesystem;
    std::error_code ec;
    fs::file_status status = fs::status(path, ec);
    if (status.type() == fs::file_type::not_found)
        fail(path, "cannot open .npy file: no such file or directory");
    if (ec) fail(path, "cannot open .npy file: " + ec.message());
    if (status.type() == fs::file_type::directory) fail(path, "cannot read .npy file: it is a directory");
    if (status.type() != fs::file_type::regular) fail(path, "cannot read .npy file: not a regular file");

    std::unique_ptr<std::FILE, int (*)(std::FILE*)> f(std::fopen(path.c_str(), "rb"), std::fclose);
    if (!f) fail(path, std::string("cannot open .npy file: ") + std::strerror(errno));
    struct stat st {};
    if (fstat(fileno(f.get()), &st) != 0) fail(path, std::string("cannot read .npy file: ") + std::strerror(errno));
    const uint64_t size = static_cast<uint64_t>(st.st_size);
    // Read `n` more bytes (fewer only at the end of the file) onto `to`.
    auto read = [&](std::string& to, uint64_t n) {
        const size_t at = to.size();
        to.resize(at + n);
        const size_t got = std::fread(to.data() + at, 1, n, f.get());
        if (std::ferror(f.get())) fail(path, std::string("error reading .npy file: ") + std::strerror(errno));
        to.resize(at + got);
    };
    // The preamble and the header first: the declared shape is checked against the file's size before
    // the data is read (a sparse file of gigabytes with a bad header costs nothing).
    std::string head;
    read(head, std::min<uint64_t>(size, 12));
    if (head.size() >= 10 && head.compare(0, kMagic.size(), kMagic) == 0 && (head[6] >= 1 && head[6] <= 3)) {
        const size_t prefix = head[6] == 1 ? 10 : 12;
        uint64_t header_len = 0;
        for (size_t i = std::min(prefix, head.size()); i-- > 8;)
            header_len = header_len * 256 + static_cast<unsigned char>(head[i]);
        const uint64_t end = std::min<uint64_t>(size, prefix + std::min<uint64_t>(header_len, kMaxHeaderBytes));
        if (end > head.size()) read(head, end - head.size());
    }
    const Layout l = parse_layout(head, size, path, max_elements);
    std::string data = head.substr(std::min(l.data_offset, head.size()));
    read(data, l.data_bytes - data.size());
    if (data.size() != l.data_bytes)
        throw Error(path + " is truncated: expected " + std::to_string(l.data_bytes) + " bytes of data, read " +
                    std::to_string(data.size()) + " (did the file change while it was read?)");
    Tensor t(l.header.shape);
    decode(reinterpret_cast<const unsigned char*>(data.data()), t.data(), l.header, l.numel, l.dtype, path);
    return t;
}

std::string serialize_npy(const Tensor& t) {
    if (!t.defined()) throw Error("serialize_npy: the tensor is undefined");
    if (t.device() != Device::CPU)
        throw Error("serialize_npy needs a CPU tensor, got one on " + device_name(t.device()));
    std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': " + shape_repr(t.shape()) + ", }";
    if (!t.shape().empty()) {
        size_t digits = std::to_string(t.shape()[0]).size();
        if (digits < kGrowthAxisMaxDigits) dict.append(kGrowthAxisMaxDigits - digits, ' ');
    }
    // Pad with spaces and end with '\n' so the data starts at a multiple of 64 bytes; version 1.0 has a
    // 16-bit header length, 2.0 a 32-bit one (numpy picks 2.0 only when 1.0 cannot hold the header).
    size_t prefix = 10;
    size_t pad = kArrayAlign - (prefix + dict.size() + 1) % kArrayAlign;
    if (dict.size() + 1 + pad > 0xffff) {
        prefix = 12;
        pad = kArrayAlign - (prefix + dict.size() + 1) % kArrayAlign;
    }
    const uint64_t header_len = dict.size() + 1 + pad;
    std::string out(kMagic);
    out += static_cast<char>(prefix == 10 ? 1 : 2);
    out += '\0';
    for (size_t i = 0; i < prefix - 8; ++i) out += static_cast<char>((header_len >> (8 * i)) & 0xff);
    out += dict;
    out.append(pad, ' ');
    out += '\n';
    const size_t data_offset = out.size();
    out.resize(data_offset + static_cast<size_t>(t.numel()) * 4);
    std::memcpy(out.data() + data_offset, t.data(), static_cast<size_t>(t.numel()) * 4);
    if constexpr (std::endian::native == std::endian::big)
        for (size_t i = data_offset; i < out.size(); i += 4) std::reverse(out.begin() + i, out.begin() + i + 4);
    return out;
}

void write_npy(const std::string& path, const Tensor& t) {
    write_file_atomic(path, serialize_npy(t), ".npy file");
}

}  // namespace relprop
