#include "arrays.h"

#include <cmath>
#include <optional>

#include "relprop/error.hpp"

namespace relprop::python {

namespace {

/// An integer (a Python or numpy integer, a 0-d integer array; not a bool, nor numpy's), or nothing for anything else.
std::optional<int64_t> integer_of(const py::handle& item, const std::string& what) {
    if (PyBool_Check(item.ptr()) || !PyIndex_Check(item.ptr())) return std::nullopt;
    if (py::hasattr(item, "dtype") && py::str(item.attr("dtype").attr("kind")).cast<std::string>() == "b")
        return std::nullopt;
    const auto index = py::reinterpret_steal<py::object>(PyNumber_Index(item.ptr()));
    if (!index) {  // e.g. an array of one or more elements: numpy refuses it as an index
        PyErr_Clear();
        return std::nullopt;
    }
    int overflow = 0;
    const long long value = PyLong_AsLongLongAndOverflow(index.ptr(), &overflow);
    if (overflow != 0) throw Error(what + ": " + std::string(py::str(index)) + " is out of range");
    return value;
}

bool is_number_kind(char kind) { return kind == 'b' || kind == 'i' || kind == 'u' || kind == 'f'; }

}  // namespace

std::string type_name(const py::handle& object) {
    return object.is_none() ? "None" : std::string(py::str(py::type::handle_of(object).attr("__name__")));
}

std::string dtype_name(const py::array& array) { return py::str(array.dtype().attr("name")); }

FloatArray float_array(const py::handle& object, const std::string& what) {
    const std::string expected = what + ": expected an array of numbers, got ";
    if (object.is_none() || py::isinstance<py::str>(object) || py::isinstance<py::bytes>(object))
        throw Error(expected + type_name(object));
    py::object source = py::reinterpret_borrow<py::object>(object);
    if (py::isinstance<py::array>(object)) {
        const auto array = py::reinterpret_borrow<py::array>(object);
        if (!is_number_kind(array.dtype().kind())) throw Error(expected + "an array of dtype " + dtype_name(array));
    } else {  // a list, a number, ...: what numpy makes of it decides
        const py::array any = py::array::ensure(object);
        if (!any || !is_number_kind(any.dtype().kind()))
            throw Error(expected + type_name(object) +
                        (any ? " (numpy makes it an array of dtype " + dtype_name(any) + ")" : ""));
        source = any;
    }
    FloatArray array = FloatArray::ensure(source);
    if (!array) throw Error(expected + type_name(object));
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

void require_finite(const float* values, size_t count, const std::string& what) {
    size_t bad = 0;
    for (size_t i = 0; i < count; ++i) bad += std::isfinite(values[i]) ? 0 : 1;
    if (bad == 0) return;
    if (count == 1) throw Error(what + ": expected a finite number, got " + std::to_string(values[0]));
    throw Error(what + ": expected finite numbers, got " + std::to_string(bad) + " NaN/Inf of " +
                std::to_string(count) + " values");
}

float finite(float value, const std::string& what) {
    require_finite(&value, 1, what);
    return value;
}

std::vector<float> float_list(const py::handle& object, const std::string& what) {
    const FloatArray array = float_array(object, what);
    if (array.ndim() > 1) throw Error(what + ": expected a number or a list of numbers, got an array of rank " + std::to_string(array.ndim()));
    require_finite(array.data(), static_cast<size_t>(array.size()), what);
    return std::vector<float>(array.data(), array.data() + array.size());
}

std::vector<int64_t> int_list(const py::handle& object, const std::string& what, bool* scalar) {
    const std::string expected =
        what + ": expected " + (scalar ? "an integer or " : "") + "a sequence of integers, got ";
    if (scalar) {
        if (const std::optional<int64_t> value = integer_of(object, what)) {
            *scalar = true;
            return {*value};
        }
        *scalar = false;
    }
    if (py::isinstance<py::str>(object) || py::isinstance<py::bytes>(object) || !PySequence_Check(object.ptr()))
        throw py::type_error(expected + type_name(object));
    std::vector<int64_t> out;
    for (const py::handle item : py::reinterpret_borrow<py::sequence>(object)) {
        const std::optional<int64_t> value = integer_of(item, what);
        if (!value) throw py::type_error(expected + type_name(object) + " holding " + type_name(item));
        out.push_back(*value);
    }
    return out;
}

}  // namespace relprop::python
