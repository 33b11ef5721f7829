#!/usr/bin/python3
"""Combines BenchmarkDotNet's JSON report, the PyTorch timings and the GEMM timings of run.sh into one Markdown table."""
import glob
import json
import os
import sys
from datetime import date

# FLOPs per sample of the MLP 784-256-128-10: forward 2·Σ in·out; a training step adds the weight gradients
# (same count) and the input gradients of the layers after the first.
FORWARD = 2 * (784 * 256 + 256 * 128 + 128 * 10)
TRAIN = 2 * FORWARD + 2 * (256 * 128 + 128 * 10)


def pytorch(directory):
    best = {}
    for path in glob.glob(os.path.join(directory, "pytorch-*.jsonl")):
        with open(path) as f:
            for line in f:
                row = json.loads(line)
                key = ("train" if row["case"].endswith("train") else "predict", row["batch"], row["threads"])
                best[key] = min(best.get(key, float("inf")), row["ms"])
    return best


def dotnet(directory):
    [path] = glob.glob(os.path.join(directory, "bdn", "results", "*MlpBenchmarks*-report-full*.json"))
    with open(path) as f:
        report = json.load(f)
    results = {}
    for benchmark in report["Benchmarks"]:
        parameters = dict(part.strip().split("=") for part in benchmark["Parameters"].replace("&", ",").split(","))
        stats = benchmark.get("Statistics") or {}
        if stats:
            key = (benchmark["Method"], int(parameters["Batch"]), int(parameters["Threads"]))
            results[key] = (stats["Median"] / 1e6, benchmark["Memory"]["BytesAllocatedPerOperation"])
    return results, report.get("HostEnvironmentInfo", {})


def cell(value, fmt):
    return fmt.format(value) if value else "—"


def main(directory):
    torch = pytorch(directory)
    ours, host = dotnet(directory)
    print(f"Measured {date.today().isoformat()} on {host.get('ProcessorName', '?')}, {host.get('RuntimeVersion', '?')}. "
          "Median times. PyTorch's one-thread runs are pinned to core 0, its two-thread runs to cores 0-1; "
          "the .NET process runs on cores 0-1 with MaxThreads (and ONNX Runtime's intra-op threads) set to the thread count.\n")
    print("| case | threads | Backprop.Gen | PyTorch | ONNX Runtime | plain C# loops | vs PyTorch | vs ONNX Runtime | vs plain C# | GFLOP/s | bytes/op |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for kind, method, flops in (("train", "TrainStep", TRAIN), ("predict", "Predict", FORWARD)):
        for threads in (1, 2):
            for batch in (1, 32, 256):
                mine, allocated = ours.get((method, batch, threads), (None, None))
                # The strongest peer for the thread budget: with two threads, the faster of its one- and two-thread runs
                # (on this machine PyTorch is slower with two threads than with one).
                peer = min((torch[(kind, batch, t)] for t in range(1, threads + 1) if (kind, batch, t) in torch), default=None)
                ort = min((ours[("OnnxRuntimePredict", batch, t)][0] for t in range(1, threads + 1) if ("OnnxRuntimePredict", batch, t) in ours),
                          default=None) if kind == "predict" else None
                plain = ours.get(("Plain" + method, batch, 1), (None, None))[0]
                print("| " + " | ".join([
                    f"MLP {kind} batch {batch}", str(threads),
                    cell(mine, "{:.4f} ms"), cell(peer, "{:.4f} ms"), cell(ort, "{:.4f} ms"), cell(plain, "{:.4f} ms"),
                    f"{peer / mine:.2f}x" if mine and peer else "—",
                    f"{ort / mine:.2f}x" if mine and ort else "—",
                    f"{plain / mine:.2f}x" if mine and plain else "—",
                    f"{flops * batch / (mine * 1e6):.0f}" if mine else "—",
                    str(allocated) if allocated is not None else "—"]) + " |")
    one = ours.get(("TrainStep", 256, 1), (None,))[0]
    two = ours.get(("TrainStep", 256, 2), (None,))[0]
    if one and two:
        print(f"\nTwo threads vs one, training step at batch 256: {one / two:.2f}x.")
    print("\nRatios above 1 mean Backprop.Gen is faster. PyTorch: the faster of its two OpenBLAS runs per case; with two "
          "threads, the peers' best time with up to two threads.")
    gemm = os.path.join(directory, "gemm.txt")
    if os.path.exists(gemm):
        print("\nThe dense layer's products alone (`--gemm`, one thread, GFLOP/s):\n\n```\n" + open(gemm).read().rstrip() + "\n```")


if __name__ == "__main__":
    main(sys.argv[1])
