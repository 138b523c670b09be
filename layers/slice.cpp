#include "layers/slice.h"

#include <algorithm>
#include <limits>
#include <sstream>

#include "engine/backend.h"
#include "relprop/error.hpp"
#include "io/onnx_node.h"
#include "layers/op_registry.h"
#include "engine/strided.h"

namespace relprop {

Slice::Slice(std::vector<SliceAxis> axes) : m_axes(std::move(axes)) {
    for (const SliceAxis& a : m_axes) {
        if (a.axis < 1) throw Error("Slice along the batch axis (0) is not supported");
        if (a.step == 0) throw Error("Slice step must not be 0");
    }
}

Slice::Resolved Slice::resolve(const Shape& x) const {
    Resolved r;
    for (int64_t d : x) {
        r.first.push_back(0);
        r.step.push_back(1);
        r.count.push_back(d);
    }
    for (const SliceAxis& a : m_axes) {
        if (a.axis >= static_cast<int64_t>(x.size()))
            throw Error("Slice axis " + std::to_string(a.axis) + " is out of range for input " + shape_str(x));
        const int64_t n = x[a.axis];
        int64_t start = a.start < 0 ? a.start + n : a.start, end = a.end < 0 ? a.end + n : a.end;
        int64_t count;
        if (a.step > 0) {
            start = std::clamp<int64_t>(start, 0, n);
            end = std::clamp<int64_t>(end, 0, n);
            count = end > start ? (end - start + a.step - 1) / a.step : 0;
        } else {
            start = std::clamp<int64_t>(start, 0, n - 1);
            end = std::clamp<int64_t>(end, -1, n - 1);
            count = start > end ? (start - end - a.step - 1) / -a.step : 0;
        }
        if (count == 0) throw Error("Slice gives an empty tensor along axis " + std::to_string(a.axis));
        r.first[a.axis] = start;
        r.step[a.axis] = count == 1 ? 1 : a.step;  // one element: the step is never taken (it may be huge)
        r.count[a.axis] = count;
    }
    return r;
}

Shape Slice::infer_shape(const std::vector<Shape>& inputs) const { return resolve(inputs.at(0)).count; }

namespace {

StridedMap slice_map(const Shape& x, const Slice::Resolved& r) {
    const std::vector<int64_t> xs = row_major_strides(x);
    std::vector<int64_t> strides(x.size());
    int64_t offset = 0;
    for (size_t d = 0; d < x.size(); ++d) {
        strides[d] = xs[d] * r.step[d];
        offset += xs[d] * r.first[d];
    }
    return strided_map(r.count, strides, offset);
}

}  // namespace

Tensor Slice::forward(Backend& backend, const std::vector<Tensor>& inputs) const {
    const Tensor& x = inputs.at(0);
    const Resolved r = resolve(x.shape());
    Tensor y = backend.empty(r.count);
    backend.gather(x, slice_map(x.shape(), r), y);
    return y;
}

std::vector<Tensor> Slice::backward(Backend& backend, const std::vector<Tensor>& inputs, const Tensor&,
                                    const Tensor& grad_output) const {
    const Shape& x = inputs.at(0).shape();
    Tensor gx = backend.zeros(x);
    backend.scatter(grad_output, slice_map(x, resolve(x)), gx);
    return {gx};
}

std::string Slice::describe() const {
    std::ostringstream out;
    for (const SliceAxis& a : m_axes)
        out << (out.tellp() > 0 ? " " : "") << "axis " << a.axis << ": " << a.start << ":" << a.end << ":" << a.step;
    return out.str();
}

namespace {

void import_slice(OnnxNode& n) {
    const std::string& x = n.runtime_input(0);
    const int64_t rank = static_cast<int64_t>(n.shape(x).size());
    std::vector<int64_t> starts, ends, axes, steps;
    if (n.opset() < 10) {
        starts = n.attr_ints("starts", {});
        ends = n.attr_ints("ends", {});
        axes = n.attr_ints("axes", {});
    } else {
        starts = n.constant_ints(1, "starts");
        ends = n.constant_ints(2, "ends");
        if (n.has_input(3)) axes = n.constant_ints(3, "axes");
        if (n.has_input(4)) steps = n.constant_ints(4, "steps");
    }
    if (axes.empty())
        for (size_t k = 0; k < starts.size(); ++k) axes.push_back(static_cast<int64_t>(k));
    if (steps.empty()) steps.assign(starts.size(), 1);
    if (ends.size() != starts.size() || axes.size() != starts.size() || steps.size() != starts.size())
        throw Error("Slice: starts, ends, axes and steps have different lengths");
    axes = normalize_axes(axes, rank, "Slice axes");
    std::vector<SliceAxis> spec;
    for (size_t k = 0; k < axes.size(); ++k) {
        const int64_t big = int64_t{1} << 40;  // INT64_MAX-style "to the end" values, kept far from overflow
        // A step beyond the axis takes one element either way; clamped so strides cannot overflow.
        const int64_t s = std::clamp(starts[k], -big, big), e = std::clamp(ends[k], -big, big),
                      step = std::clamp(steps[k], -big, big);
        if (axes[k] == 0) {  // the whole batch is fine: 0 to INT32_MAX (tf2onnx's "to the end") or beyond
            if (step == 1 && s == 0 && e >= std::numeric_limits<int32_t>::max()) continue;
            throw Error("Slice along the batch axis (0) is not supported");
        }
        spec.push_back({axes[k], s, e, step});
    }
    n.emit(std::make_shared<Slice>(spec), {x});
}

// Split: one Slice per used output, along `axis`, with sizes from `split` (attribute before opset 13, input
// after), `num_outputs` (opset 18) or equal parts.
void import_split(OnnxNode& n) {
    const std::string& x = n.runtime_input(0);
    const Shape& xs = n.shape(x);
    const int64_t axis = normalize_axes({n.attr_int("axis", 0)}, static_cast<int64_t>(xs.size()), "Split axis")[0];
    if (axis == 0) throw Error("Split along the batch axis (0) is not supported");
    std::vector<int64_t> sizes;
    if (n.opset() < 13)
        sizes = n.attr_ints("split", {});
    else if (n.has_input(1))
        sizes = n.constant_ints(1, "split");
    const int64_t parts = n.output_count();
    if (sizes.empty()) {
        if (xs[axis] % parts != 0 && !n.has_attribute("num_outputs"))
            throw Error("Split into " + std::to_string(parts) + " equal parts of an axis of size " +
                        std::to_string(xs[axis]));
        const int64_t each = (xs[axis] + parts - 1) / parts;
        for (int64_t k = 0; k < parts; ++k) sizes.push_back(std::min(each, xs[axis] - k * each));
    }
    if (static_cast<int64_t>(sizes.size()) != parts) throw Error("Split: the sizes do not match the outputs");
    int64_t start = 0;
    for (int64_t k = 0; k < parts; ++k) {
        if (sizes[k] < 1) throw Error("Split: part " + std::to_string(k) + " would be empty");
        if (sizes[k] > xs[axis] - start)  // checked before the sum: sizes from a constant are not bounded
            throw Error("Split: the sizes sum to more than the axis size " + std::to_string(xs[axis]));
        if (n.output_used(static_cast<int>(k)))
            n.emit(std::make_shared<Slice>(std::vector<SliceAxis>{{axis, start, start + sizes[k], 1}}), {x},
                   static_cast<int>(k));
        start += sizes[k];
    }
    if (start != xs[axis]) throw Error("Split: the sizes sum to " + std::to_string(start) + ", not " + std::to_string(xs[axis]));
}

RefArray slice_reference(const Op& op, const std::vector<RefArray>& inputs) {
    const RefArray& x = inputs.at(0);
    const Slice::Resolved r = dynamic_cast<const Slice&>(op).resolve(x.shape);
    RefArray y{r.count, std::vector<double>(shape_numel(r.count))};
    std::vector<int64_t> idx(r.count.size(), 0);
    for (size_t i = 0; i < y.v.size(); ++i) {
        int64_t o = 0;
        for (size_t d = 0; d < idx.size(); ++d) o = o * x.shape[d] + r.first[d] + idx[d] * r.step[d];
        y.v[i] = x.v[o];
        for (int d = static_cast<int>(idx.size()) - 1; d >= 0 && ++idx[d] == r.count[d]; --d) idx[d] = 0;
    }
    return y;
}

}  // namespace

RELPROP_REGISTER_OP(Slice) {
    OpInfo info;
    info.type = OpType::Slice;
    info.name = "Slice";
    info.category = OpCategory::DataMovement;
    info.kernels = Kernel::Gather | Kernel::Elementwise;
    info.onnx = {{"Slice"}, {"Split"}};
    info.import = [](OnnxNode& n) { n.op_type() == "Split" ? import_split(n) : import_slice(n); };
    info.reference = slice_reference;
    info.samples = []() -> std::vector<OpSample> {
        auto one = [](int64_t axis, int64_t s, int64_t e, int64_t st) {
            return std::make_shared<Slice>(std::vector<SliceAxis>{{axis, s, e, st}});
        };
        return {{"Slice channels 0:3 (chunk)", one(1, 0, 3, 1), {{2, 6, 4, 5}}},
                {"Slice channels 3:end", one(1, 3, int64_t{1} << 40, 1), {{2, 6, 4, 5}}},
                {"Slice every 2nd column from the end", one(3, -1, -(int64_t{1} << 40), -2), {{2, 3, 4, 5}}},
                {"Slice two axes", std::make_shared<Slice>(std::vector<SliceAxis>{{2, 1, 3, 1}, {3, 0, 5, 2}}),
                 {{2, 3, 4, 5}}}};
    };
    return info;
}

}  // namespace relprop
