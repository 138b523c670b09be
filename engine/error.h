/// @file
/// relprop::Error: the one exception type the library throws for bad input or misuse.
/// Messages name what the user can act on (node, op, shape, file).
#pragma once

#include <stdexcept>
#include <string>

namespace relprop {

class Error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

}  // namespace relprop
