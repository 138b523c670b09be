#include "relprop/tensor.hpp"

#include <algorithm>
#include <limits>
#include <new>
#include <sstream>

#include "relprop/error.hpp"

namespace relprop {

std::string device_name(Device device) {
    return device == Device::CPU ? "cpu" : "cuda";
}

std::string shape_str(const Shape& shape) {
    std::ostringstream out;
    out << '[';
    for (size_t i = 0; i < shape.size(); ++i) out << (i ? ", " : "") << shape[i];
    out << ']';
    return out.str();
}

int64_t shape_numel(const Shape& shape) {
    int64_t n = 1;
    for (int64_t d : shape) {
        if (d < 0) throw Error("invalid shape " + shape_str(shape) + ": negative dimension");
        if (d != 0 && n > std::numeric_limits<int64_t>::max() / d)
            throw Error("invalid shape " + shape_str(shape) + ": element count overflows");
        n *= d;
    }
    return n;
}

Tensor::Tensor(Shape shape) : m_shape(std::move(shape)), m_numel(shape_numel(m_shape)) {
    const int64_t n = std::max<int64_t>(m_numel, 1);
    try {
        if (static_cast<uint64_t>(n) > std::numeric_limits<size_t>::max() / sizeof(float)) throw std::bad_alloc();
        m_storage = std::shared_ptr<float>(new float[static_cast<size_t>(n)](), std::default_delete<float[]>());
    } catch (const std::bad_alloc&) {  // bad_array_new_length too
        throw Error("out of memory: a tensor of shape " + shape_str(m_shape) + " needs " +
                    std::to_string(n / (int64_t{1} << 18)) + " MiB");
    }
    m_data = m_storage.get();
}

Tensor::Tensor(Shape shape, const std::vector<float>& values) : Tensor(std::move(shape)) {
    if (static_cast<int64_t>(values.size()) != m_numel)
        throw Error("tensor of shape " + shape_str(m_shape) + " needs " + std::to_string(m_numel) +
                    " values, got " + std::to_string(values.size()));
    std::copy(values.begin(), values.end(), m_data);
}

Tensor Tensor::wrap(Shape shape, float* data, Device device) {
    Tensor t;
    t.m_shape = std::move(shape);
    t.m_numel = shape_numel(t.m_shape);
    t.m_device = device;
    t.m_data = data;
    return t;
}

Tensor Tensor::adopt(Shape shape, float* data, Device device, std::function<void(float*)> release) {
    Tensor t = wrap(std::move(shape), data, device);
    t.m_storage = std::shared_ptr<float>(data, std::move(release));
    return t;
}

int64_t Tensor::dim(size_t axis) const {
    if (axis >= m_shape.size())
        throw Error("axis " + std::to_string(axis) + " out of range for shape " + shape_str(m_shape));
    return m_shape[axis];
}

Tensor Tensor::reshaped(Shape shape) const {
    if (shape_numel(shape) != m_numel)
        throw Error("cannot reshape " + shape_str(m_shape) + " to " + shape_str(shape));
    Tensor t = *this;
    t.m_shape = std::move(shape);
    return t;
}

void Tensor::require_cpu(const char* what) const {
    if (m_device != Device::CPU)
        throw Error(std::string("Tensor::") + what + " needs a CPU tensor; copy it to the host first");
}

Tensor Tensor::clone() const {
    require_cpu("clone");
    Tensor t(m_shape);
    std::copy(m_data, m_data + m_numel, t.m_data);
    return t;
}

std::vector<float> Tensor::to_vector() const {
    require_cpu("to_vector");
    return std::vector<float>(m_data, m_data + m_numel);
}

}  // namespace relprop
