// CudaBackend: convolution on cuDNN (cudnn_conv.cu), linear layers on cuBLAS, pooling and the
// elementwise steps of the rules as own kernels (cuda_pooling.cu, below), all FP32 without TF32.
// Each backend has its own stream, cuBLAS and cuDNN handles, memory pool and cuDNN workspace; all
// work runs on the stream, and upload/download/min_max synchronize with it. Parameters of ops (host
// tensors in the graph) are uploaded once and kept on the device (ResidentParams).
#include "engine/cuda/cuda_backend.h"

#include <algorithm>
#include <climits>
#include <cmath>
#include <initializer_list>
#include <utility>

#include <cstdint>
#include <string>

#include "engine/cuda/cuda_args.h"
#include "engine/cuda/cuda_check.h"
#include "engine/cuda/cuda_pooling.h"
#include "engine/cuda/cudnn_conv.h"
#include "engine/cuda/device_memory.h"
#include "relprop/error.hpp"
#include "engine/strided.h"

namespace relprop {
namespace {

using cuda_detail::blocks_for;
using cuda_detail::fail;
using cuda_detail::first_index;
using cuda_detail::grid_stride;
using cuda_detail::int_dim;
using cuda_detail::kThreads;
using cuda_detail::require_cuda;
using cuda_detail::require_numel;
using cuda_detail::require_rank;

// ---------------------------------------------------------------------------------------------
// Kernels. Indices are 64-bit; every kernel is a grid-stride loop, so any grid size is correct.
// Elementwise outputs may alias inputs (no __restrict__).

__global__ void fill_kernel(float* out, int64_t n, float value) {
    for (int64_t i = first_index(); i < n; i += grid_stride()) out[i] = value;
}

__global__ void add_kernel(const float* a, const float* b, float* out, int64_t n) {
    for (int64_t i = first_index(); i < n; i += grid_stride()) out[i] = a[i] + b[i];
}

__global__ void mul_kernel(const float* a, const float* b, float* out, int64_t n) {
    for (int64_t i = first_index(); i < n; i += grid_stride()) out[i] = a[i] * b[i];
}

// x is [N, C, inner...]; element i belongs to channel (i / inner) % C. shift may be null.
__global__ void channel_affine_kernel(const float* x, const float* scale, const float* shift, float* y, int64_t n,
                                      int64_t channels, int64_t inner) {
    for (int64_t i = first_index(); i < n; i += grid_stride()) {
        const int64_t c = (i / inner) % channels;
        // No FMA contraction, so the result rounds like the CPU's separate multiply and add.
        const float scaled = __fmul_rn(x[i], scale[c]);
        y[i] = shift ? __fadd_rn(scaled, shift[c]) : scaled;
    }
}

__global__ void copy_blocks_kernel(const float* src, int64_t src_offset, int64_t src_stride, float* dst,
                                   int64_t dst_offset, int64_t dst_stride, int64_t count, int64_t block) {
    const int64_t n = count * block;
    for (int64_t k = first_index(); k < n; k += grid_stride()) {
        const int64_t i = k / block;
        const int64_t j = k % block;
        dst[dst_offset + i * dst_stride + j] = src[src_offset + i * src_stride + j];
    }
}

// Per block: the smallest of lo_in[0, n) and the largest of hi_in[0, n) over the block's grid-stride share,
// into lo_out/hi_out[blockIdx.x]. NaN is skipped (fminf/fmaxf return the other operand), as the CPU's
// std::min(lo, v)/std::max(hi, v) from ±infinity skip it. Stage 1 passes x as both inputs; stage 2, one
// block, reduces the per-block results. blockDim.x must be kThreads (a power of two).
__global__ void min_max_kernel(const float* lo_in, const float* hi_in, int64_t n, float* lo_out, float* hi_out) {
    __shared__ float lo_s[kThreads], hi_s[kThreads];
    float lo = INFINITY, hi = -INFINITY;
    for (int64_t i = first_index(); i < n; i += grid_stride()) {
        lo = fminf(lo, lo_in[i]);
        hi = fmaxf(hi, hi_in[i]);
    }
    lo_s[threadIdx.x] = lo;
    hi_s[threadIdx.x] = hi;
    __syncthreads();
    for (unsigned s = blockDim.x / 2; s > 0; s >>= 1) {
        if (threadIdx.x < s) {
            lo_s[threadIdx.x] = fminf(lo_s[threadIdx.x], lo_s[threadIdx.x + s]);
            hi_s[threadIdx.x] = fmaxf(hi_s[threadIdx.x], hi_s[threadIdx.x + s]);
        }
        __syncthreads();
    }
    if (threadIdx.x == 0) {
        lo_out[blockIdx.x] = lo_s[0];
        hi_out[blockIdx.x] = hi_s[0];
    }
}

// y [rows, cols]: every row = bias [cols].
__global__ void broadcast_rows_kernel(const float* bias, float* y, int64_t rows, int64_t cols) {
    const int64_t n = rows * cols;
    for (int64_t i = first_index(); i < n; i += grid_stride()) y[i] = bias[i % cols];
}

// Elementwise maps used by the LRP rules: one functor per kernel, launched by map_kernel.
template <class F>
__global__ void map_kernel(F f, int64_t n) {
    for (int64_t i = first_index(); i < n; i += grid_stride()) f(i);
}

__device__ inline float stab_sign(float z, float eps) { return z >= 0.0f ? eps : -eps; }

// As the CPU's std::min(std::max(v, lo), hi), comparison for comparison: a NaN input stays NaN and −0
// stays −0 (fminf/fmaxf would turn NaN into a bound and may turn −0 into +0).
struct ClampMap {
    const float* x; float* y; float lo, hi;
    __device__ void operator()(int64_t i) const {
        const float v = x[i];
        const float above = v < lo ? lo : v;
        y[i] = hi < above ? hi : above;
    }
};
struct ScaleMap {
    const float* x; float* y; float a;
    __device__ void operator()(int64_t i) const { y[i] = __fmul_rn(a, x[i]); }
};
struct StabilizeMap {
    const float* z; float* y; float eps;
    __device__ void operator()(int64_t i) const { y[i] = __fadd_rn(z[i], stab_sign(z[i], eps)); }
};
struct StabilizedDivideMap {
    const float* num; const float* den; float* out; float eps;
    __device__ void operator()(int64_t i) const { out[i] = __fdiv_rn(num[i], __fadd_rn(den[i], stab_sign(den[i], eps))); }
};
struct MultiplyAccumulateMap {
    const float* a; const float* b; float* acc; float c;
    __device__ void operator()(int64_t i) const {
        const float term = b ? __fmul_rn(__fmul_rn(c, a[i]), b[i]) : __fmul_rn(c, a[i]);
        acc[i] = __fadd_rn(acc[i], term);
    }
};
struct SignMaskMap {
    const float* z; const float* x; float* y; int sign;
    __device__ void operator()(int64_t i) const { y[i] = (sign > 0 ? z[i] > 0.0f : z[i] < 0.0f) ? x[i] : 0.0f; }
};

// The generic kernels of engine/elementwise.h: the same float expressions as the CPU loops.
struct UnaryMap {
    const float* x; float* y; UnaryFn f;
    __device__ void operator()(int64_t i) const { y[i] = unary_forward(f, x[i]); }
};
struct UnaryBackwardMap {
    const float* x; const float* gy; float* gx; UnaryFn f;
    __device__ void operator()(int64_t i) const { gx[i] = gy[i] * unary_derivative(f, x[i]); }
};
struct BinaryMap {
    const float* a; const float* b; float* out; BinaryKind kind; StridedMap ma, mb;
    __device__ void operator()(int64_t i) const { out[i] = binary_apply(kind, a[ma.at(i)], b[mb.at(i)]); }
};
// One thread per output element, summing its reduced sub-box in double (as the CPU does).
struct ReduceSumMap {
    const float* x; float* out; StridedMap base, sub; int64_t count;
    __device__ void operator()(int64_t o) const {
        const int64_t start = base.at(o);
        double acc = 0.0;
        for (int64_t r = 0; r < count; ++r) acc += x[start + sub.at(r)];
        out[o] = static_cast<float>(acc);
    }
};
struct GatherMap {
    const float* src; float* dst; StridedMap map;
    __device__ void operator()(int64_t i) const { dst[i] = src[map.at(i)]; }
};
struct ScatterMap {
    const float* src; float* dst; StridedMap map;
    __device__ void operator()(int64_t i) const { dst[map.at(i)] = src[i]; }
};

// ---------------------------------------------------------------------------------------------

class CudaBackend final : public Backend {
public:
    explicit CudaBackend(int device);
    ~CudaBackend() override;
    CudaBackend(const CudaBackend&) = delete;
    CudaBackend& operator=(const CudaBackend&) = delete;

