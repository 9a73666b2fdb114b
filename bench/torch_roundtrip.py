"""Loads a chainrule model into PyTorch with the README's own lines (taken from README.md, so
the README cannot drift from what is checked) and compares its predictions on a CSV with
`chainrule predict`'s. Usage: torch_roundtrip.py MODEL DATA PREDICTIONS. Exit status 1 on a
difference above 1e-5."""
import csv
import json
import pathlib
import re
import sys

import torch

readme = (pathlib.Path(__file__).resolve().parent.parent / "README.md").read_text()
blocks = [b for b in re.findall(r"```python\n(.*?)```", readme, re.S) if "def load_chainrule" in b]
assert len(blocks) == 1, "README.md has one python block defining load_chainrule"
exec(blocks[0])

model_path, data_path, predictions_path = sys.argv[1:]
model, meta = load_chainrule(model_path)  # noqa: F821 (defined by the README's block)
features = json.loads(meta["features"])
with open(data_path, newline="") as f:
    rows = list(csv.DictReader(f))
x = torch.tensor([[float(row[name]) for name in features] for row in rows], dtype=torch.float32)
ours = predict(model, meta, x)  # noqa: F821

with open(predictions_path, newline="") as f:
    printed = list(csv.DictReader(f))
assert len(printed) == len(rows), f"{len(printed)} predictions for {len(rows)} rows"
if meta["task"] == "classification":
    columns = [c for c in printed[0] if c.startswith("probability_")]
    theirs = torch.tensor([[float(r[c]) for c in columns] for r in printed])
else:
    theirs = torch.tensor([float(next(iter(r.values()))) for r in printed])
worst = (ours.double() - theirs.double()).abs().max().item()
# chainrule prints probabilities with 6 decimals (at most 5e-7 off); regression values in full.
scale = 1.0 if meta["task"] == "classification" else max(1.0, theirs.abs().max().item())
print(f"{model_path} on {data_path}: {len(rows)} rows, {meta['task']}, "
      f"largest difference {worst:.2e} (scale {scale:g})")
if worst > 1e-5 * scale:
    sys.exit(1)
