#include "engine/backend.h"

#include "engine/cpu/cpu_backend.h"
#include "relprop/error.hpp"
#ifdef RELPROP_WITH_CUDA
#include "engine/cuda/cuda_backend.h"
#endif

namespace relprop {

Tensor Backend::zeros(const Shape& shape) {
    Tensor t = empty(shape);
    fill(t, 0.0f);
    return t;
}

bool cuda_available() {
#ifdef RELPROP_WITH_CUDA
    return cuda_device_count() > 0;
#else
    return false;
#endif
}

std::unique_ptr<Backend> make_backend(const std::string& spec) {
    if (spec == "cpu") return make_cpu_backend();
    if (spec == "auto") return cuda_available() ? make_backend("cuda") : make_cpu_backend();
    if (spec == "cuda" || spec.rfind("cuda:", 0) == 0) {
        int index = 0;
        if (spec.size() > 5) {
            try {
                size_t used = 0;
                index = std::stoi(spec.substr(5), &used);
                if (used != spec.size() - 5 || index < 0) throw std::invalid_argument(spec);
            } catch (const std::exception&) {
                throw Error("invalid device '" + spec + "': expected cpu, cuda, cuda:N or auto");
            }
        }
#ifdef RELPROP_WITH_CUDA
        int count = cuda_device_count();
        if (count == 0) throw Error("device '" + spec + "' requested but no usable CUDA GPU was found");
        if (index >= count)
            throw Error("device '" + spec + "' requested but only " + std::to_string(count) + " CUDA GPU(s) found");
        return make_cuda_backend(index);
#else
        throw Error("device '" + spec + "' requested but relprop was built without CUDA (-Dcuda=disabled or no toolkit)");
#endif
    }
    throw Error("invalid device '" + spec + "': expected cpu, cuda, cuda:N or auto");
}

}  // namespace relprop
