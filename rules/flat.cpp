// Flat: input 1, every weight 1, no bias: relevance spread uniformly over each output's receptive field.
#include "rules/basic_rule.h"
#include "rules/rules.h"

namespace relprop {

std::shared_ptr<const Rule> make_flat(RuleOptions o) {
    BasicRuleSpec spec;
    spec.description = "Flat()";
    spec.epsilon = o.stabilizer;
    spec.branches = {{InputMod::Ones, ParamMod{[](float) { return 1.0f; }, true}}};
    return std::make_shared<BasicRule>(std::move(spec));
}

}  // namespace relprop
