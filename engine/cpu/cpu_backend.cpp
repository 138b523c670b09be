#include "engine/cpu/cpu_backend.h"

#include <cmath>
#include <cstdlib>
#include <mutex>
#include <type_traits>
#include <cstring>
#include <oneapi/dnnl/dnnl.hpp>

#include "engine/cpu/host_pool.h"
#include "engine/cpu/onednn_cache.h"
#include "engine/derived_cache.h"
#include "engine/cpu/pooling.h"
#include "relprop/error.hpp"
#include "engine/strided.h"

namespace relprop {
namespace {

using dnnl::memory;
using Dims = memory::dims;
using Tag = memory::format_tag;
constexpr auto f32 = memory::data_type::f32;


void require_same(const Tensor& a, const Tensor& b, const char* kernel) {
    if (a.shape() != b.shape())
        throw Error(std::string(kernel) + ": shapes " + shape_str(a.shape()) + " and " + shape_str(b.shape()) +
                    " differ");
}

memory::desc md(const Shape& shape, Tag tag) { return memory::desc(Dims(shape.begin(), shape.end()), f32, tag); }

// Conv weights: OIHW, or GOIHW for grouped convolution.
memory::desc weights_md(const Tensor& w, int64_t groups) {
    const Shape& s = w.shape();
    if (groups == 1) return md(s, Tag::oihw);
    return md({groups, s[0] / groups, s[1], s[2], s[3]}, Tag::goihw);
}

Dims dims2(const std::array<int64_t, 2>& a, int64_t minus = 0) { return {a[0] - minus, a[1] - minus}; }

// A convolution in the layouts oneDNN prefers for this shape (blocked, e.g. nChw8c on AVX2), with the
// reorders from and to relprop's plain NCHW/OIHW tensors.
struct ConvEntry {
    dnnl::convolution_forward fwd;
    dnnl::convolution_backward_data bwd;
    bool has_bwd = false;
    memory::desc src, weights, dst;               // forward: the primitive's layouts
    memory::desc bwd_diff_dst, bwd_weights, bwd_diff_src;
};

struct InnerProductEntry {
    dnnl::inner_product_forward fwd;
    dnnl::inner_product_backward_data bwd;
};

// Elementwise loops run on all OpenMP threads when the tensor is large enough to pay for them.
constexpr int64_t kParallelMin = 1 << 15;

template <class F>
void parallel_for(int64_t n, F f) {
#pragma omp parallel for simd schedule(static) if (n > kParallelMin)
    for (int64_t i = 0; i < n; ++i) f(i);
}

template <class F>
void map1(const char* kernel, const Tensor& x, Tensor& y, F f) {
    require_same(x, y, kernel);
    const float* xs = x.data();
    float* ys = y.data();
    parallel_for(x.numel(), [=](int64_t i) { ys[i] = f(xs[i]); });
}

template <class F>
void map2(const char* kernel, const Tensor& a, const Tensor& b, Tensor& out, F f) {
    require_same(a, b, kernel);
    require_same(a, out, kernel);
    const float *as = a.data(), *bs = b.data();
    float* os = out.data();
    parallel_for(a.numel(), [=](int64_t i) { os[i] = f(as[i], bs[i]); });
}

// Calls f(std::integral_constant<UnaryKind, kind>{}): one instantiation per kind of unary function.
template <class F>
void with_unary_kind(UnaryKind kind, F f) {
    switch (kind) {
#define RELPROP_UNARY_CASE(k) \
    case UnaryKind::k: return f(std::integral_constant<UnaryKind, UnaryKind::k>{});
        RELPROP_UNARY_KINDS(RELPROP_UNARY_CASE)
#undef RELPROP_UNARY_CASE
    }
    throw Error("unary: unknown function kind");
}

// Calls f(std::integral_constant<BinaryKind, kind>{}).
template <class F>
void with_binary_kind(BinaryKind kind, F f) {
    switch (kind) {
        case BinaryKind::Add: return f(std::integral_constant<BinaryKind, BinaryKind::Add>{});
        case BinaryKind::Sub: return f(std::integral_constant<BinaryKind, BinaryKind::Sub>{});
        case BinaryKind::Mul: return f(std::integral_constant<BinaryKind, BinaryKind::Mul>{});
        case BinaryKind::Div: return f(std::integral_constant<BinaryKind, BinaryKind::Div>{});
    }
    throw Error("binary: unknown operation");
}

// The layouts a convolution runs in. oneDNN's blocked layouts (e.g. nChw8c on AVX2, chosen by format `any`)
// select its direct kernels (jit:avx2, jit_1x1:avx2); plain NCHW/OIHW selects its GEMM convolution (im2col and
// a K-blocked sgemm, "gemm:jit"). The direct kernel for KH×KW > 1 sums all (C/groups)·KH·KW products of an output
// in one running float accumulator, so its rounding error grows as the square root of that count: relative L2
// 3.0e-7 at 64 channels 3×3, 6.0e-7 at 256, 8.7e-7 at 512 against float64 — 4–5× onnxruntime's (1.5–1.8e-7) and
// TensorFlow's. The GEMM convolution sums in K blocks and reaches their level (1.7–2.1e-7); the 1×1 kernel
// blocks its reduction too (1.5–1.7e-7), and the direct backward-data kernel is at onnxruntime's level as it is
// (tests/test_conv_accuracy.cpp, tools/conv_accuracy.py). So a forward convolution with more than
// kDirectMaxTerms products per output runs in plain layouts. The cost, measured per layer (CPU time, src/dst
// reorders of the blocked path included): +18% on VGG16's 3×3 layers with ≥ 128 channels, +15% on ResNet50's.
enum class ConvLayout { Blocked, Plain };
constexpr int64_t kDirectMaxTerms = 576;  // 64 channels 3×3: the direct kernel's error is 3.0e-7 there

// RELPROP_CONV_LAYOUT=plain or =blocked forces one layout for every convolution (for comparisons; `blocked` is
// relprop's behaviour before the accuracy rule above).
ConvLayout conv_layout(const Shape& w, bool backward) {
    static const std::string forced = [] {
        const char* v = std::getenv("RELPROP_CONV_LAYOUT");
        return std::string(v ? v : "");
    }();
    if (forced == "plain") return ConvLayout::Plain;
    if (forced == "blocked") return ConvLayout::Blocked;
    const int64_t taps = w[2] * w[3], terms = w[1] * taps;  // w: [O, C/groups, KH, KW]
    if (backward) return ConvLayout::Blocked;
    return taps > 1 && terms > kDirectMaxTerms ? ConvLayout::Plain : ConvLayout::Blocked;
}

class CpuBackend final : public Backend {
public:
    CpuBackend() : m_engine(dnnl::engine::kind::cpu, 0) {}

