// Gamma(γ), generalized to negative inputs: where the plain output z > 0 the relevance follows
// (x⁺, w+γw⁺ b+γb⁺)+(x⁻, w+γw⁻); where z < 0 it follows (x⁺, w+γw⁻ b+γb⁻)+(x⁻, w+γw⁺).
#include <cmath>

#include "rules/basic_rule.h"
#include "rules/rules.h"

namespace relprop {

std::shared_ptr<const Rule> make_gamma(float gamma, RuleOptions o) {
    const float inf = INFINITY;
    BasicRuleSpec spec;
    spec.description = "Gamma(gamma=" + format_number(gamma) + (o.zero_bias ? ", zero_bias" : "") + ")";
    spec.epsilon = o.stabilizer;
    spec.groups = {{1.0f, +1}, {1.0f, -1}};
    spec.branches = {{InputMod::Positive, gamma_params(gamma, 0.0f, inf, o.zero_bias), 1.0f, 0},
                     {InputMod::Negative, gamma_params(gamma, -inf, 0.0f, true), 1.0f, 0},
                     {InputMod::Positive, gamma_params(gamma, -inf, 0.0f, o.zero_bias), 1.0f, 1},
                     {InputMod::Negative, gamma_params(gamma, 0.0f, inf, true), 1.0f, 1}};
    return std::make_shared<BasicRule>(std::move(spec));
}

}  // namespace relprop
