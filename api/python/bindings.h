// The parts of the module relprop._core, each bound in its own file (module.cpp calls them in this order).
#pragma once

#include <pybind11/pybind11.h>

namespace relprop::python {

namespace py = pybind11;

void bind_model(py::module_& m);       // bind_model.cpp: Model
void bind_attributor(py::module_& m);  // bind_attributor.cpp: Attributor, Result, the name lists
void bind_images(py::module_& m);      // bind_images.cpp: load_image, to_image, heatmap, write_png

}  // namespace relprop::python
