/// @file
/// relprop::Error: the one exception type the library throws for bad input or misuse.
/// Messages name what the user can act on (node, op, shape, file).
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

namespace relprop {

/// `text` with every control character written as an escape, so that a name taken from a model or a
/// file (a node name, a tensor name, a path) cannot break a one-line message or send escape sequences
/// to a terminal: `\n`, `\r`, `\t`, other C0 controls and DEL as `\xNN` (ESC is `\x1b`), the C1 controls
/// U+0080–U+009F as `\u0080`…`\u009f`, and bytes that are not UTF-8 as `\xNN`. Everything else,
/// including valid UTF-8, is kept; a backslash stays a backslash (so escaping twice changes nothing).
std::string printable(std::string_view text);

/// Its message is always printable(): one line, no control characters.
class Error : public std::runtime_error {
public:
    explicit Error(const std::string& what) : std::runtime_error(printable(what)) {}
    explicit Error(const char* what) : Error(std::string(what)) {}
};

}  // namespace relprop
