// Relu: y = max(x, 0); its gradient passes where x > 0.
#pragma once

#include "layers/activation.h"

namespace relprop {

class Relu final : public Activation {
public:
    Relu() : Activation(OpType::Relu, {UnaryKind::Relu}) {}
};

}  // namespace relprop
