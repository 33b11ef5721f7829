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
    gemm_lines = open(gemm).read().rstrip().splitlines() if os.path.exists(gemm) else []
    probe = fma_probe(directory)
    if probe:
        print(f"\nThis machine's one-core FMA ceiling (`--cores`, register-only FMA loop of the widest accelerated vector, best of its runs): {probe:.1f} GFLOP/s.")
    targets(torch, ours, gemm_lines, probe)
    if gemm_lines:
        print("\nThe dense layer's products alone (`--gemm`, one thread, GFLOP/s):\n\n```\n" + "\n".join(gemm_lines) + "\n```")


def fma_probe(directory):
    """The best one-thread FMA peak that `--cores` printed in this run (cores.txt), or None."""
    path = os.path.join(directory, "cores.txt")
    if not os.path.exists(path):
        return None
    peaks = [float(line.split("one thread")[1].split()[0]) for line in open(path) if line.startswith("FMA peak: one thread")]
    return max(peaks) if peaks else None


def targets(torch, ours, gemm_lines, probe):
    """PERF.md's targets, each with the measured value from this run and whether it is met."""
    rows = []

    def ratio(peer, mine):
        return peer / mine if peer and mine else None

    for batch, goal in ((1, 10.0), (32, 2.0), (256, 1.15)):
        rows.append((f"train vs PyTorch, batch {batch}, one thread", goal,
                     ratio(torch.get(("train", batch, 1)), ours.get(("TrainStep", batch, 1), (None,))[0])))
    for batch, goal in ((1, 2.0), (32, 1.0), (256, 0.95)):
        rows.append((f"predict vs ONNX Runtime, batch {batch}, one thread", goal,
                     ratio(ours.get(("OnnxRuntimePredict", batch, 1), (None,))[0], ours.get(("Predict", batch, 1), (None,))[0])))
    rows.append(("two threads vs one, training at batch 256", 1.8,
                 ratio(ours.get(("TrainStep", 256, 1), (None,))[0], ours.get(("TrainStep", 256, 2), (None,))[0])))
    # GEMM: the lowest figure among the products of the two large layers at batch 32 and 256 (the column marked * is
    # the input-gradient form the layer uses).
    large = []
    for line in gemm_lines:
        fields = line.split()
        if len(fields) >= 5 and fields[-4:-1] and fields[0] in ("forward", "weights", "inputs"):
            try:
                m, n, k, rate = int(fields[-4]), int(fields[-3]), int(fields[-2]), float(fields[-1])
            except ValueError:
                continue
            # The input gradient: the form the layer uses, and not the first layer's (784 inputs), which the MLP never computes.
            if fields[0] == "inputs" and ("*" not in line or n == 784):
                continue
            dims = sorted((m, n, k))
            if dims in ([32, 256, 784], [256, 256, 784], [32, 128, 256], [128, 256, 256]):
                large.append(rate)
    if large:
        # PERF.md: 90% of the Vector512 probe (about 205 GFLOP/s where 512-bit FMAs run at full rate, so 185); the
        # probe measured in this run when there is one, since machines differ (a Zen 4 core runs 512-bit FMAs at half
        # rate, about 110 GFLOP/s).
        goal = 0.9 * probe if probe else 185.0
        rows.append((f"GEMM at the large layers (lowest, GFLOP/s; goal 90% of the {'measured' if probe else 'PERF.md'} probe)", round(goal, 1), min(large)))
    allocated = [v[1] for k, v in ours.items() if k[0] in ("TrainStep", "Predict") and v[1] is not None]
    print("\n| target | goal | measured | met |\n|---|---|---|---|")
    for name, goal, value in rows:
        measured = "—" if value is None else (f"{value:.1f}" if goal > 10 else f"{value:.2f}x")
        met = "—" if value is None else ("yes" if value >= goal else "no")
        print(f"| {name} | {goal:g}{'' if goal > 10 else 'x'} | {measured} | {met} |")
    if allocated:
        print(f"| bytes allocated per TrainStep and Predict | 0 | {max(allocated)} (largest) | {'yes' if max(allocated) == 0 else 'no'} |")


if __name__ == "__main__":
    main(sys.argv[1])