    Device device() const override { return Device::CUDA; }
    std::string name() const override { return m_name; }
    unsigned kernels() const override { return Kernel::All; }

    Tensor empty(const Shape& shape) override;
    Tensor upload(const Tensor& host) override;
    Tensor download(const Tensor& tensor) override;

    void conv2d_forward(const Tensor& x, const Tensor& w, const Tensor* bias, const ConvGeometry& g,
                        Tensor& y) override {
        activate();
        const Tensor dw = param(w);
        const Tensor dbias = bias ? param(*bias) : Tensor();
        m_conv->forward(x, dw, bias ? &dbias : nullptr, g, y);
    }
    void conv2d_backward_data(const Tensor& gy, const Tensor& w, const ConvGeometry& g, Tensor& gx) override {
        activate();
        m_conv->backward_data(gy, param(w), g, gx);
    }
    void linear_forward(const Tensor& x, const Tensor& w, const Tensor* bias, Tensor& y) override;
    void linear_backward_data(const Tensor& gy, const Tensor& w, Tensor& gx) override;
    void pool2d_forward(PoolKind kind, const Tensor& x, const PoolGeometry& g, Tensor& y) override {
        activate();
        cuda_detail::cuda_pool_forward(kind, x, g, y, m_stream);
    }
    void pool2d_backward(PoolKind kind, const Tensor& x, const Tensor& gy, const PoolGeometry& g,
                         Tensor& gx) override {
        activate();
        cuda_detail::cuda_pool_backward(kind, x, gy, g, gx, *m_pool, m_stream);
    }

