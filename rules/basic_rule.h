// BasicRule: the generic LRP rule engine every LRP rule is configured from (zennit's BasicHook).
//
// For a linear-type op f(x; θ), K branches each run z_k = f(m_k(x); p_k(θ)). Branches belong to
// groups; a group's signal is s = w_g · mask_g(z) · R / stab_ε(Σ_k c_k z_k) (mask from the plain output
// z, for Gamma). The relevance at input i is Σ_k c_k · m_k(x_i) · (∂z_k/∂m_k(x_i))ᵀ s_group(k).
// A branch whose input and parameters are the unmodified ones reuses the recorded forward output.
#pragma once

#include <functional>
#include <optional>
#include <vector>

#include "rules/rule.h"

namespace relprop {

enum class InputMod {
    Identity,  // x
    Positive,  // x⁺ = max(x, 0)
    Negative,  // x⁻ = min(x, 0)
    Ones,      // 1
    Low,       // the rule's lower bound, per channel
    High,      // the rule's upper bound, per channel
};

// A parameter modifier: `fn` maps each weight (and bias) value; `drop_bias` removes the bias.
// `fn` empty means the parameters are unchanged.
struct ParamMod {
    std::function<float(float)> fn;
    bool drop_bias = false;
};

struct Branch {
    InputMod input = InputMod::Identity;
    ParamMod params;
    float coefficient = 1.0f;  // c_k, in the denominator and the reducer
    int group = 0;
};

struct BranchGroup {
    float weight = 1.0f;  // w_g (α, −β)
    int mask = 0;         // 0: none; +1: only where the plain output z > 0; −1: only where z < 0
};

struct BasicRuleSpec {
    std::string description;
    std::vector<Branch> branches;
    std::vector<BranchGroup> groups{BranchGroup{}};
    float epsilon = 1e-6f;
    // Per-channel bounds for InputMod::Low/High (one value = every channel).
    std::vector<float> low, high;
};

class BasicRule final : public Rule {
public:
    explicit BasicRule(BasicRuleSpec spec);
    std::string describe() const override { return m_spec.description; }
    std::unique_ptr<NodePropagator> prepare(const Op& op, Backend& backend) const override;

    const BasicRuleSpec& spec() const { return m_spec; }

private:
    BasicRuleSpec m_spec;
};

// A number as rule descriptions print it ("1e-06", "0.25").
std::string format_number(float value);

// The parameter modifiers rules are made of.
ParamMod keep_params(bool drop_bias = false);
ParamMod clamp_params(float lo, float hi, bool drop_bias);
ParamMod gamma_params(float gamma, float lo, float hi, bool drop_bias);

}  // namespace relprop
