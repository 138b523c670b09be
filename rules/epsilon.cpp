// Epsilon (LRP-ε; ε = 0 is LRP-0): R_in = x · Aᵀ(R / stab_ε(z)), z the plain forward.
#include "rules/basic_rule.h"
#include "rules/rules.h"

namespace relprop {

std::shared_ptr<const Rule> make_epsilon(float epsilon, bool zero_bias) {
    BasicRuleSpec spec;
    spec.description = "Epsilon(epsilon=" + format_number(epsilon) + (zero_bias ? ", zero_bias" : "") + ")";
    spec.epsilon = epsilon;
    spec.branches = {{InputMod::Identity, keep_params(zero_bias)}};
    return std::make_shared<BasicRule>(std::move(spec));
}

}  // namespace relprop
