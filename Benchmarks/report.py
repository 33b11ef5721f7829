#!/usr/bin/python3
"""Combines BenchmarkDotNet's JSON report and the PyTorch timings of run.sh into one Markdown table."""
import glob
import json
import os
import platform
import sys
from datetime import date

# FLOPs per sample of the MLP 784-256-128-10: forward 2·Σ in·out; a training step adds the weight gradients
# (same count) and the input gradients of the layers after the first.
FORWARD = 2 * (784 * 256 + 256 * 128 + 128 * 10)
TRAIN = 2 * FORWARD + 2 * (256 * 128 + 128 * 10)


def pytorch(directory):
    best = {}
    for name in ("pytorch-configured.jsonl", "pytorch-unset.jsonl"):
        with open(os.path.join(directory, name)) as f:
            for line in f:
                row = json.loads(line)
                key = ("train" if row["case"].endswith("train") else "predict", row["batch"])
                best[key] = min(best.get(key, float("inf")), row["ms"])
    return best


def dotnet(directory):
    [path] = glob.glob(os.path.join(directory, "bdn", "results", "*MlpBenchmarks*-report-full.json")) or \
        glob.glob(os.path.join(directory, "bdn", "results", "*MlpBenchmarks*.json"))
    with open(path) as f:
        report = json.load(f)
    results = {}
    for benchmark in report["Benchmarks"]:
        batch = int(benchmark["Parameters"].split("=")[1])
        stats = benchmark.get("Statistics") or {}
        if not stats:
            continue
        results[(benchmark["Method"], batch)] = (stats["Median"] / 1e6, benchmark["Memory"]["BytesAllocatedPerOperation"])
    return results, report.get("HostEnvironmentInfo", {})


def main(directory):
    torch = pytorch(directory)
    ours, host = dotnet(directory)
    print(f"Measured {date.today().isoformat()} on {host.get('ProcessorName', platform.processor())}, "
          f"{host.get('RuntimeVersion', '')}, one core (taskset -c 0). Median times.\n")
    print("| case | Backprop.Gen | PyTorch | ONNX Runtime | vs PyTorch | vs ONNX Runtime | GFLOP/s | bytes/op |")
    print("|---|---|---|---|---|---|---|---|")
    for kind, method, flops in (("train", "TrainStep", TRAIN), ("predict", "Predict", FORWARD)):
        for batch in (1, 32, 256):
            mine, allocated = ours.get((method, batch), (None, None))
            peer = torch.get((kind, batch))
            ort = ours.get(("OnnxRuntimePredict", batch), (None, None))[0] if kind == "predict" else None
            cells = [f"MLP {kind} batch {batch}",
                     f"{mine:.4f} ms" if mine else "—",
                     f"{peer:.4f} ms" if peer else "—",
                     f"{ort:.4f} ms" if ort else "—",
                     f"{peer / mine:.2f}x" if mine and peer else "—",
                     f"{ort / mine:.2f}x" if mine and ort else "—",
                     f"{flops * batch / (mine * 1e6):.0f}" if mine else "—",
                     f"{allocated}" if allocated is not None else "—"]
            print("| " + " | ".join(cells) + " |")
    print("\nRatios above 1 mean Backprop.Gen is faster. PyTorch: the faster of its two OpenBLAS runs.")


if __name__ == "__main__":
    main(sys.argv[1])
