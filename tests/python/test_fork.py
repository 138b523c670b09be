"""A process forked after an explanation (multiprocessing's default 'fork' on Linux): GNU OpenMP would hang in the
child on the thread that explained in the parent; relprop refuses there with a relprop.Error naming the ways out,
and explains as usual in a child forked from any other thread."""

import os
import subprocess
import sys

import pytest

from conftest import DEMO

# Run in a fresh interpreter (this one has explained on its main thread already) with two OpenMP threads, so that
# the first explanation starts OpenMP's thread pool on any machine. The child answers through a pipe; a child
# that hangs (libgomp waiting for its parent's threads) is killed after 60 s.
SCRIPT = r"""
import os, select, sys, threading
import numpy as np
import relprop

attr = relprop.Attributor(relprop.Model(sys.argv[1]))
x = np.load(sys.argv[2])
if sys.argv[3] == "main":
    attr(x)
elif sys.argv[3] == "thread":
    worker = threading.Thread(target=lambda: attr(x))
    worker.start()
    worker.join()
read, write = os.pipe()
pid = os.fork()
if pid == 0:
    try:
        answer = attr(x).relevance.tobytes()
    except relprop.Error as e:
        answer = b"Error: " + str(e).encode()
    os.write(write, answer)
    os._exit(0)
os.close(write)
answer = b""
while select.select([read], [], [], 60)[0]:
    part = os.read(read, 1 << 16)
    if not part:
        break
    answer += part
else:
    os.kill(pid, 9)
    print("the child hung")
    sys.exit(0)
os.waitpid(pid, 0)
print(answer.decode() if answer.startswith(b"Error") else
      "same" if answer == attr(x).relevance.tobytes() else "different")
"""


def child_answer(thread):
    env = dict(os.environ, OMP_NUM_THREADS="2")
    args = [sys.executable, "-c", SCRIPT, str(DEMO / "digits.onnx"), str(DEMO / "digits_batch.npy"), thread]
    p = subprocess.run(args, capture_output=True, text=True, timeout=240, env=env)
    assert p.returncode == 0, p.stderr
    return p.stdout.strip()


def test_a_child_forked_from_the_explaining_thread_gets_an_error_not_a_hang():
    assert child_answer("main") == (
        "Error: this process was forked (os.fork, or multiprocessing's 'fork' start method) from a thread that had "
        "run relprop's OpenMP threads, and GNU OpenMP would wait for those threads forever here: use "
        "multiprocessing.get_context('forkserver') or ('spawn'), fork before the first explanation, or start the "
        "parent with OMP_NUM_THREADS=1")


@pytest.mark.parametrize("thread", ["none", "thread"])
def test_a_child_forked_from_another_thread_explains(thread):
    """'none': the parent only loaded the model; 'thread': it explained on another thread (whose pool the child
    does not inherit on its thread)."""
    assert child_answer(thread) == "same"