    Device device() const override { return Device::CPU; }
    std::string name() const override {
        const dnnl_version_t* v = dnnl_version();
        return "cpu (oneDNN " + std::to_string(v->major) + "." + std::to_string(v->minor) + "." +
               std::to_string(v->patch) + ")";
    }
    unsigned kernels() const override { return Kernel::All; }

    Tensor empty(const Shape& shape) override { return m_pool->allocate(shape); }
    Tensor upload(const Tensor& host) override { return host.clone(); }
    Tensor download(const Tensor& t) override { return t.clone(); }

    void conv2d_forward(const Tensor& x, const Tensor& w, const Tensor* bias, const ConvGeometry& g,
                        Tensor& y) override {
        const ConvEntry& e = conv_entry(x.shape(), w, bias != nullptr, g, y.shape(), false);
        std::vector<Tensor> buffers;  // the reorder buffers' memory, until the call ends
        memory user_y = mem(y, Tag::nchw);
        memory dst = e.dst == user_y.get_desc() ? user_y : buffer(e.dst, buffers);
        std::unordered_map<int, memory> args{{DNNL_ARG_SRC, to_layout(mem(x, Tag::nchw), e.src, &buffers)},
                                             {DNNL_ARG_WEIGHTS, weights_in(w, g.groups, e.weights)},
                                             {DNNL_ARG_DST, dst}};
        if (bias) args.emplace(DNNL_ARG_BIAS, mem(*bias, Tag::a));
        run(e.fwd, args);
        if (dst != user_y) reorder(dst, user_y);
    }

