// Norm (for add, avgpool, sums): R_in = x · Aᵀ(R / stab(z)) with the op's own (unmodified) parameters:
// each input gets relevance in proportion to its contribution.
#include "rules/basic_rule.h"
#include "rules/rules.h"

namespace relprop {

std::shared_ptr<const Rule> make_norm(RuleOptions o) {
    BasicRuleSpec spec;
    spec.description = "Norm()";
    spec.epsilon = o.stabilizer;
    spec.branches = {{InputMod::Identity, keep_params(false)}};
    return std::make_shared<BasicRule>(std::move(spec));
}

}  // namespace relprop
