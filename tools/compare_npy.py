#!/usr/bin/env python3
"""Compare relevance files written on two devices: every DIR/NAME.cpu.npy against DIR/NAME.cuda.npy
(relative L2 error, float64). Used by tools/gpu_check.sh; exits 1 if any pair is missing or above
--tolerance, or if there is no pair at all.

    python3 tools/compare_npy.py [--tolerance 1e-4] DIR
"""
import argparse
import glob
import os
import sys

import numpy as np


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dir")
    ap.add_argument("--tolerance", type=float, default=1e-4)
    args = ap.parse_args()
    worst, compared, bad = 0.0, 0, []
    for cpu_path in sorted(glob.glob(os.path.join(args.dir, "*.cpu.npy"))):
        name = os.path.basename(cpu_path)[: -len(".cpu.npy")]
        gpu_path = os.path.join(args.dir, name + ".cuda.npy")
        if not os.path.exists(gpu_path):
            bad.append(name + " (no GPU result)")
            continue
        a = np.load(cpu_path).astype(np.float64)
        b = np.load(gpu_path).astype(np.float64)
        if a.shape != b.shape:
            bad.append(f"{name} (shapes {a.shape} vs {b.shape})")
            continue
        rel = float(np.linalg.norm(a - b) / max(np.linalg.norm(a), 1e-30))
        compared += 1
        worst = max(worst, rel)
        print(f"{name:40s} relative L2 GPU vs CPU {rel:.2e}")
        if not rel <= args.tolerance:  # NaN fails too
            bad.append(f"{name} ({rel:.2e})")
    print(f"compare_npy: {compared} pairs, worst relative L2 {worst:.2e}; failing: {bad if bad else 'none'}")
    return 1 if bad or compared == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
