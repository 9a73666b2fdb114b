#!/usr/bin/env python3
"""`chainrule export` checked by the ONNX project's own tools, on the digits: a model trained by
`chainrule train`, exported, validated by onnx.checker (full check) and run in ONNX Runtime on
all 1,797 rows of data/digits.csv, must predict the same class for every row as
`chainrule predict`; the throughput of both is printed side by side.

    python3 -m venv .venv && .venv/bin/pip install onnx onnxruntime numpy
    .venv/bin/python bench/export_check.py

Exit status 0 when every row agrees, 1 otherwise.
"""

import csv
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import onnx
import onnxruntime as ort

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, "data", "digits.csv")


def main():
    subprocess.run(["cargo", "build", "--release", "-q", "--bin", "chainrule"], cwd=ROOT, check=True)
    chainrule = os.path.join(ROOT, "target", "release", "chainrule")
    with tempfile.TemporaryDirectory() as folder:
        model = os.path.join(folder, "digits.safetensors")
        exported = os.path.join(folder, "digits.onnx")
        subprocess.run([chainrule, "train", DATA, "--target", "target", "--save", model, "--quiet"],
                       check=True, stdout=subprocess.DEVNULL)
        subprocess.run([chainrule, "export", model, "--onnx", exported], check=True,
                       stdout=subprocess.DEVNULL)
        start = time.perf_counter()
        predicted = subprocess.run([chainrule, "predict", model, DATA], check=True,
                                   capture_output=True, text=True).stdout
        predict_seconds = time.perf_counter() - start
        ours = [int(row["predicted"]) for row in csv.DictReader(predicted.splitlines())]

        onnx.checker.check_model(onnx.load(exported), full_check=True)
        with open(DATA) as f:
            rows = list(csv.DictReader(f))
        features = [name for name in rows[0] if name != "target"]
        x = np.array([[float(row[name]) for name in features] for row in rows], dtype=np.float32)
        session = ort.InferenceSession(exported, providers=["CPUExecutionProvider"])
        start = time.perf_counter()
        probabilities = session.run(None, {"features": x})[0]
        runtime_seconds = time.perf_counter() - start
        theirs = probabilities.argmax(axis=1).tolist()

    agree = sum(a == b for a, b in zip(ours, theirs))
    print(f"onnx.checker: passed; {agree} of {len(rows)} rows predict the same class in "
          f"ONNX Runtime {ort.__version__} as in chainrule predict")
    print(f"throughput: chainrule predict {len(rows) / predict_seconds:,.0f} rows/s (the whole "
          f"process: start, reading the CSV, printing), ONNX Runtime "
          f"{len(rows) / runtime_seconds:,.0f} rows/s (the inference call alone)")
    return 0 if agree == len(rows) == len(ours) else 1


if __name__ == "__main__":
    sys.exit(main())
