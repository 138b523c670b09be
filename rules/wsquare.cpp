// WSquare: input 1, weights w² and bias b²: relevance in proportion to the squared weights.
#include "rules/basic_rule.h"
#include "rules/rules.h"

namespace relprop {

std::shared_ptr<const Rule> make_wsquare(RuleOptions o) {
    BasicRuleSpec spec;
    spec.description = std::string("WSquare(") + (o.zero_bias ? "zero_bias" : "") + ")";
    spec.epsilon = o.stabilizer;
    spec.branches = {{InputMod::Ones, ParamMod{[](float v) { return v * v; }, o.zero_bias}}};
    return std::make_shared<BasicRule>(std::move(spec));
}

}  // namespace relprop
