"""The op summary the fixture scripts print: needs nothing but the standard library, so that scripts run
in different venvs (torch for make_onnx_fixtures.py, TensorFlow for make_keras_fixtures.py) share it."""
import collections


def op_types(model):
    """'Op×count' for every op type in the main graph, in first-appearance order."""
    c = collections.Counter(n.op_type for n in model.graph.node)
    seen = []
    for n in model.graph.node:
        if n.op_type not in seen:
            seen.append(n.op_type)
    return " ".join(f"{t}x{c[t]}" if c[t] > 1 else t for t in seen)