    void conv2d_backward_data(const Tensor& gy, const Tensor& w, const ConvGeometry& g, Tensor& gx) override {
        const ConvEntry& e = conv_entry(gx.shape(), w, false, g, gy.shape(), true);
        std::vector<Tensor> buffers;
        memory user_gx = mem(gx, Tag::nchw);
        memory diff_src = e.bwd_diff_src == user_gx.get_desc() ? user_gx : buffer(e.bwd_diff_src, buffers);
        run(e.bwd, {{DNNL_ARG_DIFF_DST, to_layout(mem(gy, Tag::nchw), e.bwd_diff_dst, &buffers)},
                    {DNNL_ARG_WEIGHTS, weights_in(w, g.groups, e.bwd_weights)},
                    {DNNL_ARG_DIFF_SRC, diff_src}});
        if (diff_src != user_gx) reorder(diff_src, user_gx);
    }

    void linear_forward(const Tensor& x, const Tensor& w, const Tensor* bias, Tensor& y) override {
        const InnerProductEntry& e = ip_entry(x.dim(0), x.dim(1), w.dim(0), bias != nullptr);
        std::unordered_map<int, memory> args{
            {DNNL_ARG_SRC, mem(x, Tag::nc)}, {DNNL_ARG_WEIGHTS, mem(w, Tag::oi)}, {DNNL_ARG_DST, mem(y, Tag::nc)}};
        if (bias) args.emplace(DNNL_ARG_BIAS, mem(*bias, Tag::a));
        run(e.fwd, args);
    }

    void linear_backward_data(const Tensor& gy, const Tensor& w, Tensor& gx) override {
        const InnerProductEntry& e = ip_entry(gx.dim(0), gx.dim(1), w.dim(0), false);
        run(e.bwd, {{DNNL_ARG_DIFF_DST, mem(gy, Tag::nc)},
                    {DNNL_ARG_WEIGHTS, mem(w, Tag::oi)},
                    {DNNL_ARG_DIFF_SRC, mem(gx, Tag::nc)}});
    }

    void pool2d_forward(PoolKind kind, const Tensor& x, const PoolGeometry& g, Tensor& y) override {
        cpu_pool_forward(kind, x, g, y);
    }

    void pool2d_backward(PoolKind kind, const Tensor& x, const Tensor& gy, const PoolGeometry& g,
                         Tensor& gx) override {
        cpu_pool_backward(kind, x, gy, g, gx);
    }

