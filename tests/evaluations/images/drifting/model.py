"""A test model whose accuracy falls as its labelled data drifts (tests/evaluations only).

It says ``label = 1`` when ``x`` is above the threshold it was "trained" with
(``/opt/threshold.txt``). The reference data's true threshold moves with each new version
of the data, so a model trained on old data scores worse and worse; a version trained on
the new data (another threshold.txt) scores well again.
"""

import csv
import json
import os

OUT = os.environ.get("MLK_OUTPUTS", "/mlk/outputs")


def evaluate():
    with open("/opt/threshold.txt") as fh:
        threshold = float(fh.read().strip())
    folder = os.path.join(os.environ.get("MLK_INPUTS", "/mlk/inputs"), "data")
    rows = right = 0
    for name in sorted(os.listdir(folder)):
        with open(os.path.join(folder, name), newline="") as fh:
            for row in csv.DictReader(fh):
                rows += 1
                right += int(float(row["x"]) > threshold) == int(row["label"])
    accuracy = right / rows
    print(f"mlk:progress 1.0 scored {rows} rows")
    with open(os.path.join(OUT, "_metrics.json"), "w") as fh:
        json.dump({"accuracy": accuracy, "error_rate": 1 - accuracy, "rows": rows}, fh)
    with open(os.path.join(OUT, "report.txt"), "w") as fh:
        fh.write(f"accuracy {accuracy:.4f} on {rows} rows (threshold {threshold})\n")


if __name__ == "__main__":
    evaluate()
