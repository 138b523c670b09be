"""One Attributor called from several threads gives the serial results, and the GIL is free meanwhile."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import relprop
from conftest import DEMO, bits


@pytest.mark.parametrize("method", ["lrp", "gradient"])
def test_six_threads_on_one_attributor_give_the_serial_results(method):
    attr = relprop.Attributor(relprop.Model(DEMO / "digits.onnx"), method=method)
    batch = np.load(DEMO / "digits_batch.npy")
    inputs = [batch[i:i + 1].copy() for i in range(6)]
    serial = [bits(attr(inputs[i], i % 10).relevance) for i in range(6)]

    def run(i):
        return sum(not np.array_equal(bits(attr(inputs[i], i % 10).relevance), serial[i]) for _ in range(10))

    with ThreadPoolExecutor(6) as pool:
        assert list(pool.map(run, range(6))) == [0] * 6


def test_the_gil_is_released_during_an_explanation():
    attr = relprop.Attributor(relprop.Model(DEMO / "digits.onnx"), method="smoothgrad", samples=8)
    x = np.load(DEMO / "digits_batch.npy")
    while True:  # a batch whose explanation lasts at least 0.1 s on this machine
        start = time.perf_counter()
        attr(x)
        alone = time.perf_counter() - start
        if alone >= 0.1:
            break
        x = np.concatenate([x, x])

    done = threading.Event()
    worker = threading.Thread(target=lambda: (attr(x), done.set()))
    ticks = []
    worker.start()
    while not done.is_set():  # this thread keeps running Python while the worker explains
        ticks.append(time.perf_counter())
        time.sleep(0.001)
    worker.join()
    # with the GIL held for the whole call, one gap between ticks would last the whole call
    assert len(ticks) > 10
    assert np.diff(ticks).max() < 0.5 * max(alone, ticks[-1] - ticks[0])
