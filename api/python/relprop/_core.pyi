"""Type stubs of relprop's extension module (the signatures an IDE shows)."""

import os
from typing import Mapping, Sequence, Union

import numpy as np
import numpy.typing as npt

__version__: str

ArrayLike = npt.ArrayLike
FloatArray = npt.NDArray[np.float32]
Floats = Union[float, Sequence[float]]
Sizes = Union[int, Sequence[int]]

class Error(ValueError):
    """A relprop failure: the message names the file, node, op or shape (a ValueError)."""

class Model:
    """An ONNX model imported, canonized for LRP (BatchNorm merged, ...) and placed on a device."""

    def __init__(
        self,
        source: Union[str, os.PathLike[str], bytes, bytearray, memoryview],
        *,
        canonize: str = "auto",
        device: str = "cpu",
        input_shape: Sequence[int] | None = None,
        allow_nonfinite_weights: bool = False,
        external_data_dir: str | os.PathLike[str] | None = None,
    ) -> None:
        """Loads an ONNX model (a path or the file's bytes).

        canonize: "auto", "none" or a comma list of passes ("auto,-densenet").
        device: "cpu", "cuda", "cuda:N" or "auto".
        input_shape: overrides the declared input shape (dimension 0 may be -1: any batch size).
        external_data_dir: the folder of the model's external data (model.onnx.data); default: the model
            file's folder. Needed for a model with external data given as bytes.
        Raises relprop.Error naming the file, node or op when the model can't be loaded.
        """
    @property
    def input_shape(self) -> tuple[int, ...]:
        """The declared input shape; dimension 0 is -1 when any batch size is accepted."""
    @property
    def device(self) -> str:
        """The device used, e.g. 'cpu (oneDNN 2.6.3)'."""
    @property
    def opset(self) -> int:
        """The default-domain ONNX opset the model declares."""
    @property
    def canonize_changes(self) -> list[str]:
        """What canonization changed, one line per change."""
    @property
    def nodes(self) -> list[tuple[str, str]]:
        """The canonized graph's nodes in order, as (name, op) pairs."""

class Result:
    """One explained batch (numpy arrays)."""

    @property
    def logits(self) -> FloatArray:
        """float32 [N, classes]: the output explained."""
    @property
    def targets(self) -> npt.NDArray[np.int64]:
        """int64 [N]: the class explained per sample."""
    @property
    def relevance(self) -> FloatArray:
        """float32, shaped like the input: the attribution."""
    @property
    def node_relevance(self) -> dict[str, FloatArray] | None:
        """{node name: relevance at its output} with keep_node_relevance=True, else None."""
    @property
    def explained_output(self) -> str:
        """'logits', 'probabilities' or 'output'."""

class Attributor:
    """One attribution method with its parameters, prepared once for a Model and called per batch.

    Calls release the GIL; one Attributor may be called from several threads at once.
    """

    def __init__(
        self,
        model: Model,
        *,
        method: str = "lrp",
        composite: str = "epsilon-plus-flat",
        rules: Mapping[str, str] | Sequence[str] | None = None,
        epsilon: float = 1e-6,
        gamma: float = 0.25,
        low: Floats | None = None,
        high: Floats | None = None,
        zero_bias: bool = False,
        init: str = "onehot",
        keep_node_relevance: bool = False,
        use_rules: bool = False,
        noise_level: float = 0.1,
        samples: int = 20,
        seed: int = 0,
        steps: int = 20,
        baseline: Union[float, ArrayLike] = 0.0,
        window: Sizes = 8,
        stride: Sizes | None = None,
        fill: float = 0.0,
        occlusion_mode: str = "remove",
        max_batch: int = 32,
        allow_nonfinite: bool = False,
        explain_output: str = "logits",
    ) -> None:
        """method: "lrp", "gradient", "input-x-gradient", "smoothgrad", "integrated-gradients", "occlusion".

        LRP: composite, rules ({selector: rule} or ["SELECTOR=RULE"]; selectors "first", "#N", an op type,
        a node-name glob; rules "flat", "epsilon:0.1", "alpha-beta:1,0", ...), epsilon, gamma, low/high
        (ZBox bounds), zero_bias. init: "onehot" or "logit". smoothgrad: noise_level, samples, seed.
        integrated-gradients: steps, baseline (copied). use_rules: average the LRP instead of the gradient.
        occlusion: window, stride, fill, occlusion_mode ("remove" or "keep").
        Raises relprop.Error for an unknown method, composite or rule, an override matching no node or a NaN/Inf
        number;
        TypeError for rules, window or stride of the wrong type.
        """
    def __call__(self, x: ArrayLike, targets: int | Sequence[int] | None = None) -> Result:
        """Explains a batch x [N, ...] of bool, integer or float values (a C-contiguous float32 array is
        used without a copy).

        targets: None (each sample's highest output), one class for all, or one per sample (integers; -1:
        that sample's highest). Raises relprop.Error (wrong shape, NaN/Inf, a target out of range) or
        TypeError (targets that are not integers).
        """
    @property
    def model(self) -> Model:
        """The Model explained."""
    @property
    def method(self) -> str:
        """The method's name."""
    @property
    def rules(self) -> list[tuple[str, str, str, str]]:
        """LRP: (node name, op, rule, source) per node of the explained graph; [] for other methods."""

def methods() -> list[str]:
    """The attribution methods' names."""

def composites() -> list[str]:
    """The LRP composites' names."""

def colormaps() -> list[str]:
    """The heatmap colormaps' names."""

def load_image(
    path: Union[str, os.PathLike[str]],
    model: Model | None = None,
    *,
    channels: int | None = None,
    preprocess: str | None = "torch",
    resize: int = 256,
    crop: int = 224,
    mean: Floats | None = None,
    std: Floats | None = None,
    scale: float | None = None,
) -> FloatArray:
    """Loads a PNG, JPEG or BMP image as float32 [C, H, W] ([H, W, C] for an NHWC model), preprocessed
    as the command line does (preset "torch", "keras-caffe", "keras-tf", "none"; None: only pixel * scale).
    """

def to_image(
    x: ArrayLike,
    *,
    preprocess: str | None = "torch",
    mean: Floats | None = None,
    std: Floats | None = None,
    scale: float | None = None,
    channels_last: bool = False,
) -> npt.NDArray[np.uint8]:
    """Undoes load_image's normalization: [C, H, W] -> uint8 [H, W, C]."""

def heatmap(
    relevance: ArrayLike,
    *,
    cmap: str = "bwr",
    symmetric: bool = True,
    overlay: ArrayLike | None = None,
    alpha: float = 0.5,
    scale: int = 1,
    channels_last: bool = False,
) -> npt.NDArray[np.uint8]:
    """Relevance [H, W] or [C, H, W] -> uint8 RGB [H, W, 3]; [N, C, H, W] -> [N, H, W, 3] (zennit's imgify).

    overlay: a uint8 image [H, W(, C)], or one per sample [N, H, W, C] (N as the relevance's).
    """

def write_png(path: Union[str, os.PathLike[str]], image: ArrayLike) -> None:
    """Writes a uint8 image [H, W] or [H, W, C] (or integers 0 to 255; floats are refused) as a PNG file, all
    or nothing."""