    void fill(Tensor& t, float value) override;
    void copy(const Tensor& src, Tensor& dst) override;
    void add(const Tensor& a, const Tensor& b, Tensor& out) override;
    void mul(const Tensor& a, const Tensor& b, Tensor& out) override;
    void unary(const UnaryFn& f, const Tensor& x, Tensor& y) override {
        check_same("unary", x, {&y});
        launch("unary", x.numel(), UnaryMap{x.data(), y.data(), f});
    }
    void unary_backward(const UnaryFn& f, const Tensor& x, const Tensor& gy, Tensor& gx) override {
        check_same("unary_backward", x, {&gy, &gx});
        launch("unary_backward", x.numel(), UnaryBackwardMap{x.data(), gy.data(), gx.data(), f});
    }
    void binary(BinaryKind kind, const Tensor& a_in, const Tensor& b_in, Tensor& out) override {
        // A host operand is an op's constant: uploaded once and kept, like weights.
        const Tensor a = a_in.device() == Device::CUDA ? a_in : param(a_in);
        const Tensor b = b_in.device() == Device::CUDA ? b_in : param(b_in);
        require_cuda(out, "binary", "out");
        const StridedMap ma = broadcast_map(a.shape(), out.shape(), "binary");
        const StridedMap mb = broadcast_map(b.shape(), out.shape(), "binary");
        launch("binary", out.numel(), BinaryMap{a.data(), b.data(), out.data(), kind, ma, mb});
    }
    void reduce_sum(const Tensor& x, Tensor& out) override {
        require_cuda(x, "reduce_sum", "x");
        require_cuda(out, "reduce_sum", "out");
        StridedMap base, sub;
        const int64_t count = reduce_maps(x.shape(), out.shape(), base, sub);
        launch("reduce_sum", out.numel(), ReduceSumMap{x.data(), out.data(), base, sub, count});
    }
    void gather(const Tensor& src, const StridedMap& map, Tensor& dst) override {
        check_map(src, map, dst, "gather");
        require_cuda(src, "gather", "src");
        require_cuda(dst, "gather", "dst");
        launch("gather", dst.numel(), GatherMap{src.data(), dst.data(), map});
    }
    void scatter(const Tensor& src, const StridedMap& map, Tensor& dst) override {
        check_map(dst, map, src, "scatter");
        require_cuda(src, "scatter", "src");
        require_cuda(dst, "scatter", "dst");
        launch("scatter", src.numel(), ScatterMap{src.data(), dst.data(), map});
    }
    void channel_affine(const Tensor& x, const Tensor& scale, const Tensor* shift, Tensor& y) override;
    void copy_blocks(const Tensor& src, int64_t src_offset, int64_t src_stride, Tensor& dst, int64_t dst_offset,
                     int64_t dst_stride, int64_t count, int64_t block) override;

