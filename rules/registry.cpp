// parse_rule: rule specifications by name ("epsilon:0.25", "alpha-beta:2,1", "zbox:-1/-2/-1,1/2/1").
#include <algorithm>
#include <cctype>
#include <cmath>
#include <functional>
#include <sstream>

#include "relprop/error.hpp"
#include "rules/rules.h"

namespace relprop {

namespace {

struct Args {
    std::vector<std::vector<float>> positional;  // each a value or a '/'-separated list
    std::vector<std::string> words;              // arguments that are not numbers (select:skip)
    RuleOptions options;
    bool stabilizer_given = false;
};

struct RuleEntry {
    const char* name;
    const char* usage;
    size_t max_positional;
    std::function<std::shared_ptr<const Rule>(const Args&)> make;
};

float scalar(const Args& a, size_t i, float fallback, const char* rule) {
    if (i >= a.positional.size()) return fallback;
    if (a.positional[i].size() != 1) throw Error(std::string("rule ") + rule + ": argument " + std::to_string(i + 1) + " must be one number");
    return a.positional[i][0];
}

const std::vector<RuleEntry>& entries() {
    static const std::vector<RuleEntry> table = {
        {"epsilon", "epsilon[:EPSILON]  (default 1e-6)", 1,
         [](const Args& a) {
             return make_epsilon(scalar(a, 0, a.stabilizer_given ? a.options.stabilizer : 1e-6f, "epsilon"),
                                 a.options.zero_bias);
         }},
        {"zplus", "zplus", 0, [](const Args& a) { return make_zplus(a.options); }},
        {"alpha-beta", "alpha-beta[:ALPHA,BETA]  (default 2,1)", 2,
         [](const Args& a) {
             return make_alpha_beta(scalar(a, 0, 2.0f, "alpha-beta"), scalar(a, 1, 1.0f, "alpha-beta"), a.options);
         }},
        {"gamma", "gamma[:GAMMA]  (default 0.25)", 1,
         [](const Args& a) { return make_gamma(scalar(a, 0, 0.25f, "gamma"), a.options); }},
        {"zbox", "zbox:LOW,HIGH  (each one number or per-channel values a/b/c)", 2,
         [](const Args& a) {
             if (a.positional.size() != 2) throw Error("rule zbox needs two arguments: zbox:LOW,HIGH");
             return make_zbox(a.positional[0], a.positional[1], a.options);
         }},
        {"flat", "flat", 0, [](const Args& a) { return make_flat(a.options); }},
        {"wsquare", "wsquare", 0, [](const Args& a) { return make_wsquare(a.options); }},
        {"norm", "norm", 0, [](const Args& a) { return make_norm(a.options); }},
        {"pass", "pass", 0, [](const Args&) { return make_pass(); }},
        {"gradient", "gradient", 0, [](const Args&) { return make_gradient(); }},
        {"mul-signal", "mul-signal  (Mul nodes: all relevance to the signal, the larger factor; the gate gets none)", 0,
         [](const Args&) { return make_mul_signal(); }},
        {"mul-uniform", "mul-uniform  (Mul nodes: half of the relevance to each factor, AttnLRP)", 0,
         [](const Args&) { return make_mul_uniform(); }},
        {"layernorm-identity", "layernorm-identity[:EPSILON]  (LayerNormalization nodes; default 1e-6)", 1,
         [](const Args& a) {
             return make_layernorm_identity(
                 scalar(a, 0, a.stabilizer_given ? a.options.stabilizer : 1e-6f, "layernorm-identity"));
         }},
        {"select", "select:skip|residual|0|1  (Add nodes: all relevance to one input)", 0,
         [](const Args& a) {
             if (a.words.size() != 1) throw Error("rule select needs one argument: select:skip, select:residual, select:0 or select:1");
             return make_select(a.words[0]);
         }},
    };
    return table;
}

std::string canonical(std::string name) {
    std::string out;
    for (char c : name) {
        if (c == '_') c = '-';
        out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    if (out == "alphabeta") return "alpha-beta";
    if (out == "z-plus") return "zplus";
    if (out == "w-square") return "wsquare";
    if (out == "z-box") return "zbox";
    return out;
}

float number(const std::string& text, const std::string& spec) {
    try {
        size_t used = 0;
        float v = std::stof(text, &used);
        if (used == text.size() && std::isfinite(v)) return v;
    } catch (const std::exception&) {
    }
    throw Error("rule '" + spec + "': '" + text + "' is not a number");
}

}  // namespace

std::vector<std::string> rule_names() {
    std::vector<std::string> names;
    for (const RuleEntry& e : entries()) names.push_back(e.name);
    return names;
}

bool is_rule_name(const std::string& name) {
    const std::string c = canonical(name);
    return std::any_of(entries().begin(), entries().end(), [&](const RuleEntry& e) { return c == e.name; });
}

std::shared_ptr<const Rule> parse_rule(const std::string& spec) {
    const size_t colon = spec.find(':');
    const std::string name = canonical(spec.substr(0, colon));
    auto it = std::find_if(entries().begin(), entries().end(), [&](const RuleEntry& e) { return name == e.name; });
    if (it == entries().end()) {
        std::string known;
        for (const RuleEntry& e : entries()) known += std::string(known.empty() ? "" : ", ") + e.name;
        throw Error("rule '" + spec.substr(0, colon) + "' not found; known rules: " + known);
    }
    Args args;
    if (colon != std::string::npos) {
        std::istringstream in(spec.substr(colon + 1));
        for (std::string part; std::getline(in, part, ',');) {
            if (part == "zero_bias" || part == "zero-bias") {
                args.options.zero_bias = true;
            } else if (part.rfind("stabilizer=", 0) == 0) {
                args.options.stabilizer = number(part.substr(11), spec);
                args.stabilizer_given = true;
            } else if (name == "select") {
                args.words.push_back(part);
            } else {
                std::vector<float> values;
                std::istringstream list(part);
                for (std::string v; std::getline(list, v, '/');) values.push_back(number(v, spec));
                if (values.empty()) throw Error("rule '" + spec + "': empty argument");
                args.positional.push_back(values);
            }
        }
    }
    if (args.positional.size() > it->max_positional)
        throw Error("rule '" + spec + "': too many arguments; usage: " + it->usage);
    return it->make(args);
}

}  // namespace relprop
