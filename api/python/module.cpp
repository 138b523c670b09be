// relprop._core: the extension module behind the Python package relprop (api/python/relprop/__init__.py).
// relprop::Error becomes relprop.Error, a ValueError subclass carrying the library's message unchanged.
#include <pybind11/pybind11.h>

#include "bindings.h"
#include "openmp_fork.h"
#include "relprop/error.hpp"
#include "relprop/version.hpp"

PYBIND11_MODULE(_core, m) {
    namespace py = pybind11;
    m.doc() = "relprop's C++ engine (Layer-wise Relevance Propagation for ONNX models); use the package relprop";
    py::register_exception<relprop::Error>(m, "Error", PyExc_ValueError);
    relprop::python::install_fork_guard();
    m.attr("__version__") = RELPROP_VERSION;
    relprop::python::bind_model(m);
    relprop::python::bind_attributor(m);
    relprop::python::bind_images(m);
}
