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

import functools

Error.__module__ = "relprop"
Error.__doc__ = "A relprop failure: the message names the file, node, op or shape (a ValueError)."


def _check_arguments(cls, positional, keywords):
    """cls.__init__ behind a check that a keyword it does not take, or one positional argument too many, is a short
    TypeError naming it: pybind11's own message repeats every argument, for a Model given as bytes the whole file
    (four characters a byte). The binding converts each argument itself, so wrong types are named there."""
    init, name = cls.__init__, cls.__name__

    @functools.wraps(init)
    def checked(self, *args, **kwargs):
        unknown = [k for k in kwargs if k not in positional + keywords]
        if unknown:
            raise TypeError(f"{name}() got an unexpected keyword argument '{unknown[0]}'; "
                            f"it takes {', '.join(positional + keywords)}")
        if len(args) > len(positional):
            raise TypeError(f"{name}() takes {len(positional)} positional argument ({', '.join(positional)}), "
                            f"got {len(args)}; give {', '.join(keywords)} by keyword")
        init(self, *args, **kwargs)

    checked.parameters = positional + keywords
    cls.__init__ = checked


_check_arguments(Model, ("source",), ("canonize", "device", "input_shape", "allow_nonfinite_weights"))

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
