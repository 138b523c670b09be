#include "engine/cpu/cpu_backend.h"

#include <Eigen/Core>
#include <cstring>
#include <oneapi/dnnl/dnnl.hpp>

#include "engine/cpu/onednn_cache.h"
#include "engine/error.h"

namespace relprop {
namespace {

using dnnl::memory;
using Dims = memory::dims;
using Tag = memory::format_tag;
constexpr auto f32 = memory::data_type::f32;

Eigen::Map<const Eigen::ArrayXf> arr(const Tensor& t) { return {t.data(), t.numel()}; }
Eigen::Map<Eigen::ArrayXf> arr(Tensor& t) { return {t.data(), t.numel()}; }

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

struct ConvEntry {
    dnnl::convolution_forward fwd;
    dnnl::convolution_backward_data bwd;
    bool has_bwd = false;
};

struct InnerProductEntry {
    dnnl::inner_product_forward fwd;
    dnnl::inner_product_backward_data bwd;
};

struct PoolEntry {
    dnnl::pooling_v2_forward fwd;  // inference (no workspace)
    dnnl::pooling_v2_forward fwd_training;
    dnnl::pooling_v2_backward bwd;
    memory::desc workspace;
};

dnnl::algorithm pool_algorithm(PoolKind kind) {
    switch (kind) {
        case PoolKind::Max: return dnnl::algorithm::pooling_max;
        case PoolKind::AvgIncludePad: return dnnl::algorithm::pooling_avg_include_padding;
        case PoolKind::AvgExcludePad: return dnnl::algorithm::pooling_avg_exclude_padding;
    }
    throw Error("unknown pooling kind");
}

class CpuBackend final : public Backend {
public:
    CpuBackend() : m_engine(dnnl::engine::kind::cpu, 0), m_stream(m_engine) {}

    Device device() const override { return Device::CPU; }
    std::string name() const override {
        const dnnl_version_t* v = dnnl_version();
        return "cpu (oneDNN " + std::to_string(v->major) + "." + std::to_string(v->minor) + "." +
               std::to_string(v->patch) + ")";
    }
    bool supports(OpType) const override { return true; }

    Tensor empty(const Shape& shape) override {
        int64_t n = shape_numel(shape);
        float* p = new (std::nothrow) float[std::max<int64_t>(n, 1)];
        if (!p) throw Error("out of memory allocating a tensor of shape " + shape_str(shape));
        return Tensor::adopt(shape, p, Device::CPU, [](float* q) { delete[] q; });
    }
    Tensor upload(const Tensor& host) override { return host.clone(); }
    Tensor download(const Tensor& t) override { return t.clone(); }

    void conv2d_forward(const Tensor& x, const Tensor& w, const Tensor* bias, const ConvGeometry& g,
                        Tensor& y) override {
        const ConvEntry& e = conv_entry(x.shape(), w, bias != nullptr, g, y.shape(), false);
        std::unordered_map<int, memory> args{
            {DNNL_ARG_SRC, mem(x, Tag::nchw)}, {DNNL_ARG_WEIGHTS, memory(weights_md(w, g.groups), m_engine, ptr(w))},
            {DNNL_ARG_DST, mem(y, Tag::nchw)}};
        if (bias) args.emplace(DNNL_ARG_BIAS, mem(*bias, Tag::a));
        run(e.fwd, args);
    }

    void conv2d_backward_data(const Tensor& gy, const Tensor& w, const ConvGeometry& g, Tensor& gx) override {
        const ConvEntry& e = conv_entry(gx.shape(), w, false, g, gy.shape(), true);
        run(e.bwd, {{DNNL_ARG_DIFF_DST, mem(gy, Tag::nchw)},
                    {DNNL_ARG_WEIGHTS, memory(weights_md(w, g.groups), m_engine, ptr(w))},
                    {DNNL_ARG_DIFF_SRC, mem(gx, Tag::nchw)}});
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
        const PoolEntry& e = pool_entry(kind, x.shape(), y.shape(), g);
        run(e.fwd, {{DNNL_ARG_SRC, mem(x, Tag::nchw)}, {DNNL_ARG_DST, mem(y, Tag::nchw)}});
    }

