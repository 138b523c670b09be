#include "rules/basic_rule.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <mutex>

#include "relprop/error.hpp"

namespace relprop {

namespace {

bool constant_input(InputMod mod) {
    return mod == InputMod::Ones || mod == InputMod::Low || mod == InputMod::High;
}

Tensor on_device(Backend& backend, const Tensor& t) {
    return t.device() == backend.device() ? t : backend.upload(t);
}

// Modified parameters on the backend's device (weight and bias only; linear-type ops have no others).
Params modify(const Params& params, const ParamMod& mod, Backend& backend) {
    Params out;
    for (const auto& [name, value] : params) {
        if (name == "bias" && mod.drop_bias) continue;
        if (!mod.fn) {
            // Unmodified: the op's own tensor. A device backend keeps one resident copy of a host
            // parameter (engine/cuda: ResidentParams), shared with the forward pass, instead of an upload
            // per branch and plan (VGG-16's dense layers: ~500 MB each).
            out[name] = value;
            continue;
        }
        Tensor host = value.device() == Device::CPU ? value.clone() : backend.download(value);
        for (int64_t i = 0; i < host.numel(); ++i) host[i] = mod.fn(host[i]);
        out[name] = on_device(backend, host);
    }
    return out;
}

// A tensor shaped like `shape` holding values[c] at channel c (axis 1), or values[0] everywhere.
Tensor per_channel(const std::vector<float>& values, const Shape& shape, const char* what) {
    const int64_t channels = shape.size() > 1 ? shape[1] : 1;
    if (values.size() != 1 && static_cast<int64_t>(values.size()) != channels)
        throw Error(std::string("ZBox ") + what + " bound has " + std::to_string(values.size()) +
                    " values, but the layer input " + shape_str(shape) + " has " + std::to_string(channels) +
                    " channels (give 1 or " + std::to_string(channels) + ")");
    Tensor t(shape);
    const int64_t inner = t.numel() / std::max<int64_t>(shape[0] * channels, 1);
    for (int64_t i = 0; i < t.numel(); ++i) t[i] = values.size() == 1 ? values[0] : values[(i / inner) % channels];
    return t;
}

class BasicPropagator final : public NodePropagator {
public:
    BasicPropagator(const BasicRuleSpec& spec, const LinearOp& op, Backend& backend) : m_spec(spec), m_op(op) {
        const bool has_bias = op.params().count("bias") > 0;
        for (const Branch& b : spec.branches) {
            m_uses_sign_split = m_uses_sign_split || b.input == InputMod::Positive || b.input == InputMod::Negative;
            m_params.push_back(modify(op.params(), b.params, backend));
            m_reuse_output.push_back(b.input == InputMod::Identity && !b.params.fn && (!b.params.drop_bias || !has_bias));
        }
    }