    void fill(Tensor& t, float value) override {
        float* d = t.data();
        parallel_for(t.numel(), [=](int64_t i) { d[i] = value; });
    }
    void copy(const Tensor& src, Tensor& dst) override {
        if (src.numel() != dst.numel()) require_same(src, dst, "copy");
        if (src.data() == dst.data()) return;
        const float* a = src.data();
        float* d = dst.data();
        parallel_for(src.numel(), [=](int64_t i) { d[i] = a[i]; });
    }
    void add(const Tensor& a, const Tensor& b, Tensor& out) override {
        map2("add", a, b, out, [](float x, float y) { return x + y; });
    }
    void mul(const Tensor& a, const Tensor& b, Tensor& out) override {
        map2("mul", a, b, out, [](float x, float y) { return x * y; });
    }
    // The unary functions of engine/elementwise.h, the same float expressions as the CUDA kernels. (oneDNN 2.6's
    // eltwise primitives cover only some of them, with other edge conventions: one loop serves every kind.)
    // The kind is a compile-time constant inside each loop (with_unary_kind), so the compiler drops the
    // per-element switch and vectorizes the loop.
    void unary(const UnaryFn& f, const Tensor& x, Tensor& y) override {
        if (f.kind == UnaryKind::Silu && x.numel() > kParallelMin) {
            // EfficientNet's SiLU on large tensors: oneDNN's swish x/(1 + e^(−x)) runs vectorized (the loop
            // below calls the scalar expf: 14% of an efficientnet_b0 explanation at batch 8). Its exp is a
            // polynomial within a few float32 ulps of expf.
            require_same(x, y, "unary");
            run(eltwise_entry(dnnl::algorithm::eltwise_swish, 1.0f, x.numel()),
                {{DNNL_ARG_SRC, flat(x)}, {DNNL_ARG_DST, flat(y)}});
            return;
        }
        with_unary_kind(f.kind, [&](auto kind) {
            const float a = f.alpha, b = f.beta;
            map1("unary", x, y, [a, b](float v) { return unary_forward(UnaryFn{decltype(kind)::value, a, b}, v); });
        });
    }
    void unary_backward(const UnaryFn& f, const Tensor& x, const Tensor& gy, Tensor& gx) override {
        with_unary_kind(f.kind, [&](auto kind) {
            const float a = f.alpha, b = f.beta;
            map2("unary_backward", x, gy, gx, [a, b](float v, float g) {
                return g * unary_derivative(UnaryFn{decltype(kind)::value, a, b}, v);
            });
        });
    }
    void binary(BinaryKind kind, const Tensor& a, const Tensor& b, Tensor& out) override {
        if (a.shape() == out.shape() && b.shape() == out.shape())
            return with_binary_kind(kind, [&](auto k) {
                map2("binary", a, b, out, [](float x, float y) { return binary_apply(decltype(k)::value, x, y); });
            });
        const StridedMap ma = broadcast_map(a.shape(), out.shape(), "binary"), mb = broadcast_map(b.shape(), out.shape(), "binary");
        // Per run of trailing elements where each operand is contiguous or one repeated value (a squeeze-
        // excitation gate [N,C,1,1] times [N,C,H,W]: runs of H·W), the offsets are computed once per run.
        const InnerRun run = inner_run(ma, mb);
        const int64_t len = run.length, runs = out.numel() / len, sa = run.step[0], sb = run.step[1];
        const float *as = a.data(), *bs = b.data();
        float* os = out.data();
        with_binary_kind(kind, [&](auto k) {
            constexpr BinaryKind K = decltype(k)::value;
#pragma omp parallel for schedule(static) if (out.numel() > kParallelMin)
            for (int64_t r = 0; r < runs; ++r) {
                const float *pa = as + ma.at(r * len), *pb = bs + mb.at(r * len);
                float* po = os + r * len;
                if (sa && sb)
                    for (int64_t i = 0; i < len; ++i) po[i] = binary_apply(K, pa[i], pb[i]);
                else if (sa)
                    for (int64_t i = 0; i < len; ++i) po[i] = binary_apply(K, pa[i], pb[0]);
                else if (sb)
                    for (int64_t i = 0; i < len; ++i) po[i] = binary_apply(K, pa[0], pb[i]);
                else
                    for (int64_t i = 0; i < len; ++i) po[i] = binary_apply(K, pa[0], pb[0]);
            }
        });
    }
    void reduce_sum(const Tensor& x, Tensor& out) override {
        // Output element o sums the x elements of its reduced sub-box, in double.
        StridedMap base, sub;
        const int64_t count = reduce_maps(x.shape(), out.shape(), base, sub);
        const float* xd = x.data();
        float* od = out.data();
        const bool plain = contiguous(sub);  // reduced axes trailing (spatial sums): the same sum, in the same order
#pragma omp parallel for schedule(static) if (x.numel() > kParallelMin)
        for (int64_t o = 0; o < out.numel(); ++o) {
            const int64_t start = base.at(o);
            double acc = 0.0;
            if (plain)
                for (int64_t r = 0; r < count; ++r) acc += xd[start + r];
            else
                for (int64_t r = 0; r < count; ++r) acc += xd[start + sub.at(r)];
            od[o] = static_cast<float>(acc);
        }
    }
    void gather(const Tensor& src, const StridedMap& map, Tensor& dst) override {
        check_map(src, map, dst, "gather");
        const float* s = src.data();
        float* d = dst.data();
        parallel_for(dst.numel(), [=](int64_t i) { d[i] = s[map.at(i)]; });
    }
    void scatter(const Tensor& src, const StridedMap& map, Tensor& dst) override {
        check_map(dst, map, src, "scatter");
        const float* s = src.data();
        float* d = dst.data();
        parallel_for(src.numel(), [=](int64_t i) { d[map.at(i)] = s[i]; });
    }
    void channel_affine(const Tensor& x, const Tensor& scale, const Tensor* shift, Tensor& y) override {
        require_same(x, y, "channel_affine");
        const int64_t n = x.dim(0), c = x.dim(1), inner = x.numel() / std::max<int64_t>(n * c, 1);
        if (scale.numel() != c || (shift && shift->numel() != c))
            throw Error("channel_affine: per-channel parameters do not have " + std::to_string(c) + " values");
        const float *xs = x.data(), *sc = scale.data(), *sh = shift ? shift->data() : nullptr;
        float* ys = y.data();
#pragma omp parallel for schedule(static) if (x.numel() > kParallelMin)
        for (int64_t p = 0; p < n * c; ++p) {
            const float a = sc[p % c], b = sh ? sh[p % c] : 0.0f;
            for (int64_t i = p * inner; i < (p + 1) * inner; ++i) ys[i] = xs[i] * a + b;
        }
    }
    void clamp(const Tensor& x, float lo, float hi, Tensor& y) override {
        map1("clamp", x, y, [=](float v) { return std::min(std::max(v, lo), hi); });
    }
    void scale(const Tensor& x, float a, Tensor& y) override {
        map1("scale", x, y, [=](float v) { return a * v; });
    }
    void stabilize(const Tensor& z, float eps, Tensor& y) override {
        map1("stabilize", z, y, [=](float v) { return v + (v >= 0.0f ? eps : -eps); });
    }
    void stabilized_divide(const Tensor& num, const Tensor& den, float eps, Tensor& out) override {
        map2("stabilized_divide", num, den, out, [=](float r, float z) { return r / (z + (z >= 0.0f ? eps : -eps)); });
    }
    void multiply_accumulate(const Tensor& a, const Tensor* b, float c, Tensor& acc) override {
        require_same(a, acc, "multiply_accumulate");
        const float* as = a.data();
        float* ds = acc.data();
        if (b) {
            require_same(*b, acc, "multiply_accumulate");
            const float* bs = b->data();
            parallel_for(a.numel(), [=](int64_t i) { ds[i] += c * as[i] * bs[i]; });
        } else {
            parallel_for(a.numel(), [=](int64_t i) { ds[i] += c * as[i]; });
        }
    }
    std::pair<float, float> min_max(const Tensor& t) override {
        float lo = INFINITY, hi = -INFINITY;
        const float* d = t.data();
        const int64_t n = t.numel();
#pragma omp parallel for reduction(min : lo) reduction(max : hi) schedule(static) if (n > kParallelMin)
        for (int64_t i = 0; i < n; ++i) {
            lo = std::min(lo, d[i]);
            hi = std::max(hi, d[i]);
        }
        return {lo, hi};
    }
    void sign_mask(const Tensor& z, int sign, const Tensor& x, Tensor& y) override {
        require_same(z, x, "sign_mask");
        if (sign > 0)
            map2("sign_mask", z, x, y, [](float zv, float xv) { return zv > 0.0f ? xv : 0.0f; });
        else
            map2("sign_mask", z, x, y, [](float zv, float xv) { return zv < 0.0f ? xv : 0.0f; });
    }
    void copy_blocks(const Tensor& src, int64_t src_offset, int64_t src_stride, Tensor& dst, int64_t dst_offset,
                     int64_t dst_stride, int64_t count, int64_t block) override {
        if (count <= 0 || block <= 0) return;
        if (src_offset + (count - 1) * src_stride + block > src.numel() ||
            dst_offset + (count - 1) * dst_stride + block > dst.numel() || src_offset < 0 || dst_offset < 0)
            throw Error("copy_blocks: block range outside the tensors");
        for (int64_t i = 0; i < count; ++i)
            std::memcpy(dst.data() + dst_offset + i * dst_stride, src.data() + src_offset + i * src_stride,
                        sizeof(float) * block);
    }

private:
    static void* ptr(const Tensor& t) { return const_cast<float*>(t.data()); }
    memory weights_mem(const Tensor& w, int64_t groups) { return memory(weights_md(w, groups), m_engine, ptr(w)); }
    void reorder(const memory& from, const memory& to) {
        run(dnnl::reorder(from, to), {{DNNL_ARG_FROM, from}, {DNNL_ARG_TO, to}});
    }
    // Weights in layout `desc`: reordered once per weight tensor and layout while the tensor lives (rules'
    // modified weights are made once per plan, so each is reordered once, not at every call).
    memory weights_in(const Tensor& w, int64_t groups, const memory::desc& desc) {
        memory user = weights_mem(w, groups);
        if (user.get_desc() == desc) return user;
        return m_weights.get(
            w, [&](const memory& cached) { return cached.get_desc() == desc; },
            [&] { return to_layout(user, desc); });
    }
    // `m` in layout `desc` (a reordered copy if it is in another one: in a pooled buffer kept in `buffers`, or
    // without `buffers` in memory of oneDNN's own, which lives as long as the returned object).
    memory to_layout(const memory& m, const memory::desc& desc, std::vector<Tensor>* buffers = nullptr) {
        if (m.get_desc() == desc) return m;
        memory out = buffers ? buffer(desc, *buffers) : memory(desc, m_engine);
        reorder(m, out);
        return out;
    }
    // Uninitialized memory in layout `desc` from the pool; `keep` holds it until the caller is done.
    memory buffer(const memory::desc& desc, std::vector<Tensor>& keep) {
        keep.push_back(m_pool->allocate_bytes(desc.get_size()));
        return memory(desc, m_engine, keep.back().data());
    }
    memory mem(const Tensor& t, Tag tag) { return memory(md(t.shape(), tag), m_engine, ptr(t)); }
    memory flat(const Tensor& t) { return memory(md({t.numel()}, Tag::a), m_engine, ptr(t)); }