    void pool2d_backward(PoolKind kind, const Tensor& x, const Tensor& gy, const PoolGeometry& g,
                         Tensor& gx) override {
        const PoolEntry& e = pool_entry(kind, x.shape(), gy.shape(), g);
        std::unordered_map<int, memory> args{{DNNL_ARG_DIFF_DST, mem(gy, Tag::nchw)},
                                             {DNNL_ARG_DIFF_SRC, mem(gx, Tag::nchw)}};
        if (kind == PoolKind::Max) {
            // oneDNN's max-pool backward needs the forward's workspace (argmax): recompute it.
            Tensor y = empty(gy.shape());
            memory ws(e.workspace, m_engine);
            run(e.fwd_training, {{DNNL_ARG_SRC, mem(x, Tag::nchw)}, {DNNL_ARG_DST, mem(y, Tag::nchw)},
                                 {DNNL_ARG_WORKSPACE, ws}});
            args.emplace(DNNL_ARG_WORKSPACE, ws);
        }
        run(e.bwd, args);
    }

    void fill(Tensor& t, float value) override { arr(t).setConstant(value); }
    void copy(const Tensor& src, Tensor& dst) override {
        if (src.numel() != dst.numel()) require_same(src, dst, "copy");
        if (src.data() != dst.data()) std::memcpy(dst.data(), src.data(), sizeof(float) * src.numel());
    }
    void add(const Tensor& a, const Tensor& b, Tensor& out) override {
        require_same(a, b, "add");
        require_same(a, out, "add");
        arr(out) = arr(a) + arr(b);
    }
    void mul(const Tensor& a, const Tensor& b, Tensor& out) override {
        require_same(a, b, "mul");
        require_same(a, out, "mul");
        arr(out) = arr(a) * arr(b);
    }
    void relu(const Tensor& x, Tensor& y) override {
        require_same(x, y, "relu");
        arr(y) = arr(x).max(0.0f);
    }
    void relu_backward(const Tensor& x, const Tensor& gy, Tensor& gx) override {
        require_same(x, gy, "relu_backward");
        require_same(x, gx, "relu_backward");
        arr(gx) = (arr(x) > 0.0f).select(arr(gy), 0.0f);
    }
    void channel_affine(const Tensor& x, const Tensor& scale, const Tensor* shift, Tensor& y) override {
        require_same(x, y, "channel_affine");
        const int64_t n = x.dim(0), c = x.dim(1), inner = x.numel() / std::max<int64_t>(n * c, 1);
        if (scale.numel() != c || (shift && shift->numel() != c))
            throw Error("channel_affine: per-channel parameters do not have " + std::to_string(c) + " values");
        for (int64_t i = 0; i < n; ++i)
            for (int64_t j = 0; j < c; ++j) {
                const int64_t off = (i * c + j) * inner;
                Eigen::Map<const Eigen::ArrayXf> in(x.data() + off, inner);
                Eigen::Map<Eigen::ArrayXf> out(y.data() + off, inner);
                out = in * scale[j] + (shift ? (*shift)[j] : 0.0f);
            }
    }
    void clamp(const Tensor& x, float lo, float hi, Tensor& y) override {
        require_same(x, y, "clamp");
        arr(y) = arr(x).max(lo).min(hi);
    }
    void scale(const Tensor& x, float a, Tensor& y) override {
        require_same(x, y, "scale");
        arr(y) = arr(x) * a;
    }
    void stabilize(const Tensor& z, float eps, Tensor& y) override {
        require_same(z, y, "stabilize");
        arr(y) = arr(z).unaryExpr([eps](float v) { return v + (v >= 0.0f ? eps : -eps); });
    }
    void stabilized_divide(const Tensor& num, const Tensor& den, float eps, Tensor& out) override {
        require_same(num, den, "stabilized_divide");
        require_same(num, out, "stabilized_divide");
        arr(out) = arr(num) / arr(den).unaryExpr([eps](float v) { return v + (v >= 0.0f ? eps : -eps); });
    }
    void multiply_accumulate(const Tensor& a, const Tensor* b, float c, Tensor& acc) override {
        require_same(a, acc, "multiply_accumulate");
        if (b) {
            require_same(*b, acc, "multiply_accumulate");
            arr(acc) += c * arr(a) * arr(*b);
        } else {
            arr(acc) += c * arr(a);
        }
    }
    void sign_mask(const Tensor& z, int sign, const Tensor& x, Tensor& y) override {
        require_same(z, x, "sign_mask");
        require_same(z, y, "sign_mask");
        if (sign > 0)
            arr(y) = (arr(z) > 0.0f).select(arr(x), 0.0f);
        else
            arr(y) = (arr(z) < 0.0f).select(arr(x), 0.0f);
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
    memory mem(const Tensor& t, Tag tag) { return memory(md(t.shape(), tag), m_engine, ptr(t)); }

    template <class Primitive>
    void run(const Primitive& p, const std::unordered_map<int, memory>& args) {
        try {
            p.execute(m_stream, args);
            m_stream.wait();
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
                memory::desc src = md(x, Tag::nchw), dst = md(y, Tag::nchw), wmd = weights_md(w, g.groups);
                const Dims strides = dims2(g.stride), dil = dims2(g.dilation, 1), pl = dims2(g.pad_begin),
                           pr = dims2(g.pad_end);
                auto prop = backward ? dnnl::prop_kind::forward_training : dnnl::prop_kind::forward_inference;
                auto fd = bias ? dnnl::convolution_forward::desc(prop, dnnl::algorithm::convolution_direct, src, wmd,
                                                                 md({ws[0]}, Tag::a), dst, strides, dil, pl, pr)
                               : dnnl::convolution_forward::desc(prop, dnnl::algorithm::convolution_direct, src, wmd,
                                                                 dst, strides, dil, pl, pr);
                dnnl::convolution_forward::primitive_desc fpd(fd, m_engine);
                ConvEntry e{dnnl::convolution_forward(fpd), {}, backward};
                if (backward) {
                    dnnl::convolution_backward_data::desc bd(dnnl::algorithm::convolution_direct, src, wmd, dst,
                                                             strides, dil, pl, pr);
                    e.bwd = dnnl::convolution_backward_data(
                        dnnl::convolution_backward_data::primitive_desc(bd, m_engine, fpd));
                }
                return e;
            } catch (const dnnl::error& err) {
                throw Error("oneDNN cannot create a convolution for input " + shape_str(x) + ", weights " +
                            shape_str(ws) + ", output " + shape_str(y) + ": " + err.what());
            }
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

    const PoolEntry& pool_entry(PoolKind kind, const Shape& x, const Shape& y, const PoolGeometry& g) {
        std::string key = cache_key({static_cast<int>(kind), x[0], x[1], x[2], x[3], y[2], y[3], g.kernel[0],
                                     g.kernel[1], g.stride[0], g.stride[1], g.pad_begin[0], g.pad_begin[1],
                                     g.pad_end[0], g.pad_end[1], g.dilation[0], g.dilation[1]});
        return m_pool.get(key, [&] {
            try {
                memory::desc src = md(x, Tag::nchw), dst = md(y, Tag::nchw);
                const Dims strides = dims2(g.stride), kernel = dims2(g.kernel), dil = dims2(g.dilation, 1),
                           pl = dims2(g.pad_begin), pr = dims2(g.pad_end);
                const dnnl::algorithm alg = pool_algorithm(kind);
                dnnl::pooling_v2_forward::primitive_desc inf(
                    dnnl::pooling_v2_forward::desc(dnnl::prop_kind::forward_inference, alg, src, dst, strides, kernel,
                                                   dil, pl, pr),
                    m_engine);
                dnnl::pooling_v2_forward::primitive_desc train(
                    dnnl::pooling_v2_forward::desc(dnnl::prop_kind::forward_training, alg, src, dst, strides, kernel,
                                                   dil, pl, pr),
                    m_engine);
                dnnl::pooling_v2_backward::primitive_desc bwd(
                    dnnl::pooling_v2_backward::desc(alg, src, dst, strides, kernel, dil, pl, pr), m_engine, train);
                return PoolEntry{dnnl::pooling_v2_forward(inf), dnnl::pooling_v2_forward(train),
                                 dnnl::pooling_v2_backward(bwd), train.workspace_desc()};
            } catch (const dnnl::error& err) {
                throw Error("oneDNN cannot create a pooling for input " + shape_str(x) + ", output " + shape_str(y) +
                            ": " + err.what());
            }
        });
    }

    dnnl::engine m_engine;
    dnnl::stream m_stream;
    PrimitiveCache<ConvEntry> m_conv;
    PrimitiveCache<InnerProductEntry> m_ip;
    PrimitiveCache<PoolEntry> m_pool;
};

}  // namespace

std::unique_ptr<Backend> make_cpu_backend() {
    return std::make_unique<CpuBackend>();
}

}  // namespace relprop
