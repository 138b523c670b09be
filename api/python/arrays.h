// numpy arrays in and out of relprop: inputs wrapped without a copy when they are C-contiguous float32,
// results handed to numpy without a copy (the array keeps the tensor's storage alive).
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <string>

#include "relprop/tensor.hpp"

namespace relprop::python {

namespace py = pybind11;

/// A C-contiguous float32 numpy array: anything else is converted (once) on the way in.
using FloatArray = py::array_t<float, py::array::c_style | py::array::forcecast>;

/// `object` as a C-contiguous float32 array: the same memory when it is one already, else a converted copy.
/// Throws relprop::Error naming `what` when numpy can't convert it.
FloatArray float_array(const py::handle& object, const std::string& what);

/// A tensor over the array's memory (no copy). The array must outlive the tensor; relprop only reads it.
Tensor wrap(const FloatArray& array);

/// The tensor as a numpy array sharing its storage (no copy); host tensors only.
py::array to_numpy(const Tensor& tensor);

/// A float list from a number or a sequence of numbers ("low", "mean", ...).
std::vector<float> float_list(const py::handle& object, const std::string& what);

}  // namespace relprop::python
