"""Shared paths and helpers of the Python tests (run by tools/python.sh against the installed module)."""

import os
import pathlib
import subprocess

import numpy as np
import pytest

import relprop

ROOT = pathlib.Path(__file__).resolve().parents[2]
FIXTURES = pathlib.Path(os.environ.get("RELPROP_FIXTURES_DIR") or ROOT / "tests" / "fixtures")
DEMO = ROOT / "tools" / "demo"


def demo_pngs():
    """The bundled demo's six digits, sorted by name."""
    return sorted(DEMO.glob("digit_*.png"))


def bits(a):
    """The float32 values' bit patterns, for comparisons to the bit."""
    return np.ascontiguousarray(a, dtype=np.float32).view(np.uint32)


@pytest.fixture(scope="module")
def model():
    """The bundled demo's digit classifier, input [N, 1, 32, 32]."""
    return relprop.Model(DEMO / "digits.onnx")


@pytest.fixture(scope="module")
def batch():
    """The demo's six digits as one float32 batch [6, 1, 32, 32]."""
    return np.load(DEMO / "digits_batch.npy")


@pytest.fixture(scope="session")
def cli():
    """The relprop command line: $RELPROP_CLI (a test fails when it names no program), else build/tools/relprop
    when it exists, else the test is skipped (a checkout without the C++ build)."""
    named = os.environ.get("RELPROP_CLI")
    path = pathlib.Path(named) if named else ROOT / "build" / "tools" / "relprop"
    if not named and not path.exists():
        pytest.skip("no command line built (build/tools/relprop); set RELPROP_CLI")
    assert path.is_file() and os.access(path, os.X_OK), f"RELPROP_CLI={named}: no such program"
    return path


def run_cli(cli, *args):
    """Runs the command line; returns (exit status, stdout, stderr)."""
    p = subprocess.run([str(cli), *map(str, args)], capture_output=True, text=True, timeout=300)
    return p.returncode, p.stdout, p.stderr
