// ZBox(l, h): branches (x, θ), (l, w⁺ b⁺), (h, w⁻ b⁻); s = R / stab(z₁ − z₂ − z₃) (the bias cancels);
// R_in = x g₁ − l g₂ − h g₃. l and h are per input channel; zero padding stays zero.
#include <cmath>
#include <sstream>

#include "relprop/error.hpp"
#include "rules/basic_rule.h"
#include "rules/rules.h"

namespace relprop {

namespace {
std::string list(const std::vector<float>& v) {
    std::ostringstream s;
    for (size_t i = 0; i < v.size(); ++i) s << (i ? "/" : "") << format_number(v[i]);
    return s.str();
}
}  // namespace

std::shared_ptr<const Rule> make_zbox(std::vector<float> low, std::vector<float> high, RuleOptions o) {
    if (low.empty() || high.empty()) throw Error("ZBox needs low and high bounds");
    const float inf = INFINITY;
    BasicRuleSpec spec;
    spec.description = "ZBox(low=" + list(low) + ", high=" + list(high) + (o.zero_bias ? ", zero_bias" : "") + ")";
    spec.epsilon = o.stabilizer;
    spec.low = std::move(low);
    spec.high = std::move(high);
    spec.branches = {{InputMod::Identity, keep_params(o.zero_bias), 1.0f, 0},
                     {InputMod::Low, clamp_params(0.0f, inf, o.zero_bias), -1.0f, 0},
                     {InputMod::High, clamp_params(-inf, 0.0f, o.zero_bias), -1.0f, 0}};
    return std::make_shared<BasicRule>(std::move(spec));
}

}  // namespace relprop
