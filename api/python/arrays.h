// numpy arrays in and out of relprop: inputs wrapped without a copy when they are C-contiguous float32,
// results handed to numpy without a copy (the array keeps the tensor's storage alive); and the checked
// conversions of the other arguments (integers, sizes, texts), which raise TypeError naming the argument.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <string>
#include <vector>

#include "relprop/tensor.hpp"

namespace relprop::python {

namespace py = pybind11;

/// A C-contiguous float32 numpy array: anything else is converted (once) on the way in.
using FloatArray = py::array_t<float, py::array::c_style | py::array::forcecast>;

/// `object` as a C-contiguous float32 array: the same memory when it is one already, else a converted copy.
/// Only bool, integer and float data are numbers: None, text, objects and complex numbers (which numpy would
/// turn into NaN or their real part) throw relprop::Error naming `what`.
FloatArray float_array(const py::handle& object, const std::string& what);

/// A tensor over the array's memory (no copy). The array must outlive the tensor; relprop only reads it.
Tensor wrap(const FloatArray& array);

/// The tensor as a numpy array sharing its storage (no copy); host tensors only.
py::array to_numpy(const Tensor& tensor);

/// Throws relprop::Error naming `what` when a value is NaN or infinite: the command line refuses such options
/// when it parses them, and the library trusts they are finite.
void require_finite(const float* values, size_t count, const std::string& what);
float finite(float value, const std::string& what);

/// A float list from a number or a sequence of finite numbers ("low", "mean", ...).
std::vector<float> float_list(const py::handle& object, const std::string& what);

/// The name of the object's type ("int", "ndarray"), or "None".
std::string type_name(const py::handle& object);

/// The name of the array's dtype, as numpy prints it ("float64", "object").
std::string dtype_name(const py::array& array);

/// A sequence (list, tuple, 1-D array) of integers; with `scalar`, also one integer (a Python or numpy
/// integer, a 0-d integer array), and *scalar says which it was. Anything else (floats, bools, text, nested
/// sequences) throws TypeError naming `what`; an integer beyond int64 throws relprop::Error.
std::vector<int64_t> int_list(const py::handle& object, const std::string& what, bool* scalar = nullptr);

/// object.cast<T>(), or TypeError "WHAT: expected EXPECTED, got TYPE" instead of pybind11's RuntimeError.
template <typename T>
T cast_arg(const py::handle& object, const std::string& what, const std::string& expected) {
    try {
        return object.cast<T>();
    } catch (const py::cast_error&) {
        throw py::type_error(what + ": expected " + expected + ", got " + type_name(object));
    }
}

}  // namespace relprop::python
