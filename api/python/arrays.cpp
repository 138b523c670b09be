#include "arrays.h"

#include "relprop/error.hpp"

namespace relprop::python {

FloatArray float_array(const py::handle& object, const std::string& what) {
    FloatArray array = FloatArray::ensure(object);
    if (!array) {
        PyErr_Clear();
        throw Error(what + ": expected an array of numbers, got " + std::string(py::str(py::type::handle_of(object).attr("__name__"))));
    }
    return array;
}

Tensor wrap(const FloatArray& array) {
    const Shape shape(array.shape(), array.shape() + array.ndim());
    // relprop reads inputs only (Attributor::operator() takes a const Tensor&), so read-only arrays are fine.
    return Tensor::wrap(shape, const_cast<float*>(array.data()));
}

py::array to_numpy(const Tensor& tensor) {
    if (tensor.device() != Device::CPU) throw Error("to_numpy: the tensor is on " + device_name(tensor.device()));
    auto* owner = new Tensor(tensor);  // shares the storage; freed with the array
    py::capsule keep(owner, [](void* p) { delete static_cast<Tensor*>(p); });
    const Shape& s = owner->shape();
    return py::array_t<float>(std::vector<py::ssize_t>(s.begin(), s.end()), owner->data(), keep);
}

std::vector<float> float_list(const py::handle& object, const std::string& what) {
    const FloatArray array = float_array(object, what);
    if (array.ndim() > 1) throw Error(what + ": expected a number or a list of numbers, got an array of rank " + std::to_string(array.ndim()));
    return std::vector<float>(array.data(), array.data() + array.size());
}

}  // namespace relprop::python
