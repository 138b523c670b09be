/// @file
/// The generic elementwise kernels' functions, shared by the CPU loops and the CUDA kernels (so both
/// backends compute the same float expression): a unary function y = f(x; α, β) with its derivative,
/// and the binary operations of the broadcasting kernel. A new activation is one enum entry here and
/// one case in each of unary_forward / unary_derivative — no new Backend virtual.
#pragma once

#include <cmath>
#include <cstdint>

#if defined(__CUDACC__)
#define RELPROP_HD __host__ __device__
#else
#define RELPROP_HD
#endif

namespace relprop {

#define RELPROP_UNARY_KINDS(X) \
    X(Relu)                    \
    X(Clip)                    \
    X(Sigmoid)                 \
    X(HardSigmoid)             \
    X(HardSwish)               \
    X(Tanh)                    \
    X(LeakyRelu)               \
    X(Elu)                     \
    X(Softplus)                \
    X(Erf)                     \
    X(Sqrt)                    \
    X(Reciprocal)              \
    X(Pow)                     \
    X(Neg)                     \
    X(Exp)                     \
    X(Silu)                    \
    X(Gelu)                    \
    X(GeluTanh)

enum class UnaryKind {
#define RELPROP_UNARY_ENUM(k) k,
    RELPROP_UNARY_KINDS(RELPROP_UNARY_ENUM)
#undef RELPROP_UNARY_ENUM
};

const char* unary_name(UnaryKind kind);

/// A unary function and its two parameters: Clip (lo = alpha, hi = beta), HardSigmoid (max(0, min(1,
/// alpha·x + beta))), LeakyRelu and Elu (alpha), Pow (exponent alpha); the others ignore them.
struct UnaryFn {
    UnaryKind kind = UnaryKind::Relu;
    float alpha = 0.0f;
    float beta = 0.0f;
};

RELPROP_HD inline float unary_forward(const UnaryFn& f, float x) {
    switch (f.kind) {
        case UnaryKind::Relu: return x > 0.0f ? x : 0.0f;
        case UnaryKind::Clip: {  // fminf(fmaxf(x, lo), hi) (NaN → lo as well), written so that CPU loops vectorize
            const float t = x > f.alpha ? x : f.alpha;
            return t < f.beta ? t : f.beta;
        }
        case UnaryKind::Sigmoid: return 1.0f / (1.0f + expf(-x));
        case UnaryKind::HardSigmoid: return fmaxf(0.0f, fminf(1.0f, f.alpha * x + f.beta));
        case UnaryKind::HardSwish: return x * fmaxf(0.0f, fminf(1.0f, x / 6.0f + 0.5f));
        case UnaryKind::Tanh: return tanhf(x);
        case UnaryKind::LeakyRelu: return x >= 0.0f ? x : f.alpha * x;
        case UnaryKind::Elu: return x > 0.0f ? x : f.alpha * expm1f(x);
        case UnaryKind::Softplus: return x > 0.0f ? x + log1pf(expf(-x)) : log1pf(expf(x));
        case UnaryKind::Erf: return erff(x);
        case UnaryKind::Sqrt: return sqrtf(x);
        case UnaryKind::Reciprocal: return 1.0f / x;
        case UnaryKind::Pow: return f.alpha == 2.0f ? x * x : powf(x, f.alpha);
        case UnaryKind::Neg: return -x;
        case UnaryKind::Exp: return expf(x);
        // x·σ(x) written as the unfused Sigmoid then Mul compute it (fuse-activations keeps the forward).
        case UnaryKind::Silu: return x * (1.0f / (1.0f + expf(-x)));
        case UnaryKind::Gelu: return 0.5f * x * (1.0f + erff(x * 0.70710678118654752f));
        case UnaryKind::GeluTanh: {
            const float u = 0.7978845608028654f * (x + 0.044715f * x * x * x);  // √(2/π)·(x + 0.044715x³)
            return 0.5f * x * (1.0f + tanhf(u));
        }
    }
    return x;
}

/// dy/dx at x. At a kink the derivative is PyTorch's: Relu, Clip (hardtanh), HardSigmoid and LeakyRelu
/// take the strict inequality (0 on the boundary, LeakyRelu alpha at 0); HardSwish (x/3 + ½ on [−3, 3]).
RELPROP_HD inline float unary_derivative(const UnaryFn& f, float x) {
    switch (f.kind) {
        case UnaryKind::Relu: return x > 0.0f ? 1.0f : 0.0f;
        case UnaryKind::Clip: return x > f.alpha && x < f.beta ? 1.0f : 0.0f;
        case UnaryKind::Sigmoid: {
            const float s = 1.0f / (1.0f + expf(-x));
            return s * (1.0f - s);
        }
        case UnaryKind::HardSigmoid: {
            const float z = f.alpha * x + f.beta;
            return z > 0.0f && z < 1.0f ? f.alpha : 0.0f;
        }
        case UnaryKind::HardSwish: return x < -3.0f ? 0.0f : (x <= 3.0f ? x / 3.0f + 0.5f : 1.0f);
        case UnaryKind::Tanh: {
            const float t = tanhf(x);
            return 1.0f - t * t;
        }
        case UnaryKind::LeakyRelu: return x > 0.0f ? 1.0f : f.alpha;
        case UnaryKind::Elu: return x > 0.0f ? 1.0f : f.alpha * expf(x);
        case UnaryKind::Softplus: return 1.0f / (1.0f + expf(-x));
        case UnaryKind::Erf: return 1.1283791670955126f * expf(-x * x);  // 2/√π
        case UnaryKind::Sqrt: return 0.5f / sqrtf(x);
        case UnaryKind::Reciprocal: return -1.0f / (x * x);
        case UnaryKind::Pow: return f.alpha == 2.0f ? 2.0f * x : f.alpha * powf(x, f.alpha - 1.0f);
        case UnaryKind::Neg: return -1.0f;
        case UnaryKind::Exp: return expf(x);
        case UnaryKind::Silu: {
            const float s = 1.0f / (1.0f + expf(-x));
            return s * (1.0f + x * (1.0f - s));
        }
        case UnaryKind::Gelu:  // Φ(x) + x·φ(x)
            return 0.5f * (1.0f + erff(x * 0.70710678118654752f)) + x * 0.3989422804014327f * expf(-0.5f * x * x);
        case UnaryKind::GeluTanh: {
            const float u = 0.7978845608028654f * (x + 0.044715f * x * x * x);
            const float t = tanhf(u);
            return 0.5f * (1.0f + t) + 0.5f * x * (1.0f - t * t) * 0.7978845608028654f * (1.0f + 0.134145f * x * x);
        }
    }
    return 1.0f;
}

enum class BinaryKind { Add, Sub, Mul, Div };

const char* binary_name(BinaryKind kind);

RELPROP_HD inline float binary_apply(BinaryKind k, float a, float b) {
    switch (k) {
        case BinaryKind::Add: return a + b;
        case BinaryKind::Sub: return a - b;
        case BinaryKind::Mul: return a * b;
        case BinaryKind::Div: return a / b;
    }
    return a;
}

/// Strided index maps of the broadcasting, reducing and gathering kernels (rank ≤ kMaxRank). For an
/// output of `dims`, element i (row-major) reads element Σ_d idx_d·strides[d] (+ offset) of an operand;
/// a broadcast axis has stride 0.
constexpr int kMaxRank = 8;
struct StridedMap {
    int rank = 0;
    int64_t dims[kMaxRank] = {};
    int64_t strides[kMaxRank] = {};
    int64_t offset = 0;

    RELPROP_HD int64_t at(int64_t i) const {
        int64_t o = offset;
        for (int d = rank - 1; d >= 0; --d) {
            const int64_t q = i / dims[d];
            o += (i - q * dims[d]) * strides[d];
            i = q;
        }
        return o;
    }
};

}  // namespace relprop
