// Images: load_image (the command line's preprocessing), to_image (undo it, for overlays), heatmap (zennit's
// colormaps, as the command line's --heatmap) and write_png.
#include <pybind11/stl.h>
#include <pybind11/stl/filesystem.h>

#include <filesystem>

#include <climits>
#include <cstring>
#include <string>
#include <vector>

#include "arrays.h"
#include "bindings.h"
#include "relprop/error.hpp"
#include "relprop/heatmap.hpp"
#include "relprop/image.hpp"
#include "relprop/model.hpp"

namespace relprop::python {

namespace {

/// The command line's preprocessing from load_image's arguments: a preset (default "torch", what
/// --mean/--std/--scale default to) whose mean, std and scale the arguments may replace; None: no resize,
/// crop or normalization, only pixel * scale (--no-preprocess).
Preprocess preprocess_of(const py::object& preset, int resize, int crop, const py::object& mean, const py::object& std,
                         const py::object& scale) {
    Preprocess p;
    if (preset.is_none()) {
        p.enabled = false;
    } else {
        p = preprocess_preset(cast_arg<std::string>(preset, "preprocess", "a preset name (str) or None"));
    }
    if (!mean.is_none()) p.mean = float_list(mean, "mean");
    if (!std.is_none()) p.std = float_list(std, "std");
    if (!scale.is_none()) p.scale = cast_arg<float>(scale, "scale", "a number");
    if (resize < 0 || crop < 0) throw Error("resize and crop must be >= 0");
    p.resize = resize;
    p.crop = crop;
    return p;
}

/// The model's image channels and layout, or `channels` (default 3) in NCHW.
std::pair<int64_t, ImageLayout> image_format(const py::object& model, const py::object& channels) {
    if (!model.is_none()) {
        const Shape s = cast_arg<Model>(model, "model", "a relprop.Model or None").input_shape();
        if (s.size() != 4)
            throw Error("images need a model whose input is [N, C, H, W] or [N, H, W, C]; this one takes " + shape_str(s));
        if (!channels.is_none()) throw Error("load_image: give the model or channels, not both");
        return {image_channels(s), image_layout(s)};
    }
    return {channels.is_none() ? 3 : cast_arg<int64_t>(channels, "channels", "an integer"), ImageLayout::NCHW};
}

py::array_t<uint8_t> image_array(const Image& img) {
    py::array_t<uint8_t> out({py::ssize_t(img.height), py::ssize_t(img.width), py::ssize_t(img.channels)});
    std::memcpy(out.mutable_data(), img.pixels.data(), img.pixels.size());
    return out;
}

/// A uint8 image from an array of integers 0 to 255 (any integer dtype); floats and values outside 0 to 255
/// are refused rather than cast (0.7 would become 0 and 300 would become 44).
Image image_of(const py::handle& object, const std::string& what) {
    const std::string expected = what + ": expected a uint8 image [H, W] or [H, W, C] with C = 1 to 4";
    const py::array any = py::array::ensure(object);
    if (!any || (any.ndim() != 2 && any.ndim() != 3) || (any.ndim() == 3 && (any.shape(2) < 1 || any.shape(2) > 4)))
        throw Error(expected);
    if (any.shape(0) > INT_MAX || any.shape(1) > INT_MAX)  // Image's sides are int; checked before any copy
        throw Error(expected + ", got " + std::to_string(any.shape(0)) + "x" + std::to_string(any.shape(1)) +
                    " pixels (a side may be at most 2^31 - 1)");
    const char kind = any.dtype().kind();
    if (kind != 'u' && kind != 'i' && kind != 'b')
        throw Error(expected + ", got values of dtype " + dtype_name(any) +
                    " (for values in [0, 1]: np.clip(np.round(x * 255), 0, 255).astype(np.uint8))");
    if (any.size() > 0 && kind != 'b' && any.dtype().not_equal(py::dtype::of<uint8_t>())) {
        const py::object low = py::int_(any.attr("min")()), high = py::int_(any.attr("max")());
        if (low < py::int_(0) || high > py::int_(255))
            throw Error(expected + ", got values from " + std::string(py::str(low)) + " to " +
                        std::string(py::str(high)));
    }
    const auto a = py::array_t<uint8_t, py::array::c_style | py::array::forcecast>::ensure(any);
    Image img;
    img.height = static_cast<int>(a.shape(0));
    img.width = static_cast<int>(a.shape(1));
    img.channels = a.ndim() == 3 ? static_cast<int>(a.shape(2)) : 1;
    img.pixels.assign(a.data(), a.data() + a.size());
    return img;
}

py::array_t<uint8_t> heatmap(const py::object& relevance, const std::string& cmap, bool symmetric,
                             const py::object& overlay_on, float alpha, int scale, bool channels_last) {
    const FloatArray r = float_array(relevance, "heatmap: relevance");
    if (r.ndim() < 2 || r.ndim() > 4)
        throw Error("heatmap: relevance must be [H, W], [C, H, W] or [N, C, H, W], got rank " + std::to_string(r.ndim()));
    if (scale < 1) throw Error("heatmap: scale must be >= 1, got " + std::to_string(scale));
    HeatmapOptions options;
    options.cmap = parse_colormap(cmap);
    options.symmetric = symmetric;
    const Tensor all = wrap(r);
    const bool batch = r.ndim() == 4;
    const int64_t n = batch ? all.dim(0) : 1;
    if (n == 0) throw Error("heatmap: relevance [N, C, H, W] holds no sample (N = 0)");
    const py::array overlays = overlay_on.is_none() ? py::array() : py::array::ensure(overlay_on);
    const bool per_sample_overlay = overlays && overlays.ndim() == 4;  // [N, H, W, C]: one base image per sample
    if (per_sample_overlay) {
        const int64_t given = overlays.shape(0);
        if (given != n)
            throw Error("heatmap: overlay holds " + std::to_string(given) + " images for " + std::to_string(n) +
                        " relevance map" + (n == 1 ? "" : "s"));
    }
    const Shape one(all.shape().begin() + (batch ? 1 : 0), all.shape().end());
    const int64_t per_sample = shape_numel(one);
    std::vector<Image> images;
    for (int64_t i = 0; i < n; ++i) {
        Tensor sample = Tensor::wrap(one, const_cast<float*>(r.data()) + i * per_sample);
        if (channels_last && sample.rank() == 3) sample = to_channels_first(sample);
        Image img = render_heatmap(sample, options);
        if (!overlay_on.is_none())
            img = overlay(img, image_of(per_sample_overlay ? overlays[py::int_(i)] : overlay_on, "heatmap: overlay"), alpha);
        if (scale > 1) img = upscale_nearest(img, scale);
        images.push_back(std::move(img));
    }
    if (!batch) return image_array(images[0]);
    const Image& first = images[0];
    py::array_t<uint8_t> out({py::ssize_t(n), py::ssize_t(first.height), py::ssize_t(first.width), py::ssize_t(3)});
    for (int64_t i = 0; i < n; ++i)
        std::memcpy(out.mutable_data() + i * images[i].pixels.size(), images[i].pixels.data(), images[i].pixels.size());
    return out;
}

}  // namespace

void bind_images(py::module_& m) {
    m.def(
        "load_image",
        [](const std::filesystem::path& path, const py::object& model, const py::object& channels, const py::object& preprocess,
           int resize, int crop, const py::object& mean, const py::object& std, const py::object& scale) {
            const auto [c, layout] = image_format(model, channels);
            const Preprocess p = preprocess_of(preprocess, resize, crop, mean, std, scale);
            Tensor chw;
            {
                py::gil_scoped_release free_python;
                chw = image_to_tensor(load_image(path.string()), c, p);
                if (layout == ImageLayout::NHWC) chw = to_channels_last(chw);
            }
            return to_numpy(chw);
        },
        py::arg("path"), py::arg("model") = py::none(), py::kw_only(), py::arg("channels") = py::none(),
        py::arg("preprocess") = "torch", py::arg("resize") = 256, py::arg("crop") = 224, py::arg("mean") = py::none(),
        py::arg("std") = py::none(), py::arg("scale") = py::none(),
        R"doc(
Loads a PNG, JPEG or BMP image as a float32 array [C, H, W] ([H, W, C] for a model whose input is NHWC),
preprocessed as the command line does: the model's channel count (gray <-> RGB by PIL's rules), resize
(shorter side; 0: none) and center crop (0: none) as torchvision's PIL pipeline, then
(pixel * scale - mean) / std.
preprocess: a preset — "torch" (ImageNet mean/std, scale 1/255: the command line's default),
    "keras-caffe", "keras-tf", "none" — whose mean, std and scale may be replaced by the arguments; or
    None: no resize, crop or normalization, only pixel * scale (scale 1/255; --no-preprocess).
model: takes channels and layout from the model's input; else channels (default 3), NCHW.
Add the batch axis yourself: x = relprop.load_image(path, model)[None].
)doc");

    m.def(
        "to_image",
        [](const py::object& x, const py::object& preprocess, const py::object& mean, const py::object& std,
           const py::object& scale, bool channels_last) {
            const FloatArray a = float_array(x, "to_image: x");
            Tensor t = wrap(a);
            if (channels_last) t = to_channels_first(t);
            const Preprocess p = preprocess_of(preprocess, 0, 0, mean, std, scale);
            return image_array(tensor_to_image(t, p));
        },
        py::arg("x"), py::kw_only(), py::arg("preprocess") = "torch", py::arg("mean") = py::none(),
        py::arg("std") = py::none(), py::arg("scale") = py::none(), py::arg("channels_last") = false,
        R"doc(
Undoes load_image's normalization: x [C, H, W] or [1, C, H, W] (C = 1 or 3; channels_last: [H, W, C])
-> uint8 image [H, W, C] (rounded, clipped), e.g. as heatmap's overlay. Same preprocess arguments as
load_image.
)doc");

    m.def("heatmap", &heatmap, py::arg("relevance"), py::kw_only(), py::arg("cmap") = "bwr", py::arg("symmetric") = true,
          py::arg("overlay") = py::none(), py::arg("alpha") = 0.5f, py::arg("scale") = 1, py::arg("channels_last") = false,
          R"doc(
Renders relevance as an RGB image, as zennit's imgify and the command line's --heatmap: summed over the
channels, scaled to [0, 1] (symmetric: [-max|R|, max|R|]; else [min, max]), colored with cmap ("bwr",
"seismic", "coldnhot", "hot", "gray"). relevance: [H, W] or [C, H, W] -> uint8 [H, W, 3];
[N, C, H, W] -> [N, H, W, 3]. channels_last: the relevance is [H, W, C] (an NHWC model).
overlay: a uint8 image [H, W(, C)] (or one per sample, [N, H, W, C] with the relevance's N) blended as
alpha * heatmap + (1 - alpha) * overlay. scale: enlarge by this factor (nearest neighbour).
)doc");

    m.def(
        "write_png",
        [](const std::filesystem::path& path, const py::object& image) {
            const Image img = image_of(image, "write_png");
            py::gil_scoped_release free_python;
            write_png(path.string(), img);
        },
        py::arg("path"), py::arg("image"),
        "Writes a uint8 image [H, W] or [H, W, C] (C = 1 to 4; or integers 0 to 255, floats refused) as a PNG\n"
        "file, all or nothing.");

    m.def("colormaps", &colormap_names, "The heatmap colormaps' names.");
}

}  // namespace relprop::python
