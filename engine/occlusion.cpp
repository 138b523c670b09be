#include "engine/occlusion.h"

#include <algorithm>

#include "relprop/error.hpp"

namespace relprop {

namespace {

struct Windows {
    Shape sample;                              // one sample's shape (without the batch)
    std::vector<int64_t> window, stride;       // per sample dimension (covered whole: window = size)
    std::vector<std::vector<int64_t>> starts;  // every window position (per sample dimension)
};

Windows plan_windows(const Shape& input, const OcclusionOptions& o) {
    if (o.window.empty() || o.window.size() != o.stride.size())
        throw Error("Occlusion: window and stride need the same, non-zero number of sizes (got " +
                    std::to_string(o.window.size()) + " and " + std::to_string(o.stride.size()) + ")");
    if (o.window.size() + 1 > input.size())
        throw Error("Occlusion: a " + std::to_string(o.window.size()) + "-d window does not fit the input " +
                    shape_str(input));
    if (o.max_batch < 1) throw Error("Occlusion: max_batch must be >= 1");
    Windows w;
    w.sample.assign(input.begin() + 1, input.end());
    const size_t d = w.sample.size(), first = d - o.window.size();
    w.window = w.sample;
    w.stride = w.sample;
    for (size_t k = first; k < d; ++k) {
        const int64_t win = o.window[k - first], st = o.stride[k - first];
        if (win < 1 || st < 1)
            throw Error("Occlusion: window and stride sizes must be >= 1 (got window " + std::to_string(win) +
                        ", stride " + std::to_string(st) + ")");
        w.window[k] = std::min(win, w.sample[k]);
        w.stride[k] = std::min(st, w.sample[k]);
    }
    std::vector<int64_t> at(d, 0);
    for (;;) {
        w.starts.push_back(at);
        size_t k = d;
        while (k > 0) {
            --k;
            at[k] += w.stride[k];
            if (at[k] < w.sample[k]) break;
            at[k] = 0;
            if (k == 0) return w;
        }
    }
}

// mask[i] = 1 inside the window at `start` (wrapping around), for one sample's flat index i.
std::vector<unsigned char> window_mask(const Windows& w, const std::vector<int64_t>& start) {
    const int64_t per = shape_numel(w.sample);
    std::vector<unsigned char> mask(per);
    const size_t d = w.sample.size();
    std::vector<int64_t> idx(d, 0);
    for (int64_t i = 0; i < per; ++i) {
        bool inside = true;
        for (size_t k = 0; k < d && inside; ++k) {
            const int64_t offset = (idx[k] - start[k] + w.sample[k]) % w.sample[k];
            inside = offset < w.window[k];
        }
        mask[i] = inside;
        for (size_t k = d; k-- > 0;) {
            if (++idx[k] < w.sample[k]) break;
            idx[k] = 0;
        }
    }
    return mask;
}

}  // namespace

Attribution occlusion(const Executor& executor, const Tensor& input, const std::vector<int64_t>& targets,
                      const OcclusionOptions& options) {
    require_single_io(executor.graph(), "Occlusion");
    const Tensor x = host_copy(executor, input);
    const Windows w = plan_windows(x.shape(), options);
    const int64_t n = x.dim(0), per = x.numel() / std::max<int64_t>(n, 1);

    Attribution result;
    result.output = executor.backend().download(executor.forward({x}).output());
    result.targets = resolve_targets(result.output, targets);
    result.attribution = Tensor(x.shape());
    const int64_t classes = result.output.numel() / std::max<int64_t>(n, 1);

    const int64_t group = copies_per_pass(executor.graph(), n, options.max_batch);  // positions per pass
    const bool keep = options.mode == OcclusionMode::Keep;

    for (size_t first = 0; first < w.starts.size(); first += group) {
        const int64_t count = std::min<int64_t>(group, static_cast<int64_t>(w.starts.size() - first));
        std::vector<std::vector<unsigned char>> masks;
        Shape shape = x.shape();
        shape[0] = n * count;
        Tensor occluded(shape);
        for (int64_t g = 0; g < count; ++g) {
            masks.push_back(window_mask(w, w.starts[first + g]));
            const std::vector<unsigned char>& m = masks.back();
            float* dst = occluded.data() + g * x.numel();
            for (int64_t i = 0; i < x.numel(); ++i) dst[i] = (m[i % per] != 0) == keep ? x[i] : options.fill;
        }
        const Tensor out = executor.backend().download(executor.forward({occluded}).output());
        for (int64_t g = 0; g < count; ++g) {
            const std::vector<unsigned char>& m = masks[g];
            for (int64_t s = 0; s < n; ++s) {
                const int64_t t = result.targets[s];
                const float score = out[(g * n + s) * classes + t];
                const float value = keep ? score : result.output[s * classes + t] - score;
                float* a = result.attribution.data() + s * per;
                for (int64_t i = 0; i < per; ++i)
                    if (m[i]) a[i] += value;
            }
        }
    }
    return result;
}

}  // namespace relprop