    std::vector<Tensor> propagate(Backend& backend, const std::vector<Tensor>& inputs, const Tensor& output,
                                  const Tensor& relevance) const override {
        const size_t n_in = inputs.size(), n_br = m_spec.branches.size();
        std::vector<Shape> shapes;
        for (const Tensor& x : inputs) shapes.push_back(x.shape());

        // A branch whose modified input is exactly zero (x⁻ after a ReLU, x⁺ of a non-positive input)
        // has z_k = 0 and contributes nothing: skip it.
        bool no_positive = true, no_negative = true;
        if (m_uses_sign_split) {
            for (const Tensor& x : inputs) {
                const auto [lo, hi] = backend.min_max(x);
                no_positive = no_positive && !(hi > 0.0f);
                no_negative = no_negative && !(lo < 0.0f);
            }
        }
        std::vector<bool> skip(n_br, false);
        for (size_t k = 0; k < n_br; ++k) {
            const InputMod mod = m_spec.branches[k].input;
            skip[k] = m_uses_sign_split && ((mod == InputMod::Positive && no_positive) ||
                                            (mod == InputMod::Negative && no_negative));
        }

        // Modified inputs, made once per kind of modifier.
        std::vector<std::vector<Tensor>> modified(6);
        auto modified_inputs = [&](InputMod mod) -> const std::vector<Tensor>& {
            std::vector<Tensor>& m = modified[static_cast<int>(mod)];
            if (!m.empty()) return m;
            for (const Tensor& x : inputs) {
                switch (mod) {
                    case InputMod::Identity: m.push_back(x); break;
                    case InputMod::Positive:
                    case InputMod::Negative: {
                        const bool pos = mod == InputMod::Positive;
                        if ((pos && no_negative) || (!pos && no_positive)) {  // x⁺ = x (or x⁻ = x): no copy
                            m.push_back(x);
                            break;
                        }
                        Tensor y = backend.empty(x.shape());
                        backend.clamp(x, pos ? 0.0f : -INFINITY, pos ? INFINITY : 0.0f, y);
                        m.push_back(y);
                        break;
                    }
                    case InputMod::Ones: {
                        Tensor y = backend.empty(x.shape());
                        backend.fill(y, 1.0f);
                        m.push_back(y);
                        break;
                    }
                    case InputMod::Low:
                    case InputMod::High: {
                        const bool low = mod == InputMod::Low;
                        m.push_back(cached(m_bounds, {low, x.shape()}, [&] {
                            return on_device(backend,
                                             per_channel(low ? m_spec.low : m_spec.high, x.shape(), low ? "low" : "high"));
                        }));
                        break;
                    }
                }
            }
            return m;
        };

        // Branch outputs z_k; the unmodified branch reuses the recorded forward.
        std::vector<Tensor> z(n_br);
        for (size_t k = 0; k < n_br; ++k) {
            if (skip[k]) continue;
            const Branch& b = m_spec.branches[k];
            if (m_reuse_output[k]) {
                z[k] = output;
            } else if (constant_input(b.input)) {  // Flat, WSquare, ZBox's bounds: depends on the shape only
                z[k] = cached(m_constant_z, {k, shapes},
                              [&] { return m_op.forward_with(backend, modified_inputs(b.input), m_params[k]); });
            } else {
                z[k] = m_op.forward_with(backend, modified_inputs(b.input), m_params[k]);
            }
        }

        // Group signals s_g = mask · R / stab(Σ c_k z_k).
        std::vector<Tensor> signal(m_spec.groups.size());
        for (size_t g = 0; g < m_spec.groups.size(); ++g) {
            Tensor den;  // aliases a branch output until something is added to it
            bool owned = false;
            for (size_t k = 0; k < n_br; ++k) {
                const Branch& b = m_spec.branches[k];
                if (b.group != static_cast<int>(g) || skip[k]) continue;
                if (!den.defined() && b.coefficient == 1.0f) {
                    den = z[k];
                    continue;
                }
                if (!owned) {
                    Tensor sum = backend.empty(output.shape());
                    if (den.defined() && b.coefficient == 1.0f) {  // z₁ + z₂ in one pass
                        backend.add(den, z[k], sum);
                        den = sum;
                        owned = true;
                        continue;
                    }
                    if (den.defined()) backend.copy(den, sum);
                    else backend.fill(sum, 0.0f);
                    den = sum;
                    owned = true;
                }
                backend.multiply_accumulate(z[k], nullptr, b.coefficient, den);
            }
            if (!den.defined()) continue;  // every branch of the group is zero: no relevance flows through it
            Tensor s = backend.empty(output.shape());
            backend.stabilized_divide(relevance, den, m_spec.epsilon, s);
            if (m_spec.groups[g].mask != 0) backend.sign_mask(output, m_spec.groups[g].mask, s, s);
            signal[g] = s;
        }

        // Reducer: R_in[i] = Σ_k c_k · w_g · m_k(x_i) · g_k[i]. The first term with c = 1 is written, not added
        // to zeros (the same numbers: 0 + a·b = a·b); the others accumulate.
        std::vector<Tensor> result(n_in);
        for (size_t k = 0; k < n_br; ++k) {
            if (skip[k]) continue;
            const Branch& b = m_spec.branches[k];
            const float c = b.coefficient * m_spec.groups[b.group].weight;
            std::vector<Tensor> g = m_op.transpose_with(backend, shapes, m_params[k], signal[b.group]);
            for (size_t i = 0; i < n_in; ++i) {
                const Tensor* x = b.input == InputMod::Ones ? nullptr : &modified_inputs(b.input)[i];
                if (!result[i].defined() && c == 1.0f) {
                    result[i] = backend.empty(shapes[i]);
                    if (x) backend.mul(g[i], *x, result[i]);
                    else backend.copy(g[i], result[i]);
                    continue;
                }
                if (!result[i].defined()) result[i] = backend.zeros(shapes[i]);
                backend.multiply_accumulate(g[i], x, c, result[i]);
            }
        }
        for (size_t i = 0; i < n_in; ++i)
            if (!result[i].defined()) result[i] = backend.zeros(shapes[i]);  // every branch skipped
        return result;
    }

private:
    const BasicRuleSpec& m_spec;
    const LinearOp& m_op;
    std::vector<Params> m_params;        // per branch, on the backend's device
    std::vector<bool> m_reuse_output;    // per branch: z_k is the recorded forward output
    bool m_uses_sign_split = false;      // some branch takes x⁺ or x⁻
    // The entry of `cache` at `key`, made by `make` (outside the lock) the first time.
    template <class Key, class Make>
    Tensor cached(std::map<Key, Tensor>& cache, const Key& key, Make make) const {
        {
            std::lock_guard<std::mutex> lock(m_cache_mutex);
            auto it = cache.find(key);
            if (it != cache.end()) return it->second;
        }
        Tensor t = make();
        std::lock_guard<std::mutex> lock(m_cache_mutex);
        return cache.emplace(key, t).first->second;
    }

