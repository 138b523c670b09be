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
import re

Error.__module__ = "relprop"
Error.__doc__ = "A relprop failure: the message names the file, node, op or shape (a ValueError)."


def _named_arguments(function, name):
    """function behind a check that a keyword it does not take, or a positional argument too many, is a short
    TypeError naming it: pybind11's own message lists the signature and repeats every argument (for a Model given
    as bytes, the whole file at four characters a byte). The names come from pybind11's signature line
    "f(self: T, a: object, *, b: str = 'x') -> R"; the binding names arguments of the wrong type itself."""
    line = function.__doc__.splitlines()[0]
    names = re.findall(r"(?:^|, )(\*|\w+)(?=: |, |$)", line[line.index("(") + 1:line.rindex(")")])
    bound = names[:1] == ["self"]
    names = names[bound:]
    star = names.index("*") if "*" in names else len(names)
    positional, known = names[:star], names[:star] + names[star + 1:]

    @functools.wraps(function)
    def checked(*args, **kwargs):
        unknown = [k for k in kwargs if k not in known]
        if unknown:
            raise TypeError(f"{name}() got an unexpected keyword argument '{unknown[0]}'; it takes {', '.join(known)}")
        if len(args) - bound > len(positional):
            by_keyword = f"; give {', '.join(known[star:])} by keyword" if star < len(known) else ""
            raise TypeError(f"{name}() takes {len(positional)} positional argument{'s' if star != 1 else ''} "
                            f"({', '.join(positional)}), got {len(args) - bound}{by_keyword}")
        return function(*args, **kwargs)

    checked.parameters = tuple(known)
    return checked


Model.__init__ = _named_arguments(Model.__init__, "Model")
Attributor.__init__ = _named_arguments(Attributor.__init__, "Attributor")
Attributor.__call__ = _named_arguments(Attributor.__call__, "Attributor.__call__")
load_image = _named_arguments(load_image, "load_image")
to_image = _named_arguments(to_image, "to_image")
heatmap = _named_arguments(heatmap, "heatmap")
write_png = _named_arguments(write_png, "write_png")

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
