// AlphaBeta(α, β), α − β = 1, α, β ≥ 0: the positive part (x⁺,w⁺ b⁺)+(x⁻,w⁻) weighted by α and the
// negative part (x⁺,w⁻ b⁻)+(x⁻,w⁺) weighted by −β, each normalized by its own sum.
#include <cmath>

#include "relprop/error.hpp"
#include "rules/basic_rule.h"
#include "rules/rules.h"

namespace relprop {

std::shared_ptr<const Rule> make_alpha_beta(float alpha, float beta, RuleOptions o) {
    if (!(alpha >= 0.0f) || !(beta >= 0.0f))
        throw Error("AlphaBeta: alpha and beta must both be >= 0 (got alpha=" + format_number(alpha) +
                    ", beta=" + format_number(beta) + ")");
    if (alpha - beta != 1.0f)
        throw Error("AlphaBeta: alpha - beta must equal 1 (got alpha=" + format_number(alpha) +
                    ", beta=" + format_number(beta) + ")");
    const float inf = INFINITY;
    BasicRuleSpec spec;
    spec.description = "AlphaBeta(alpha=" + format_number(alpha) + ", beta=" + format_number(beta) +
                       (o.zero_bias ? ", zero_bias" : "") + ")";
    spec.epsilon = o.stabilizer;
    spec.groups = {{alpha, 0}, {-beta, 0}};
    spec.branches = {{InputMod::Positive, clamp_params(0.0f, inf, o.zero_bias), 1.0f, 0},
                     {InputMod::Negative, clamp_params(-inf, 0.0f, true), 1.0f, 0},
                     {InputMod::Positive, clamp_params(-inf, 0.0f, o.zero_bias), 1.0f, 1},
                     {InputMod::Negative, clamp_params(0.0f, inf, true), 1.0f, 1}};
    return std::make_shared<BasicRule>(std::move(spec));
}

}  // namespace relprop