    void clamp(const Tensor& x, float lo, float hi, Tensor& y) override {
        check_same("clamp", x, {&y});
        launch("clamp", x.numel(), ClampMap{x.data(), y.data(), lo, hi});
    }
    void scale(const Tensor& x, float a, Tensor& y) override {
        check_same("scale", x, {&y});
        launch("scale", x.numel(), ScaleMap{x.data(), y.data(), a});
    }
    void stabilize(const Tensor& z, float eps, Tensor& y) override {
        check_same("stabilize", z, {&y});
        launch("stabilize", z.numel(), StabilizeMap{z.data(), y.data(), eps});
    }
    void stabilized_divide(const Tensor& num, const Tensor& den, float eps, Tensor& out) override {
        check_same("stabilized_divide", num, {&den, &out});
        launch("stabilized_divide", num.numel(), StabilizedDivideMap{num.data(), den.data(), out.data(), eps});
    }
    void multiply_accumulate(const Tensor& a, const Tensor* b, float c, Tensor& acc) override {
        check_same("multiply_accumulate", a, {b, &acc});
        launch("multiply_accumulate", a.numel(), MultiplyAccumulateMap{a.data(), b ? b->data() : nullptr, acc.data(), c});
    }
    std::pair<float, float> min_max(const Tensor& t) override;
    void sign_mask(const Tensor& z, int sign, const Tensor& x, Tensor& y) override {
        check_same("sign_mask", z, {&x, &y});
        launch("sign_mask", z.numel(), SignMaskMap{z.data(), x.data(), y.data(), sign});
    }

private:
    // Every tensor on this device with as many elements as `first` (null entries are skipped).
    static void check_same(const char* kernel, const Tensor& first, std::initializer_list<const Tensor*> others) {
        require_cuda(first, kernel, "input");
        for (const Tensor* t : others) {
            if (!t) continue;
            require_cuda(*t, kernel, "operand");
            require_numel(*t, first.numel(), kernel, "operand");
        }
    }
    template <class F>
    void launch(const char* kernel, int64_t n, const F& f) {
        if (n == 0) return;
        activate();
        map_kernel<<<blocks_for(n), kThreads, 0, m_stream>>>(f, n);
        cuda_detail::check(cudaGetLastError(), (std::string("launch of ") + kernel + "_kernel").c_str(), __FILE__,
                           __LINE__);
    }
    // A parameter on this device: device tensors as they are, host tensors (an op's weights in the
    // graph) uploaded once and kept while they live.
    Tensor param(const Tensor& t) {
        if (!t.defined()) fail("parameter", "undefined tensor");
        return m_params.get(t, [this](const Tensor& host) { return upload(host); });
    }
    // Makes this backend's device current (kernels and cuBLAS calls must run on it).
    void activate() const { RELPROP_CUDA_CHECK(cudaSetDevice(m_device)); }
    void release() noexcept;

