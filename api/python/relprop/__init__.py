"""relprop: Layer-wise Relevance Propagation (and gradient attributions) for ONNX models, from Python.

A binding of relprop's C++ engine; no PyTorch needed::

    import relprop
    model = relprop.Model("resnet18.onnx")                      # import + canonize, on the CPU
    attr = relprop.Attributor(model, composite="epsilon-plus-flat")
    x = relprop.load_image("cat.jpg", model)[None]             # [1, 3, 224, 224], float32
    res = attr(x)                                               # res.logits, res.targets, res.relevance
    relprop.write_png("cat_lrp.png", relprop.heatmap(res.relevance[0]))

Every failure raises relprop.Error (a ValueError) with the message the command line prints.
"""

from ._core import (
    Attributor,
    Error,
    Model,
    Result,
    __version__,
    colormaps,
    composites,
    heatmap,
    load_image,
    methods,
    to_image,
    write_png,
)

Error.__module__ = "relprop"
Error.__doc__ = "A relprop failure: the message names the file, node, op or shape (a ValueError)."

__all__ = [
    "Attributor",
    "Error",
    "Model",
    "Result",
    "__version__",
    "colormaps",
    "composites",
    "heatmap",
    "load_image",
    "methods",
    "to_image",
    "write_png",
]
