// ZPlus (α=1, β=0 with negative inputs allowed): branches (x⁺, w⁺ b⁺) and (x⁻, w⁻, no bias);
// s = R / stab(z₁ + z₂); R_in = x⁺g₁ + x⁻g₂.
#include <cmath>

#include "rules/basic_rule.h"
#include "rules/rules.h"

namespace relprop {

std::shared_ptr<const Rule> make_zplus(RuleOptions o) {
    BasicRuleSpec spec;
    spec.description = std::string("ZPlus(") + (o.zero_bias ? "zero_bias" : "") + ")";
    spec.epsilon = o.stabilizer;
    spec.branches = {{InputMod::Positive, clamp_params(0.0f, INFINITY, o.zero_bias)},
                     {InputMod::Negative, clamp_params(-INFINITY, 0.0f, true)}};
    return std::make_shared<BasicRule>(std::move(spec));
}

}  // namespace relprop
