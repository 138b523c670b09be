// A C++ application that embeds relprop: it loads an ONNX model, explains a few images with LRP
// (and, for comparison, Integrated Gradients) and writes heatmaps. It uses only the installed
// library: #include <relprop/relprop.hpp>, linked through relprop's CMake package, pkg-config (meson or
// CMake) or a meson subproject.
//
//   explain_digits MODEL.onnx IMAGE.png... [--out DIR]
#include <relprop/relprop.hpp>

#include <cstdio>
#include <string>
#include <vector>

int main(int argc, char** argv) {
    if (argc < 3) {
        std::fprintf(stderr, "usage: %s MODEL.onnx IMAGE.png... [--out DIR]\n", argv[0]);
        return 2;
    }
    std::string out_dir = ".";
    std::vector<std::string> images;
    for (int i = 2; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg == "--out" && i + 1 < argc) out_dir = argv[++i];
        else images.push_back(arg);
    }
    try {
        relprop::Model model = relprop::Model::load(argv[1]);  // ONNX import + canonization, on the CPU
        const relprop::Shape in = model.input_shape();         // [-1, 1, 32, 32] for the demo model
        std::printf("relprop %s, model %s, input %s, backend %s\n", RELPROP_VERSION, argv[1],
                    relprop::shape_str(in).c_str(), model.device().c_str());

        relprop::AttributorOptions lrp_options;  // LRP with zennit's EpsilonPlusFlat
        lrp_options.composite = "epsilon-plus-flat";
        const relprop::Attributor lrp(model, lrp_options);  // rules prepared once
        relprop::AttributorOptions ig_options;
        ig_options.method = relprop::Method::IntegratedGradients;
        ig_options.integrated_gradients.steps = 32;
        const relprop::Attributor ig(model, ig_options);

        // The images, already at the model's size: pixel / 255, no mean/std (how the demo model was trained).
        relprop::Preprocess pre;
        pre.enabled = false;
        std::vector<float> pixels;  // the application's own buffer, explained in place
        for (const std::string& path : images) {
            const relprop::Tensor chw = relprop::image_to_tensor(relprop::load_image(path), in[1], pre);
            pixels.insert(pixels.end(), chw.data(), chw.data() + chw.numel());
        }
        const int64_t n = static_cast<int64_t>(images.size());
        const relprop::Tensor batch = relprop::Tensor::wrap({n, in[1], in[2], in[3]}, pixels.data());

        const relprop::Result a = lrp(batch);  // targets: each image's predicted class
        const relprop::Result b = ig(batch, a.targets);
        const int64_t classes = a.logits.numel() / n, per = batch.numel() / n;
        for (int64_t i = 0; i < n; ++i) {
            double lrp_sum = 0, ig_sum = 0;
            for (int64_t k = 0; k < per; ++k) {
                lrp_sum += a.relevance[i * per + k];
                ig_sum += b.relevance[i * per + k];
            }
            std::printf("%s: class %lld (logit %.3f); LRP relevance sum %.4f; IG sum %.4f\n", images[i].c_str(),
                        static_cast<long long>(a.targets[i]), a.logits[i * classes + a.targets[i]], lrp_sum, ig_sum);
            relprop::Tensor r({in[1], in[2], in[3]}, std::vector<float>(a.relevance.data() + i * per,
                                                                       a.relevance.data() + (i + 1) * per));
            const std::string png = out_dir + "/heatmap_" + std::to_string(i) + ".png";
            relprop::write_png(png, relprop::upscale_nearest(relprop::render_heatmap(r), 4));
            std::printf("  heatmap %s\n", png.c_str());
        }
        return 0;
    } catch (const relprop::Error& e) {
        std::fprintf(stderr, "error: %s\n", e.what());
        return 1;
    }
}
