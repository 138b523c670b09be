#include "layers/pool_geometry.h"

#include <algorithm>

#include "relprop/error.hpp"

namespace relprop {

void PoolAttributes::validate(const char* op) const {
    for (int i = 0; i < 2; ++i) {
        if (kernel[i] < 1 || stride[i] < 1 || dilation[i] < 1 || pad_begin[i] < 0 || pad_end[i] < 0)
            throw Error(std::string(op) + ": kernel, strides and dilations must be >= 1 and pads >= 0");
        // Every window must reach into the input (a window of padding only has no maximum or average).
        const int64_t extent = dilation[i] * (kernel[i] - 1) + 1;
        if (pad_begin[i] >= extent || pad_end[i] >= extent)
            throw Error(std::string(op) + ": padding " + std::to_string(std::max(pad_begin[i], pad_end[i])) +
                        " makes windows that lie entirely in the padding (kernel extent " + std::to_string(extent) +
                        ")");
    }
}

Shape PoolAttributes::output_shape(const Shape& x, const char* op) const {
    if (x.size() != 4) throw Error(std::string(op) + " expects a 4-D input [N, C, H, W], got " + shape_str(x));
    Shape out{x[0], x[1], 0, 0};
    for (int i = 0; i < 2; ++i) {
        const int64_t span = x[2 + i] + pad_begin[i] + pad_end[i] - dilation[i] * (kernel[i] - 1) - 1;
        if (span < 0)
            throw Error(std::string(op) + " kernel " + std::to_string(kernel[0]) + "x" + std::to_string(kernel[1]) +
                        " is larger than the padded input " + shape_str(x));
        int64_t n = (ceil_mode ? (span + stride[i] - 1) / stride[i] : span / stride[i]) + 1;
        if (ceil_mode && (n - 1) * stride[i] >= x[2 + i] + pad_begin[i]) --n;
        out[2 + i] = n;
    }
    return out;
}

PoolGeometry PoolAttributes::geometry(const Shape& x) const {
    const Shape out = output_shape(x, "pool");
    PoolGeometry g{kernel, stride, pad_begin, pad_end, dilation};
    for (int i = 0; i < 2; ++i) {
        const int64_t needed = (out[2 + i] - 1) * stride[i] + dilation[i] * (kernel[i] - 1) + 1 - x[2 + i] - pad_begin[i];
        g.pad_end[i] = std::max(pad_end[i], needed);
    }
    return g;
}

std::string PoolAttributes::describe() const {
    std::string s = "k=" + std::to_string(kernel[0]) + "x" + std::to_string(kernel[1]) + " s=" +
                    std::to_string(stride[0]) + "," + std::to_string(stride[1]) + " p=" + std::to_string(pad_begin[0]) +
                    "," + std::to_string(pad_begin[1]) + "," + std::to_string(pad_end[0]) + "," +
                    std::to_string(pad_end[1]);
    if (dilation[0] != 1 || dilation[1] != 1)
        s += " d=" + std::to_string(dilation[0]) + "," + std::to_string(dilation[1]);
    if (ceil_mode) s += " ceil";
    return s;
}

}  // namespace relprop
