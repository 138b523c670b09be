"""The type stubs (relprop/_core.pyi) name the same parameters, in the same order and with the same keyword-only
marker, as the compiled module's signatures, so what an IDE shows is what runs."""

import ast
import pathlib
import re

import pytest

import relprop
from relprop import _core

STUB = pathlib.Path(relprop.__file__).parent / "_core.pyi"


def stub_signatures():
    """{qualified name: [parameter names, with '*' where keyword-only ones start]} from the stub."""
    out = {}
    tree = ast.parse(STUB.read_text())
    for node in tree.body:
        scopes = [(node.name + ".", node.body)] if isinstance(node, ast.ClassDef) else [("", [node])]
        for prefix, body in scopes:
            for f in body:
                if isinstance(f, ast.FunctionDef) and not any(
                        isinstance(d, ast.Name) and d.id == "property" for d in f.decorator_list):
                    names = [a.arg for a in f.args.args if a.arg != "self"]
                    if f.args.kwonlyargs:
                        names += ["*"] + [a.arg for a in f.args.kwonlyargs]
                    out[prefix + f.name] = names
    return out


def runtime_signature(qualified):
    obj = _core
    for part in qualified.split("."):
        obj = getattr(obj, part)
    first = obj.__doc__.splitlines()[0]
    inside = first[first.index("(") + 1:first.rindex(")")]
    names = []
    for m in re.finditer(r"(?:^|, )(\*|\w+)(?=: |, |$)", inside):
        if m.group(1) != "self":
            names.append(m.group(1))
    return names


SIGNATURES = stub_signatures()


def test_the_stub_covers_the_public_names():
    public = {n for n in dir(_core) if not n.startswith("_")} - {"Error"}
    described = {n.split(".")[0] for n in SIGNATURES} | {"Result"}
    assert public <= described
    assert {"Model.__init__", "Attributor.__init__", "Attributor.__call__", "load_image", "heatmap"} <= set(SIGNATURES)


@pytest.mark.parametrize("qualified", sorted(SIGNATURES))
def test_stub_matches_the_module(qualified):
    assert SIGNATURES[qualified] == runtime_signature(qualified)


@pytest.mark.parametrize("qualified", ["Model.__init__", "Attributor.__init__", "Attributor.__call__", "load_image",
                                       "to_image", "heatmap", "write_png"])
def test_the_keyword_checks_know_the_module_signatures(qualified):
    """relprop/__init__.py puts these behind a check of the argument names, read from the same signature lines."""
    checked = relprop
    for part in qualified.split("."):
        checked = getattr(checked, part)
    assert list(checked.parameters) == [n for n in runtime_signature(qualified) if n != "*"]
