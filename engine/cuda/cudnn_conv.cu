#include "engine/cuda/cudnn_conv.h"

#include <algorithm>
#include <cstdlib>
#include <string>

#include "engine/cuda/cuda_args.h"
#include "engine/cuda/cuda_check.h"

namespace relprop::cuda_detail {

namespace {

// dst [planes, hp, wp] = src [planes, h, w] placed at (top, left), zeros around it.
__global__ void pad_planes_kernel(const float* src, int64_t h, int64_t w, float* dst, int64_t hp, int64_t wp,
                                  int64_t top, int64_t left, int64_t n) {
    for (int64_t k = first_index(); k < n; k += grid_stride()) {
        const int64_t j = k % wp, i = (k / wp) % hp, p = k / (wp * hp);
        const int64_t si = i - top, sj = j - left;
        dst[k] = (si >= 0 && si < h && sj >= 0 && sj < w) ? src[(p * h + si) * w + sj] : 0.0f;
    }
}

// dst [planes, h, w] = the window of src [planes, hp, wp] at (top, left).
__global__ void crop_planes_kernel(const float* src, int64_t hp, int64_t wp, float* dst, int64_t h, int64_t w,
                                   int64_t top, int64_t left, int64_t n) {
    for (int64_t k = first_index(); k < n; k += grid_stride()) {
        const int64_t j = k % w, i = (k / w) % h, p = k / (w * h);
        dst[k] = src[(p * hp + i + top) * wp + j + left];
    }
}

bool all_algorithms() {
    static const bool all = [] {
        const char* v = std::getenv("RELPROP_CUDNN_ALGOS");
        return v && std::string(v) == "all";
    }();
    return all;
}

// RELPROP_CUDNN_SEARCH=timed: cuDNN runs every algorithm once per shape and ranks them by measured
// time (cudnnFind*, as torch.backends.cudnn.benchmark does); otherwise its heuristics rank them without
// running anything. The same filters apply to either ranking (pick_algorithm).
bool timed_search() {
    static const bool timed = [] {
        const char* v = std::getenv("RELPROP_CUDNN_SEARCH");
        return v && std::string(v) == "timed";
    }();
    return timed;
}

// Algorithms whose FP32 results differ from a direct sum by more than rounding (FFT, Winograd).
bool approximate(cudnnConvolutionFwdAlgo_t a) {
    return a == CUDNN_CONVOLUTION_FWD_ALGO_FFT || a == CUDNN_CONVOLUTION_FWD_ALGO_FFT_TILING ||
           a == CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD || a == CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD_NONFUSED;
}
bool approximate(cudnnConvolutionBwdDataAlgo_t a) {
    return a == CUDNN_CONVOLUTION_BWD_DATA_ALGO_FFT || a == CUDNN_CONVOLUTION_BWD_DATA_ALGO_FFT_TILING ||
           a == CUDNN_CONVOLUTION_BWD_DATA_ALGO_WINOGRAD || a == CUDNN_CONVOLUTION_BWD_DATA_ALGO_WINOGRAD_NONFUSED;
}

// No TF32. The descriptor's math type is CUDNN_FMA_MATH and stays so (it is what runs: cuDNN executes an
// algorithm with the descriptor's math type, not the one a heuristic entry reports). With FMA set, the
// heuristics report CUDNN_FMA_MATH entries; a CUDNN_DEFAULT_MATH entry (which on A100/H100 could stand
// for a TF32 kernel) is taken only when no FMA entry fits, and then still runs under FMA math. Entries
// reporting tensor-op math are never taken.
int math_rank(cudnnMathType_t m) { return m == CUDNN_FMA_MATH ? 0 : m == CUDNN_DEFAULT_MATH ? 1 : -1; }

std::string shapes_text(const Shape& x, const Shape& w, const Shape& y) {
    return "input " + shape_str(x) + ", weights " + shape_str(w) + ", output " + shape_str(y);
}

template <class Desc, auto Create, auto Destroy>
struct Owned {
    Desc desc = nullptr;
    Owned() { RELPROP_CUDA_CHECK(Create(&desc)); }
    ~Owned() { Destroy(desc); }
    Owned(const Owned&) = delete;
    Owned& operator=(const Owned&) = delete;
};

using TensorDesc = Owned<cudnnTensorDescriptor_t, cudnnCreateTensorDescriptor, cudnnDestroyTensorDescriptor>;
using FilterDesc = Owned<cudnnFilterDescriptor_t, cudnnCreateFilterDescriptor, cudnnDestroyFilterDescriptor>;
using ConvDesc =
    Owned<cudnnConvolutionDescriptor_t, cudnnCreateConvolutionDescriptor, cudnnDestroyConvolutionDescriptor>;

void set_4d(const TensorDesc& d, const Shape& s, const char* kernel) {
    RELPROP_CUDA_CHECK(cudnnSetTensor4dDescriptor(d.desc, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, int_dim(s[0], kernel),
                                                  int_dim(s[1], kernel), int_dim(s[2], kernel),
                                                  int_dim(s[3], kernel)));
}

}  // namespace

struct CudnnConv::Entry {
    // Explicit padding beyond the symmetric part cuDNN applies (zero when the pads are symmetric).
    std::array<int64_t, 2> extra_begin{0, 0}, extra_end{0, 0};
    Shape padded;  // the input shape cuDNN sees
    bool explicit_pad = false;
    TensorDesc x, y, bias;
    FilterDesc w;
    ConvDesc conv;
    bool has_forward = false, has_backward = false;
    cudnnConvolutionFwdAlgo_t fwd_algo{};
    cudnnConvolutionBwdDataAlgo_t bwd_algo{};
    size_t fwd_bytes = 0, bwd_bytes = 0;
};

CudnnConv::CudnnConv(cudnnHandle_t handle, cudaStream_t stream, DevicePool& pool, Workspace& workspace)
    : m_handle(handle), m_stream(stream), m_pool(pool), m_workspace(workspace) {}

CudnnConv::~CudnnConv() = default;

size_t CudnnConv::workspace_limit() const {
    size_t free_bytes = 0, total = 0;
    if (cudaMemGetInfo(&free_bytes, &total) != cudaSuccess) {
        cudaGetLastError();
        free_bytes = 0;
    }
    return m_workspace.size() + m_pool.cached_bytes() / 2 + free_bytes / 2;
}

CudnnConv::Entry& CudnnConv::entry(const Shape& x, const Shape& w, const ConvGeometry& g, const Shape& y) {
    std::vector<int64_t> key{x[0], x[1], x[2], x[3], w[0], w[1], w[2], w[3], y[0], y[1], y[2], y[3], g.groups};
    for (int i = 0; i < 2; ++i)
        key.insert(key.end(), {g.stride[i], g.pad_begin[i], g.pad_end[i], g.dilation[i]});
    auto it = m_entries.find(key);
    if (it != m_entries.end()) return *it->second;

    const char* kernel = "conv2d";
    auto e = std::make_unique<Entry>();
    std::array<int, 2> pad{};
    e->padded = x;
    for (int i = 0; i < 2; ++i) {
        const int64_t common = std::min(g.pad_begin[i], g.pad_end[i]);
        pad[i] = int_dim(common, kernel);
        e->extra_begin[i] = g.pad_begin[i] - common;
        e->extra_end[i] = g.pad_end[i] - common;
        e->padded[2 + i] += e->extra_begin[i] + e->extra_end[i];
        e->explicit_pad = e->explicit_pad || e->extra_begin[i] > 0 || e->extra_end[i] > 0;
    }
    if (g.groups < 1 || x[1] != w[1] * g.groups || w[0] % g.groups != 0)
        fail(kernel, "groups " + std::to_string(g.groups) + " do not fit " + shapes_text(x, w, y));
    set_4d(e->x, e->padded, kernel);
    set_4d(e->y, y, kernel);
    set_4d(e->bias, {1, y[1], 1, 1}, kernel);
    RELPROP_CUDA_CHECK(cudnnSetFilter4dDescriptor(e->w.desc, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW,
                                                  int_dim(w[0], kernel), int_dim(w[1], kernel),
                                                  int_dim(w[2], kernel), int_dim(w[3], kernel)));
    RELPROP_CUDA_CHECK(cudnnSetConvolution2dDescriptor(
        e->conv.desc, pad[0], pad[1], int_dim(g.stride[0], kernel), int_dim(g.stride[1], kernel),
        int_dim(g.dilation[0], kernel), int_dim(g.dilation[1], kernel), CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT));
    RELPROP_CUDA_CHECK(cudnnSetConvolutionGroupCount(e->conv.desc, int_dim(g.groups, kernel)));
    RELPROP_CUDA_CHECK(cudnnSetConvolutionMathType(e->conv.desc, CUDNN_FMA_MATH));

    int n = 0, c = 0, h = 0, wd = 0;
    RELPROP_CUDA_CHECK(cudnnGetConvolution2dForwardOutputDim(e->conv.desc, e->x.desc, e->w.desc, &n, &c, &h, &wd));
    if (Shape{n, c, h, wd} != y)
        fail(kernel, "cuDNN computes output " + shape_str({n, c, h, wd}) + " for " + shapes_text(x, w, y));
    return *m_entries.emplace(std::move(key), std::move(e)).first->second;
}

namespace {

// The first usable algorithm in cuDNN's heuristic order: status success, FP32 math (no TF32), not
// approximate (unless RELPROP_CUDNN_ALGOS=all), workspace within `limit`; FMA entries before
// CUDNN_DEFAULT_MATH ones, and deterministic ones first within each. `workspace(algo, &bytes)` asks
// cuDNN for an algorithm's workspace (under the descriptor's FMA math). False if there is none.
template <class Perf, class Algo, class WorkspaceFn>
bool pick_algorithm(const std::vector<Perf>& perf, int returned, size_t limit, WorkspaceFn workspace, Algo& algo,
                    size_t& bytes) {
    returned = std::min(returned, static_cast<int>(perf.size()));
    for (int pass = 0; pass < 4; ++pass) {
        for (int i = 0; i < returned; ++i) {
            const Perf& p = perf[static_cast<size_t>(i)];
            if (p.status != CUDNN_STATUS_SUCCESS || math_rank(p.mathType) != pass / 2) continue;
            if (pass % 2 == 0 && p.determinism != CUDNN_DETERMINISTIC) continue;
            if (!all_algorithms() && approximate(p.algo)) continue;
            size_t need = 0;
            if (workspace(p.algo, &need) != CUDNN_STATUS_SUCCESS || need > limit) continue;
            algo = p.algo;
            bytes = need;
            return true;
        }
    }
    return false;
}

}  // namespace

void CudnnConv::choose_forward(Entry& e) {
    int count = 0;
    RELPROP_CUDA_CHECK(cudnnGetConvolutionForwardAlgorithmMaxCount(m_handle, &count));
    std::vector<cudnnConvolutionFwdAlgoPerf_t> perf(static_cast<size_t>(std::max(count, 1)));
    int returned = 0;
    if (timed_search())
        RELPROP_CUDA_CHECK(cudnnFindConvolutionForwardAlgorithm(m_handle, e.x.desc, e.w.desc, e.conv.desc, e.y.desc,
                                                                static_cast<int>(perf.size()), &returned,
                                                                perf.data()));
    else
        RELPROP_CUDA_CHECK(cudnnGetConvolutionForwardAlgorithm_v7(m_handle, e.x.desc, e.w.desc, e.conv.desc,
                                                                  e.y.desc, static_cast<int>(perf.size()), &returned,
                                                                  perf.data()));
    const size_t limit = workspace_limit();
    const auto workspace = [&](cudnnConvolutionFwdAlgo_t algo, size_t* bytes) {
        return cudnnGetConvolutionForwardWorkspaceSize(m_handle, e.x.desc, e.w.desc, e.conv.desc, e.y.desc, algo,
                                                       bytes);
    };
    e.has_forward = pick_algorithm(perf, returned, limit, workspace, e.fwd_algo, e.fwd_bytes);
    if (!e.has_forward)
        fail("conv2d_forward", "cuDNN offers no FP32 (non-TF32) algorithm within " + std::to_string(limit >> 20) +
                                   " MiB of workspace for input " + shape_str(e.padded));
}

void CudnnConv::choose_backward(Entry& e) {
    int count = 0;
    RELPROP_CUDA_CHECK(cudnnGetConvolutionBackwardDataAlgorithmMaxCount(m_handle, &count));
    std::vector<cudnnConvolutionBwdDataAlgoPerf_t> perf(static_cast<size_t>(std::max(count, 1)));
    int returned = 0;
    if (timed_search())
        RELPROP_CUDA_CHECK(cudnnFindConvolutionBackwardDataAlgorithm(m_handle, e.w.desc, e.y.desc, e.conv.desc,
                                                                     e.x.desc, static_cast<int>(perf.size()),
                                                                     &returned, perf.data()));
    else
        RELPROP_CUDA_CHECK(cudnnGetConvolutionBackwardDataAlgorithm_v7(m_handle, e.w.desc, e.y.desc, e.conv.desc,
                                                                       e.x.desc, static_cast<int>(perf.size()),
                                                                       &returned, perf.data()));
    const size_t limit = workspace_limit();
    const auto workspace = [&](cudnnConvolutionBwdDataAlgo_t algo, size_t* bytes) {
        return cudnnGetConvolutionBackwardDataWorkspaceSize(m_handle, e.w.desc, e.y.desc, e.conv.desc, e.x.desc,
                                                            algo, bytes);
    };
    e.has_backward = pick_algorithm(perf, returned, limit, workspace, e.bwd_algo, e.bwd_bytes);
    if (!e.has_backward)
        fail("conv2d_backward_data", "cuDNN offers no FP32 (non-TF32) algorithm within " +
                                         std::to_string(limit >> 20) + " MiB of workspace for input " +
                                         shape_str(e.padded));
}

void CudnnConv::forward(const Tensor& x, const Tensor& w, const Tensor* bias, const ConvGeometry& g, Tensor& y) {
    const char* kernel = "conv2d_forward";
    require_cuda(x, kernel, "x");
    require_cuda(w, kernel, "w");
    require_cuda(y, kernel, "y");
    require_rank(x, 4, kernel, "x");
    require_rank(w, 4, kernel, "w");
    require_rank(y, 4, kernel, "y");
    if (bias) {
        require_cuda(*bias, kernel, "bias");
        require_numel(*bias, w.dim(0), kernel, "bias");
    }
    if (y.numel() == 0) return;
    std::lock_guard<std::mutex> lock(m_mutex);
    Entry& e = entry(x.shape(), w.shape(), g, y.shape());
    if (!e.has_forward) choose_forward(e);

    Tensor input = x;
    if (e.explicit_pad) {
        input = m_pool.allocate(e.padded);
        const int64_t n = input.numel();
        pad_planes_kernel<<<blocks_for(n), kThreads, 0, m_stream>>>(x.data(), x.dim(2), x.dim(3), input.data(),
                                                                     e.padded[2], e.padded[3], e.extra_begin[0],
                                                                     e.extra_begin[1], n);
        RELPROP_CUDA_CHECK_LAUNCH("pad_planes_kernel");
    }
    const float one = 1.0f, zero = 0.0f;
    void* ws = m_workspace.get(e.fwd_bytes, m_stream);
    RELPROP_CUDA_CHECK(cudnnConvolutionForward(m_handle, &one, e.x.desc, input.data(), e.w.desc, w.data(),
                                               e.conv.desc, e.fwd_algo, ws, e.fwd_bytes, &zero, e.y.desc, y.data()));
    if (bias)
        RELPROP_CUDA_CHECK(cudnnAddTensor(m_handle, &one, e.bias.desc, bias->data(), &one, e.y.desc, y.data()));
}

void CudnnConv::backward_data(const Tensor& gy, const Tensor& w, const ConvGeometry& g, Tensor& gx) {
    const char* kernel = "conv2d_backward_data";
    require_cuda(gy, kernel, "gy");
    require_cuda(w, kernel, "w");
    require_cuda(gx, kernel, "gx");
    require_rank(gy, 4, kernel, "gy");
    require_rank(w, 4, kernel, "w");
    require_rank(gx, 4, kernel, "gx");
    if (gx.numel() == 0) return;
    if (gy.numel() == 0) {  // no output positions: nothing reaches the input
        RELPROP_CUDA_CHECK(cudaMemsetAsync(gx.data(), 0, static_cast<size_t>(gx.numel()) * sizeof(float), m_stream));
        return;
    }
    std::lock_guard<std::mutex> lock(m_mutex);
    Entry& e = entry(gx.shape(), w.shape(), g, gy.shape());
    if (!e.has_backward) choose_backward(e);

    Tensor out = e.explicit_pad ? m_pool.allocate(e.padded) : gx;
    const float one = 1.0f, zero = 0.0f;
    void* ws = m_workspace.get(e.bwd_bytes, m_stream);
    RELPROP_CUDA_CHECK(cudnnConvolutionBackwardData(m_handle, &one, e.w.desc, w.data(), e.y.desc, gy.data(),
                                                    e.conv.desc, e.bwd_algo, ws, e.bwd_bytes, &zero, e.x.desc,
                                                    out.data()));
    if (e.explicit_pad) {
        const int64_t n = gx.numel();
        crop_planes_kernel<<<blocks_for(n), kThreads, 0, m_stream>>>(out.data(), e.padded[2], e.padded[3], gx.data(),
                                                                      gx.dim(2), gx.dim(3), e.extra_begin[0],
                                                                      e.extra_begin[1], n);
        RELPROP_CUDA_CHECK_LAUNCH("crop_planes_kernel");
    }
}

}  // namespace relprop::cuda_detail
