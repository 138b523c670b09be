#include "io/onnx_node.h"

#include <algorithm>

#include "relprop/error.hpp"

namespace relprop {

std::array<int64_t, 2> pair_of(const std::vector<int64_t>& v, const char* what) {
    if (v.size() != 2)
        throw Error(std::string(what) + " must have 2 values (2-D spatial ops only), got " + std::to_string(v.size()));
    return {v[0], v[1]};
}

void resolve_pads(const OnnxNode& node, const Shape& x, std::array<int64_t, 2> kernel, std::array<int64_t, 2> stride,
                  std::array<int64_t, 2> dilation, std::array<int64_t, 2>& begin, std::array<int64_t, 2>& end) {
    const std::string auto_pad = node.attr_string("auto_pad", "NOTSET");
    if (auto_pad == "NOTSET") {
        const std::vector<int64_t> pads = node.attr_ints("pads", {0, 0, 0, 0});
        if (pads.size() != 4) throw Error("pads must have 4 values [top, left, bottom, right]");
        begin = {pads[0], pads[1]};
        end = {pads[2], pads[3]};
    } else if (auto_pad == "VALID") {
        begin = end = {0, 0};
    } else if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
        if (x.size() != 4)
            throw Error("auto_pad " + auto_pad + " needs a 4-D input [N, C, H, W], got " + shape_str(x));
        for (int i = 0; i < 2; ++i)
            if (stride[i] < 1 || dilation[i] < 1 || kernel[i] < 1)
                throw Error("kernel " + std::to_string(kernel[i]) + ", stride " + std::to_string(stride[i]) +
                            " and dilation " + std::to_string(dilation[i]) + " must all be >= 1");
        for (int i = 0; i < 2; ++i) {
            const int64_t in = x.at(2 + i), out = (in + stride[i] - 1) / stride[i];
            const int64_t total = std::max<int64_t>(0, (out - 1) * stride[i] + dilation[i] * (kernel[i] - 1) + 1 - in);
            const int64_t small = total / 2;
            begin[i] = auto_pad == "SAME_UPPER" ? small : total - small;
            end[i] = total - begin[i];
        }
    } else {
        throw Error("auto_pad '" + auto_pad + "' is not one of NOTSET, SAME_UPPER, SAME_LOWER, VALID");
    }
}

std::vector<int64_t> normalize_axes(std::vector<int64_t> axes, int64_t rank, const char* what) {
    for (int64_t& a : axes) {
        if (a < -rank || a >= rank)
            throw Error(std::string(what) + ": axis " + std::to_string(a) + " is out of range for rank " +
                        std::to_string(rank));
        if (a < 0) a += rank;
    }
    std::vector<int64_t> sorted = axes;
    std::sort(sorted.begin(), sorted.end());
    if (std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end())
        throw Error(std::string(what) + ": an axis is repeated");
    return axes;
}

}  // namespace relprop
