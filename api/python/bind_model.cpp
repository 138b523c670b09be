// relprop.Model: an ONNX file (path or bytes) imported, canonized and placed on a device.
#include <pybind11/stl.h>

#include <string>

#include "arrays.h"
#include "bindings.h"
#include "openmp_fork.h"
#include "relprop/error.hpp"
#include "engine/graph.h"
#include "engine/op.h"
#include "io/onnx_import.h"
#include "relprop/model.hpp"

namespace relprop::python {

namespace {

py::tuple shape_tuple(const Shape& shape) {
    py::tuple t(shape.size());
    for (size_t i = 0; i < shape.size(); ++i) t[i] = shape[i];
    return t;
}

// Every argument is taken as an object and converted here, so that a wrong type is a TypeError naming the
// argument: pybind11's own message would repeat the arguments, for a model given as bytes the whole file.
Model load_model(const py::object& source, const py::object& canonize, const py::object& device,
                 const py::object& input_shape, const py::object& allow_nonfinite_weights,
                 const py::object& external_data_dir) {
    LoadOptions options;
    options.canonize = cast_arg<std::string>(canonize, "canonize", "a text");
    options.device = cast_arg<std::string>(device, "device", "a text");
    options.import.allow_nonfinite = cast_arg<bool>(allow_nonfinite_weights, "allow_nonfinite_weights", "a bool");
    if (!input_shape.is_none()) options.import.input_shape = int_list(input_shape, "input_shape");
    const py::object os = py::module_::import("os");
    // The file system's bytes (os.fsencode), not UTF-8: a name that is not valid UTF-8 is a valid path too.
    const auto fs_path = [&](const py::object& p) { return os.attr("fsencode")(os.attr("fspath")(p)).cast<std::string>(); };
    const auto is_path = [](const py::object& p) { return py::isinstance<py::str>(p) || py::hasattr(p, "__fspath__"); };
    if (!external_data_dir.is_none()) {
        if (!is_path(external_data_dir))
            throw py::type_error("external_data_dir must be a path (str or os.PathLike), got " + type_name(external_data_dir));
        options.import.external_data_dir = fs_path(external_data_dir);
    }
    if (is_path(source)) {
        const std::string path = fs_path(source);
        py::gil_scoped_release free_python;
        const OpenMpCall openmp;
        return Model::load(path, options);
    }
    if (!PyObject_CheckBuffer(source.ptr()))
        throw Error("Model: expected a path (str or os.PathLike) or the bytes of an .onnx file, got " +
                    type_name(source));
    // The bytes in order: a strided or reversed view (a memoryview or array slice) is copied into order first.
    const py::memoryview view = py::memoryview(source);
    const py::object contiguous = view.attr("c_contiguous").cast<bool>() ? py::object(view) : view.attr("tobytes")();
    const py::buffer_info bytes = py::reinterpret_borrow<py::buffer>(contiguous).request();
    const size_t size = static_cast<size_t>(bytes.size * bytes.itemsize);
    py::gil_scoped_release free_python;
    const OpenMpCall openmp;
    return Model::load_buffer(bytes.ptr, size, options);
}

}  // namespace

void bind_model(py::module_& m) {
    py::class_<Model>(m, "Model", R"doc(
An ONNX model imported, canonized for LRP (BatchNorm merged, ...) and placed on a device.

Copies are cheap and share the model; any number of Attributors can explain one Model.
)doc")
        .def(py::init(&load_model), py::arg("source"), py::kw_only(), py::arg("canonize") = "auto",
             py::arg("device") = "cpu", py::arg("input_shape") = py::none(), py::arg("allow_nonfinite_weights") = false,
             py::arg("external_data_dir") = py::none(),
             R"doc(
Loads an ONNX model.

source: a path (str or os.PathLike) or the file's bytes (bytes, bytearray, memoryview).
canonize: "auto" (merge BatchNorm, fold DenseNet's BN-after-concat, fuse activations, ...), "none",
    or a comma list of passes ("auto,-densenet"), as the command line's --canonize.
device: "cpu", "cuda", "cuda:N" or "auto" (the GPU when one is usable, else the CPU).
input_shape: overrides the model's declared input shape (needed for symbolic spatial sizes);
    dimension 0 may be -1 (any batch size).
allow_nonfinite_weights: accept NaN/Inf weights (refused by default, naming the tensor).
external_data_dir: the folder of the model's external data file (model.onnx.data, as PyTorch's dynamo
    exporter writes); default: the model file's folder. Needed for a model with external data given as bytes.
Raises relprop.Error naming the file, node or op when the model can't be loaded.
)doc")
        .def_property_readonly("input_shape", [](const Model& model) { return shape_tuple(model.input_shape()); },
                               "The declared input shape; dimension 0 is -1 when any batch size is accepted.")
        .def_property_readonly("device", &Model::device, "The device used, e.g. 'cpu (oneDNN 2.6.3)'.")
        .def_property_readonly("opset", [](const Model& model) { return model.imported().opset; },
                               "The default-domain ONNX opset the model declares.")
        .def_property_readonly("canonize_changes", &Model::canonize_changes,
                               "What canonization changed, one line per change.")
        .def_property_readonly(
            "nodes",
            [](const Model& model) {
                py::list out;
                for (const Node& node : model.graph().nodes())
                    out.append(py::make_tuple(node.name, op_name(node.op->type())));
                return out;
            },
            "The canonized graph's nodes in order, as (name, op) pairs: what rule selectors ('#N', names, ops) refer to.")
        .def("__repr__", [](const Model& model) {
            return "relprop.Model(input_shape=" + std::string(py::repr(shape_tuple(model.input_shape()))) +
                   ", nodes=" + std::to_string(model.graph().nodes().size()) + ", device='" + model.device() + "')";
        });
}

}  // namespace relprop::python
