/// @file
/// Tensor: float32, contiguous, row-major (NCHW for images), with a shape and a device tag.
/// Copies are shallow (they share storage); clone() makes a deep copy.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace relprop {

enum class Device { CPU, CUDA };
std::string device_name(Device device);

using Shape = std::vector<int64_t>;

/// "[1, 3, 224, 224]"
std::string shape_str(const Shape& shape);
/// Number of elements; throws relprop::Error on a negative dimension or on overflow.
int64_t shape_numel(const Shape& shape);

class Tensor {
public:
    Tensor() = default;
    /// A zero-filled CPU tensor.
    explicit Tensor(Shape shape);
    /// A CPU tensor holding a copy of `values` (its size must match the shape).
    Tensor(Shape shape, const std::vector<float>& values);

    /// A tensor over memory someone else owns and keeps alive (no copy, no free).
    static Tensor wrap(Shape shape, float* data, Device device = Device::CPU);
    /// A tensor that owns `data` and releases it with `release` (used by backends for device memory).
    static Tensor adopt(Shape shape, float* data, Device device, std::function<void(float*)> release);

    bool defined() const { return m_data != nullptr; }
    const Shape& shape() const { return m_shape; }
    size_t rank() const { return m_shape.size(); }
    int64_t dim(size_t axis) const;
    int64_t numel() const { return m_numel; }
    Device device() const { return m_device; }

    float* data() { return m_data; }
    const float* data() const { return m_data; }

    /// Element access for CPU tensors (no bounds check in release builds).
    float& operator[](int64_t i) { return m_data[i]; }
    float operator[](int64_t i) const { return m_data[i]; }

    /// Identifies the storage this tensor owns (expired once every tensor sharing it is gone); empty for
    /// wrapped memory. Lets caches of derived data (e.g. reordered weights) notice a freed tensor.
    std::weak_ptr<const float> storage_token() const { return m_storage; }

    /// Same storage, another shape with the same number of elements.
    Tensor reshaped(Shape shape) const;
    /// Deep copy (CPU tensors only; backends copy device tensors).
    Tensor clone() const;
    /// The values of a CPU tensor.
    std::vector<float> to_vector() const;

private:
    void require_cpu(const char* what) const;

    Shape m_shape;
    int64_t m_numel = 0;
    Device m_device = Device::CPU;
    std::shared_ptr<float> m_storage;
    float* m_data = nullptr;
};

}  // namespace relprop
