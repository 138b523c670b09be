// stb_image compiled into the fuzz targets with the fuzzer's instrumentation (coverage, ASan, UBSan),
// so that the image decoders relprop calls are fuzzed themselves; the executable's definitions take
// precedence over Debian's uninstrumented libstb.so. Only the fuzz build compiles this file.
#define STB_IMAGE_IMPLEMENTATION
#include <stb_image.h>
