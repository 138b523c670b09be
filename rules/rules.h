// The LRP rules relprop ships, one factory per rule (each defined in its own file), and the
// parser for rule specifications such as "epsilon:0.25" or "alpha-beta:2,1,zero_bias".
//
// Every LRP rule takes the stabilizer ε (default 1e-6; for Epsilon it is the rule's ε) and
// zero_bias (zennit's zero_params=['bias']): drop the bias from every branch.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "rules/rule.h"

namespace relprop {

struct RuleOptions {
    float stabilizer = 1e-6f;
    bool zero_bias = false;
};

std::shared_ptr<const Rule> make_epsilon(float epsilon = 1e-6f, bool zero_bias = false);
std::shared_ptr<const Rule> make_zplus(RuleOptions options = {});
// Throws relprop::Error unless α ≥ 0, β ≥ 0 and α − β = 1.
std::shared_ptr<const Rule> make_alpha_beta(float alpha = 2.0f, float beta = 1.0f, RuleOptions options = {});
std::shared_ptr<const Rule> make_gamma(float gamma = 0.25f, RuleOptions options = {});
// low/high: one value, or one per input channel.
std::shared_ptr<const Rule> make_zbox(std::vector<float> low, std::vector<float> high, RuleOptions options = {});
std::shared_ptr<const Rule> make_flat(RuleOptions options = {});
std::shared_ptr<const Rule> make_wsquare(RuleOptions options = {});
std::shared_ptr<const Rule> make_norm(RuleOptions options = {});
std::shared_ptr<const Rule> make_pass();
// For Add nodes: all relevance to one input: "0", "1", "skip" (the shortcut, produced earlier) or
// "residual" (the branch, produced later).
std::shared_ptr<const Rule> make_select(const std::string& which);
std::shared_ptr<const Rule> make_gradient();
// For Mul nodes (opt-in; the default is the gradient, as in zennit): all relevance to the signal, the gate as a
// constant (rules/mul_signal.cpp), or half to each factor (AttnLRP's uniform rule, rules/mul_uniform.cpp).
std::shared_ptr<const Rule> make_mul_signal();
std::shared_ptr<const Rule> make_mul_uniform();
// For LayerNormalization nodes: the normalization factor held constant, then LRP-ε through the linear map
// (rules/layernorm_identity.cpp; Ali et al. 2022, AttnLRP).
std::shared_ptr<const Rule> make_layernorm_identity(float epsilon = 1e-6f);

// "NAME[:ARG,...]" with NAME one of rule_names() and ARGs positional numbers (a list of per-channel
// values separated by '/'), "stabilizer=X" or "zero_bias". Throws relprop::Error listing the names.
std::shared_ptr<const Rule> parse_rule(const std::string& spec);
std::vector<std::string> rule_names();
// Whether `name` names a rule (aliases such as alpha_beta or AlphaBeta included).
bool is_rule_name(const std::string& name);

}  // namespace relprop
