#!/usr/bin/env python3
"""Checks chainrule's ONNX export with the ONNX project's own tools: each exported model is
validated by onnx.checker (full check, with shape inference) and run in ONNX Runtime on the
inputs it was tested with, and its outputs are compared with chainrule's to 1e-5.

The models, their inputs and chainrule's outputs come from the tract tests of chainrule-onnx,
which write them into a folder when CHAINRULE_ONNX_DIR is set:

    python3 -m venv .venv && .venv/bin/pip install onnx onnxruntime numpy
    .venv/bin/python bench/onnx_check.py            # runs the tests into a temporary folder
    .venv/bin/python bench/onnx_check.py FOLDER     # checks models already written there

Each model folder holds model.onnx and cases.json: a list of {"inputs": {name: tensor},
"outputs": {name: tensor}} with tensor = {"shape": [...], "data": [...]} (row-major), one
case per batch size (the traced one and others).
"""

import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnx
import onnxruntime as ort

TOLERANCE = 1e-5


def tensor(t):
    return np.asarray(t["data"], dtype=np.float32).reshape(t["shape"])


def check_model(folder):
    path = os.path.join(folder, "model.onnx")
    onnx.checker.check_model(onnx.load(path), full_check=True)
    session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    with open(os.path.join(folder, "cases.json")) as f:
        cases = json.load(f)
    worst = 0.0
    batches = []
    for case in cases:
        inputs = {name: tensor(t) for name, t in case["inputs"].items()}
        batches.append(next(iter(inputs.values())).shape[0])
        names = list(case["outputs"])
        got = session.run(names, inputs)
        for name, value in zip(names, got):
            expected = tensor(case["outputs"][name])
            if value.shape != expected.shape:
                raise AssertionError(f"{name}: shape {value.shape}, chainrule {expected.shape}")
            error = np.abs(value - expected) / np.maximum(1.0, np.abs(expected))
            worst = max(worst, float(error.max(initial=0.0)))
    return worst, batches


def main():
    if len(sys.argv) > 1:
        folder = sys.argv[1]
    else:
        folder = tempfile.mkdtemp(prefix="chainrule-onnx-")
        env = dict(os.environ, CHAINRULE_ONNX_DIR=folder)
        subprocess.run(
            ["cargo", "test", "-q", "-p", "chainrule-onnx", "--test", "tract"], check=True, env=env
        )
    failed = 0
    for name in sorted(os.listdir(folder)):
        model_folder = os.path.join(folder, name)
        if not os.path.isfile(os.path.join(model_folder, "model.onnx")):
            continue
        try:
            worst, batches = check_model(model_folder)
        except Exception as error:  # report every model, then fail
            failed += 1
            print(f"FAIL {name}: {type(error).__name__}: {error}")
            continue
        status = "ok  " if worst <= TOLERANCE else "FAIL"
        failed += worst > TOLERANCE
        print(f"{status} {name}: onnx.checker passed; ONNX Runtime at batch sizes {batches}: "
              f"largest relative difference {worst:.2e}")
    print(f"onnx {onnx.__version__}, onnxruntime {ort.__version__}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
