// JSON text for the CLI's outputs: a string with escapes, a number (null when not finite).
// Every string comes out as valid UTF-8, whatever bytes it held: file names on Linux are bytes, not
// text. Each byte that is not part of a valid UTF-8 sequence (stray continuation bytes, overlong
// forms, surrogates, values above U+10FFFF, cut-off sequences) is written as U+FFFD; json_name adds
// the exact bytes in a second field, "<key>_hex", where that happened.
#pragma once

#include <string>
#include <string_view>

namespace relprop::cli {

// Whether `s` is valid UTF-8 (RFC 3629).
bool valid_utf8(std::string_view s);

// "..." with '"', '\\' and control characters escaped and invalid UTF-8 bytes replaced by U+FFFD.
std::string json_string(std::string_view s);

// `"key": "<s>"`, and where `s` is not valid UTF-8 also `, "key_hex": "<s's bytes as lowercase hex>"`
// (Python: bytes.fromhex(row["input_hex"])) — for names that come from the file system.
std::string json_name(const std::string& key, std::string_view s);

// %.9g, or null for NaN/Inf.
std::string json_number(double v);

}  // namespace relprop::cli