    int m_device;
    std::string m_name;
    cudaStream_t m_stream = nullptr;
    cublasHandle_t m_cublas = nullptr;
    cudnnHandle_t m_cudnn = nullptr;
    std::shared_ptr<cuda_detail::DevicePool> m_pool;
    std::unique_ptr<cuda_detail::Workspace> m_workspace;
    std::unique_ptr<cuda_detail::CudnnConv> m_conv;
    cuda_detail::ResidentParams m_params;
};

CudaBackend::CudaBackend(int device) : m_device(device) {
    const int count = cuda_device_count();
    if (device < 0 || device >= count)
        throw Error("CUDA device " + std::to_string(device) + " does not exist (" + std::to_string(count) +
                    " usable CUDA GPU(s) found)");
    try {
        activate();
        cudaDeviceProp props{};
        RELPROP_CUDA_CHECK(cudaGetDeviceProperties(&props, m_device));
        m_name = "cuda:" + std::to_string(m_device) + " (" + props.name + ")";
        RELPROP_CUDA_CHECK(cudaStreamCreate(&m_stream));
        RELPROP_CUDA_CHECK(cublasCreate(&m_cublas));
        RELPROP_CUDA_CHECK(cublasSetStream(m_cublas, m_stream));
        // Plain FP32 GEMMs: CUBLAS_DEFAULT_MATH never uses TF32 tensor ops (only
        // CUBLAS_TF32_TENSOR_OP_MATH would), so results agree with the CPU to ~1e-6 relative.
        RELPROP_CUDA_CHECK(cublasSetMathMode(m_cublas, CUBLAS_DEFAULT_MATH));
        RELPROP_CUDA_CHECK(cudnnCreate(&m_cudnn));
        RELPROP_CUDA_CHECK(cudnnSetStream(m_cudnn, m_stream));
        m_pool = std::make_shared<cuda_detail::DevicePool>(m_device);
        m_workspace = std::make_unique<cuda_detail::Workspace>(m_device, *m_pool);
        m_conv = std::make_unique<cuda_detail::CudnnConv>(m_cudnn, m_stream, *m_pool, *m_workspace);
    } catch (...) {
        release();
        throw;
    }
}

CudaBackend::~CudaBackend() { release(); }

void CudaBackend::release() noexcept {
    // Errors are ignored: nothing can be done about them here (e.g. at process exit).
    cudaSetDevice(m_device);
    if (m_stream) cudaStreamSynchronize(m_stream);
    m_params.clear();
    m_conv.reset();
    m_workspace.reset();
    if (m_pool) m_pool->trim();  // tensors still alive return their blocks to the pool later
    if (m_cudnn) cudnnDestroy(m_cudnn);
    if (m_cublas) cublasDestroy(m_cublas);
    if (m_stream) cudaStreamDestroy(m_stream);
    m_cudnn = nullptr;
    m_cublas = nullptr;
    m_stream = nullptr;
}

// ---- memory ----------------------------------------------------------------------------------

Tensor CudaBackend::empty(const Shape& shape) {
    activate();
    return m_pool->allocate(shape);
}

Tensor CudaBackend::upload(const Tensor& host) {
    if (!host.defined()) fail("upload", "the tensor is undefined");
    if (host.device() != Device::CPU) fail("upload", "the tensor is already a " + device_name(host.device()) + " tensor");
    Tensor t = empty(host.shape());
    if (host.numel() > 0) {
        RELPROP_CUDA_CHECK(cudaMemcpyAsync(t.data(), host.data(), static_cast<size_t>(host.numel()) * sizeof(float),
                                           cudaMemcpyHostToDevice, m_stream));
        RELPROP_CUDA_CHECK(cudaStreamSynchronize(m_stream));
    }
    return t;
}

Tensor CudaBackend::download(const Tensor& tensor) {
    require_cuda(tensor, "download", "the tensor");
    activate();
    Tensor host(tensor.shape());
    if (tensor.numel() > 0) {
        RELPROP_CUDA_CHECK(cudaMemcpyAsync(host.data(), tensor.data(),
                                           static_cast<size_t>(tensor.numel()) * sizeof(float),
                                           cudaMemcpyDeviceToHost, m_stream));
    }
    // Also reports errors of earlier asynchronous kernels.
    RELPROP_CUDA_CHECK(cudaStreamSynchronize(m_stream));
    return host;
}

// ---- elementwise ------------------------------------------------------------------------------

void CudaBackend::fill(Tensor& t, float value) {
    require_cuda(t, "fill", "t");
    const int64_t n = t.numel();
    if (n == 0) return;
    activate();
    fill_kernel<<<blocks_for(n), kThreads, 0, m_stream>>>(t.data(), n, value);
    RELPROP_CUDA_CHECK_LAUNCH("fill_kernel");
}

void CudaBackend::copy(const Tensor& src, Tensor& dst) {
    require_cuda(src, "copy", "src");
    require_cuda(dst, "copy", "dst");
    require_numel(dst, src.numel(), "copy", "dst");
    if (src.numel() == 0 || src.data() == dst.data()) return;
    activate();
    RELPROP_CUDA_CHECK(cudaMemcpyAsync(dst.data(), src.data(), static_cast<size_t>(src.numel()) * sizeof(float),
                                       cudaMemcpyDeviceToDevice, m_stream));
}

void CudaBackend::add(const Tensor& a, const Tensor& b, Tensor& out) {
    require_cuda(a, "add", "a");
    require_cuda(b, "add", "b");
    require_cuda(out, "add", "out");
    require_numel(b, a.numel(), "add", "b");
    require_numel(out, a.numel(), "add", "out");
    const int64_t n = a.numel();
    if (n == 0) return;
    activate();
    add_kernel<<<blocks_for(n), kThreads, 0, m_stream>>>(a.data(), b.data(), out.data(), n);
    RELPROP_CUDA_CHECK_LAUNCH("add_kernel");
}

void CudaBackend::mul(const Tensor& a, const Tensor& b, Tensor& out) {
    require_cuda(a, "mul", "a");
    require_cuda(b, "mul", "b");
    require_cuda(out, "mul", "out");
    require_numel(b, a.numel(), "mul", "b");
    require_numel(out, a.numel(), "mul", "out");
    const int64_t n = a.numel();
    if (n == 0) return;
    activate();
    mul_kernel<<<blocks_for(n), kThreads, 0, m_stream>>>(a.data(), b.data(), out.data(), n);
    RELPROP_CUDA_CHECK_LAUNCH("mul_kernel");
}

void CudaBackend::channel_affine(const Tensor& x, const Tensor& scale_in, const Tensor* shift_in, Tensor& y) {
    require_cuda(x, "channel_affine", "x");
    const Tensor scale = param(scale_in);
    Tensor shift_device;
    if (shift_in) shift_device = param(*shift_in);
    const Tensor* shift = shift_in ? &shift_device : nullptr;
    require_cuda(scale, "channel_affine", "scale");
    require_cuda(y, "channel_affine", "y");
    if (x.rank() < 2) fail("channel_affine", "x has shape " + shape_str(x.shape()) + ", expected [N, C, ...]");
    const int64_t channels = x.dim(1);
    require_numel(scale, channels, "channel_affine", "scale");
    if (shift) {
        require_cuda(*shift, "channel_affine", "shift");
        require_numel(*shift, channels, "channel_affine", "shift");
    }
    require_numel(y, x.numel(), "channel_affine", "y");
    const int64_t n = x.numel();
    if (n == 0) return;
    const int64_t inner = n / (x.dim(0) * channels);
    activate();
    channel_affine_kernel<<<blocks_for(n), kThreads, 0, m_stream>>>(x.data(), scale.data(),
                                                                     shift ? shift->data() : nullptr, y.data(), n,
                                                                     channels, inner);
    RELPROP_CUDA_CHECK_LAUNCH("channel_affine_kernel");
}

void CudaBackend::copy_blocks(const Tensor& src, int64_t src_offset, int64_t src_stride, Tensor& dst,
                              int64_t dst_offset, int64_t dst_stride, int64_t count, int64_t block) {
    require_cuda(src, "copy_blocks", "src");
    require_cuda(dst, "copy_blocks", "dst");
    if (count < 0 || block < 0 || src_offset < 0 || dst_offset < 0 || src_stride < 0 || dst_stride < 0)
        fail("copy_blocks", "offsets, strides, count and block must not be negative");
    if (count == 0 || block == 0) return;
    const auto in_range = [&](int64_t offset, int64_t stride, const Tensor& t) {
        return offset + (count - 1) * stride + block <= t.numel();
    };
    if (!in_range(src_offset, src_stride, src))
        fail("copy_blocks", "reads past the end of src " + shape_str(src.shape()));
    if (!in_range(dst_offset, dst_stride, dst))
        fail("copy_blocks", "writes past the end of dst " + shape_str(dst.shape()));
    activate();
    copy_blocks_kernel<<<blocks_for(count * block), kThreads, 0, m_stream>>>(
        src.data(), src_offset, src_stride, dst.data(), dst_offset, dst_stride, count, block);
    RELPROP_CUDA_CHECK_LAUNCH("copy_blocks_kernel");
}

// Two-stage reduction with own kernels on the stream (thrust's minmax_element would cudaMalloc/cudaFree
// scratch at every call, and its `<` comparisons would let a NaN through where the CPU skips it).
std::pair<float, float> CudaBackend::min_max(const Tensor& t) {
    require_cuda(t, "min_max", "t");
    const int64_t n = t.numel();
    if (n == 0) return {INFINITY, -INFINITY};
    activate();
    constexpr unsigned kMaxPartials = 1024;
    const unsigned blocks = std::min(blocks_for(n), kMaxPartials);
    Tensor partial = m_pool->allocate({2 * static_cast<int64_t>(blocks)});
    Tensor result = m_pool->allocate({2});
    min_max_kernel<<<blocks, kThreads, 0, m_stream>>>(t.data(), t.data(), n, partial.data(), partial.data() + blocks);
    RELPROP_CUDA_CHECK_LAUNCH("min_max_kernel");
    min_max_kernel<<<1, kThreads, 0, m_stream>>>(partial.data(), partial.data() + blocks, blocks, result.data(),
                                                 result.data() + 1);
    RELPROP_CUDA_CHECK_LAUNCH("min_max_kernel (final)");
    float values[2];
    RELPROP_CUDA_CHECK(cudaMemcpyAsync(values, result.data(), sizeof values, cudaMemcpyDeviceToHost, m_stream));
    RELPROP_CUDA_CHECK(cudaStreamSynchronize(m_stream));
    return {values[0], values[1]};
}

// ---- linear (cuBLAS) --------------------------------------------------------------------------
// cuBLAS is column-major: a row-major [R, C] buffer is the column-major C×R matrix (its transpose)
// with leading dimension C.

void CudaBackend::linear_forward(const Tensor& x, const Tensor& w_in, const Tensor* bias_in, Tensor& y) {
    require_cuda(x, "linear_forward", "x");
    const Tensor w = param(w_in);
    Tensor bias_device;
    if (bias_in) bias_device = param(*bias_in);
    const Tensor* bias = bias_in ? &bias_device : nullptr;
    require_cuda(w, "linear_forward", "w");
    require_cuda(y, "linear_forward", "y");
    require_rank(x, 2, "linear_forward", "x");
    require_rank(w, 2, "linear_forward", "w");
    const int64_t n = x.dim(0), k = x.dim(1), m = w.dim(0);
    if (w.dim(1) != k)
        fail("linear_forward", "x " + shape_str(x.shape()) + " and w " + shape_str(w.shape()) + " disagree on K");
    if (y.shape() != Shape{n, m})
        fail("linear_forward", "y has shape " + shape_str(y.shape()) + ", expected " + shape_str({n, m}));
    if (bias) {
        require_cuda(*bias, "linear_forward", "bias");
        require_numel(*bias, m, "linear_forward", "bias");
    }
    if (n == 0 || m == 0) return;
    activate();
    if (bias) {
        broadcast_rows_kernel<<<blocks_for(n * m), kThreads, 0, m_stream>>>(bias->data(), y.data(), n, m);
        RELPROP_CUDA_CHECK_LAUNCH("broadcast_rows_kernel");
    } else if (k == 0) {
        fill(y, 0.0f);
    }
    if (k == 0) return;  // y = bias (or 0); cuBLAS rejects a leading dimension of 0
    // Column-major: yᵀ [M×N, ld M] = W [M×K] · xᵀ [K×N], where W = op_T(w's buffer, K×M, ld K)
    // and xᵀ = x's buffer (K×N, ld K).
    const float alpha = 1.0f;
    const float beta = bias ? 1.0f : 0.0f;
    const int bm = int_dim(m, "linear_forward"), bn = int_dim(n, "linear_forward"), bk = int_dim(k, "linear_forward");
    RELPROP_CUDA_CHECK(cublasSgemm(m_cublas, CUBLAS_OP_T, CUBLAS_OP_N, bm, bn, bk, &alpha, w.data(), bk, x.data(), bk,
                                   &beta, y.data(), bm));
}

void CudaBackend::linear_backward_data(const Tensor& gy, const Tensor& w_in, Tensor& gx) {
    require_cuda(gy, "linear_backward_data", "gy");
    const Tensor w = param(w_in);
    require_cuda(w, "linear_backward_data", "w");
    require_cuda(gx, "linear_backward_data", "gx");
    require_rank(gy, 2, "linear_backward_data", "gy");
    require_rank(w, 2, "linear_backward_data", "w");
    const int64_t n = gy.dim(0), m = gy.dim(1), k = w.dim(1);
    if (w.dim(0) != m)
        fail("linear_backward_data",
             "gy " + shape_str(gy.shape()) + " and w " + shape_str(w.shape()) + " disagree on M");
    if (gx.shape() != Shape{n, k})
        fail("linear_backward_data", "gx has shape " + shape_str(gx.shape()) + ", expected " + shape_str({n, k}));
    if (n == 0 || k == 0) return;
    if (m == 0) {
        fill(gx, 0.0f);
        return;
    }
    activate();
    // Column-major: gxᵀ [K×N, ld K] = wᵀ [K×M] (w's buffer, ld K) · gyᵀ [M×N] (gy's buffer, ld M).
    const float alpha = 1.0f;
    const float beta = 0.0f;
    const int bm = int_dim(m, "linear_backward_data"), bn = int_dim(n, "linear_backward_data"),
              bk = int_dim(k, "linear_backward_data");
    RELPROP_CUDA_CHECK(cublasSgemm(m_cublas, CUBLAS_OP_N, CUBLAS_OP_N, bk, bn, bm, &alpha, w.data(), bk, gy.data(), bm,
                                   &beta, gx.data(), bk));
}

}  // namespace

int cuda_device_count() {
    int count = 0;
    const cudaError_t status = cudaGetDeviceCount(&count);
    if (status != cudaSuccess) {
        cudaGetLastError();  // clear it, so later checks don't report it
        return 0;
    }
    return count;
}

std::unique_ptr<Backend> make_cuda_backend(int device) {
    return std::make_unique<CudaBackend>(device);
}

}  // namespace relprop
