#include "tools/cli/json.h"

#include <cmath>
#include <cstdio>

namespace relprop::cli {

namespace {

// The length of the valid UTF-8 sequence that starts at s[i], or 0 if there is none.
size_t utf8_sequence(std::string_view s, size_t i) {
    const auto byte = [&](size_t k) { return i + k < s.size() ? static_cast<unsigned char>(s[i + k]) : 0u; };
    const auto cont = [&](size_t k, unsigned lo = 0x80, unsigned hi = 0xbf) { return byte(k) >= lo && byte(k) <= hi; };
    const unsigned c = byte(0);
    if (c < 0x80) return 1;
    if (c >= 0xc2 && c <= 0xdf) return cont(1) ? 2 : 0;
    if (c >= 0xe0 && c <= 0xef) {
        const bool second = c == 0xe0 ? cont(1, 0xa0) : c == 0xed ? cont(1, 0x80, 0x9f) : cont(1);  // no overlongs, surrogates
        return second && cont(2) ? 3 : 0;
    }
    if (c >= 0xf0 && c <= 0xf4) {
        const bool second = c == 0xf0 ? cont(1, 0x90) : c == 0xf4 ? cont(1, 0x80, 0x8f) : cont(1);  // ≤ U+10FFFF
        return second && cont(2) && cont(3) ? 4 : 0;
    }
    return 0;
}

}  // namespace

bool valid_utf8(std::string_view s) {
    for (size_t i = 0; i < s.size();) {
        const size_t n = utf8_sequence(s, i);
        if (n == 0) return false;
        i += n;
    }
    return true;
}

std::string json_string(std::string_view s) {
    std::string out = "\"";
    for (size_t i = 0; i < s.size();) {
        const size_t n = utf8_sequence(s, i);
        const unsigned char c = static_cast<unsigned char>(s[i]);
        if (n == 0) {
            out += "\xef\xbf\xbd";  // U+FFFD
            i += 1;
            continue;
        }
        if (c == '"' || c == '\\') {
            out += '\\';
            out += static_cast<char>(c);
        } else if (c < 0x20) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", c);
            out += buf;
        } else {
            out.append(s.substr(i, n));
        }
        i += n;
    }
    return out + "\"";
}

std::string json_name(const std::string& key, std::string_view s) {
    std::string out = json_string(key) + ": " + json_string(s);
    if (valid_utf8(s)) return out;
    static const char* digits = "0123456789abcdef";
    std::string hex;
    for (unsigned char c : s) {
        hex += digits[c >> 4];
        hex += digits[c & 15];
    }
    return out + ", " + json_string(key + "_hex") + ": \"" + hex + "\"";
}

std::string json_number(double v) {
    if (!std::isfinite(v)) return "null";
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.9g", v);
    return buf;
}

}  // namespace relprop::cli