    // Made once per input shape: branch outputs of constant inputs, and the ZBox bounds as tensors.
    mutable std::mutex m_cache_mutex;
    mutable std::map<std::pair<size_t, std::vector<Shape>>, Tensor> m_constant_z;
    mutable std::map<std::pair<bool, Shape>, Tensor> m_bounds;
};

}  // namespace

BasicRule::BasicRule(BasicRuleSpec spec) : m_spec(std::move(spec)) {
    if (m_spec.branches.empty()) throw Error(m_spec.description + ": a rule needs at least one branch");
    for (const Branch& b : m_spec.branches)
        if (b.group < 0 || b.group >= static_cast<int>(m_spec.groups.size()))
            throw Error(m_spec.description + ": branch group out of range");
    if (!(m_spec.epsilon >= 0.0f)) throw Error(m_spec.description + ": the stabilizer epsilon must be >= 0");
}

std::unique_ptr<NodePropagator> BasicRule::prepare(const Op& op, Backend& backend) const {
    const LinearOp* linear = op.as_linear();
    if (!linear)
        throw Error("rule " + m_spec.description + " applies only to linear-type ops (Conv, Linear, AvgPool, "
                    "GlobalAvgPool, Add), not to " + op_name(op.type()));
    return std::make_unique<BasicPropagator>(m_spec, *linear, backend);
}

std::string format_number(float value) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", static_cast<double>(value));
    return buf;
}

ParamMod keep_params(bool drop_bias) {
    return {{}, drop_bias};
}

ParamMod clamp_params(float lo, float hi, bool drop_bias) {
    return {[lo, hi](float v) { return std::min(std::max(v, lo), hi); }, drop_bias};
}

ParamMod gamma_params(float gamma, float lo, float hi, bool drop_bias) {
    return {[gamma, lo, hi](float v) { return v + gamma * std::min(std::max(v, lo), hi); }, drop_bias};
}

}  // namespace relprop