    template <class Primitive>
    void run(const Primitive& p, const std::unordered_map<int, memory>& args) {
        try {
            // A stream per call: a oneDNN stream must not be shared by threads executing at once, and a
            // CPU stream costs nothing to make (the backend is called from several threads: README, API).
            dnnl::stream stream(m_engine);
            p.execute(stream, args);
            stream.wait();
        } catch (const dnnl::error& e) {
            throw Error(std::string("oneDNN execution failed: ") + e.what());
        }
    }

    const ConvEntry& conv_entry(const Shape& x, const Tensor& w, bool bias, const ConvGeometry& g, const Shape& y,
                                bool backward) {
        const Shape& ws = w.shape();
        std::string key = cache_key({x[0], x[1], x[2], x[3], ws[0], ws[1], ws[2], ws[3], bias, g.stride[0],
                                     g.stride[1], g.pad_begin[0], g.pad_begin[1], g.pad_end[0], g.pad_end[1],
                                     g.dilation[0], g.dilation[1], g.groups, y[2], y[3], backward});
        return m_conv.get(key, [&] {
            try {
                const bool blocked = conv_layout(ws, backward) == ConvLayout::Blocked;
                memory::desc src = md(x, blocked ? Tag::any : Tag::nchw), dst = md(y, blocked ? Tag::any : Tag::nchw);
                memory::desc wmd = blocked ? memory::desc(weights_md(w, g.groups).dims(), f32, Tag::any)
                                           : weights_md(w, g.groups);
                const Dims strides = dims2(g.stride), dil = dims2(g.dilation, 1), pl = dims2(g.pad_begin),
                           pr = dims2(g.pad_end);
                auto prop = backward ? dnnl::prop_kind::forward_training : dnnl::prop_kind::forward_inference;
                auto fd = bias ? dnnl::convolution_forward::desc(prop, dnnl::algorithm::convolution_direct, src, wmd,
                                                                 md({ws[0]}, Tag::a), dst, strides, dil, pl, pr)
                               : dnnl::convolution_forward::desc(prop, dnnl::algorithm::convolution_direct, src, wmd,
                                                                 dst, strides, dil, pl, pr);
                dnnl::convolution_forward::primitive_desc fpd(fd, m_engine);
                ConvEntry e{dnnl::convolution_forward(fpd), {}, backward, fpd.src_desc(), fpd.weights_desc(),
                            fpd.dst_desc(), {}, {}, {}};
                if (backward) {
                    dnnl::convolution_backward_data::desc bd(dnnl::algorithm::convolution_direct, src, wmd, dst,
                                                             strides, dil, pl, pr);
                    dnnl::convolution_backward_data::primitive_desc bpd(bd, m_engine, fpd);
                    e.bwd = dnnl::convolution_backward_data(bpd);
                    e.bwd_diff_dst = bpd.diff_dst_desc();
                    e.bwd_weights = bpd.weights_desc();
                    e.bwd_diff_src = bpd.diff_src_desc();
                }
                return e;
            } catch (const dnnl::error& err) {
                throw Error("oneDNN cannot create a convolution for input " + shape_str(x) + ", weights " +
                            shape_str(ws) + ", output " + shape_str(y) + ": " + err.what());
            }
        });
    }

    const dnnl::eltwise_forward& eltwise_entry(dnnl::algorithm alg, float alpha, int64_t n) {
        return m_eltwise.get(cache_key({static_cast<long long>(alg), n}), [&] {
            dnnl::eltwise_forward::desc d(dnnl::prop_kind::forward_inference, alg, md({n}, Tag::a), alpha);
            return dnnl::eltwise_forward(dnnl::eltwise_forward::primitive_desc(d, m_engine));
        });
    }

    const InnerProductEntry& ip_entry(int64_t n, int64_t k, int64_t m, bool bias) {
        return m_ip.get(cache_key({n, k, m, bias}), [&] {
            try {
                memory::desc src = md({n, k}, Tag::nc), w = md({m, k}, Tag::oi), dst = md({n, m}, Tag::nc);
                auto fd = bias ? dnnl::inner_product_forward::desc(dnnl::prop_kind::forward_training, src, w,
                                                                   md({m}, Tag::a), dst)
                               : dnnl::inner_product_forward::desc(dnnl::prop_kind::forward_training, src, w, dst);
                dnnl::inner_product_forward::primitive_desc fpd(fd, m_engine);
                dnnl::inner_product_backward_data::desc bd(src, w, dst);
                return InnerProductEntry{
                    dnnl::inner_product_forward(fpd),
                    dnnl::inner_product_backward_data(
                        dnnl::inner_product_backward_data::primitive_desc(bd, m_engine, fpd))};
            } catch (const dnnl::error& err) {
                throw Error("oneDNN cannot create an inner product " + std::to_string(n) + "x" + std::to_string(k) +
                            " -> " + std::to_string(m) + ": " + err.what());
            }
        });
    }

    dnnl::engine m_engine;
    std::shared_ptr<HostPool> m_pool = std::make_shared<HostPool>();  // tensors and reorder buffers
    PrimitiveCache<ConvEntry> m_conv;
    PrimitiveCache<InnerProductEntry> m_ip;
    PrimitiveCache<dnnl::eltwise_forward> m_eltwise;
    DerivedCache<memory> m_weights;  // reordered weights, per weight tensor and layout
};

}  // namespace

std::unique_ptr<Backend> make_cpu_backend() {
    return std::make_unique<CpuBackend>();
}

}  // namespace relprop
