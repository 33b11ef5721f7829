#!/usr/bin/python3
"""PyTorch peer timings for the MLP 784-256-128-10 (ReLU, ReLU, linear; CrossEntropyLoss; SGD).

Runs with Debian's /usr/bin/python3 and python3-torch (PyTorch 1.13), float32.

For each batch size it times one training step (zero_grad, forward, loss, backward, step) and
one inference call (under torch.inference_mode()). After a warm-up it runs several timing
rounds, each long enough to last about 0.2 s, and reports the median time per call.

stdout: one JSON line per case, e.g. {"case":"mlp-train","batch":32,"threads":1,"ms":0.45}
stderr: which BLAS / CPU capability this torch uses.

    bench_mlp.py [--threads N] [--batches 1,32,256] [--quick] [--export-onnx PATH]

The PERF.md protocol runs it twice: as the machine is set up (OPENBLAS_CORETYPE=Haswell) and
with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset, e.g.
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE taskset -c 0 /usr/bin/python3 bench_mlp.py
"""

import argparse
import json
import os
import re
import statistics
import sys
import time


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--threads", type=int, default=1, help="torch and OpenBLAS threads (default 1)")
    p.add_argument("--batches", default="1,32,256", help="comma-separated batch sizes")
    p.add_argument("--quick", action="store_true", help="short warm-up and few rounds")
    p.add_argument("--export-onnx", metavar="PATH", help="export the MLP to ONNX and exit")
    return p.parse_args(argv)


args = parse_args(sys.argv[1:])
# OpenBLAS reads its thread count when the library loads, so set it before importing torch.
os.environ.setdefault("OPENBLAS_NUM_THREADS", str(args.threads))
os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402


def make_mlp():
    """The benchmark network: 784-256-128-10, ReLU, ReLU, linear output (logits)."""
    return nn.Sequential(
        nn.Linear(784, 256), nn.ReLU(),
        nn.Linear(256, 128), nn.ReLU(),
        nn.Linear(128, 10),
    )


def loaded_blas_libraries():
    """Shared libraries mapped into this process whose names look like BLAS/LAPACK."""
    names = set()
    try:
        with open("/proc/self/maps") as f:
            for line in f:
                path = line.split()[-1]
                base = os.path.basename(path).lower()
                if path.startswith("/") and any(s in base for s in ("blas", "lapack", "mkl", "dnnl")):
                    names.add(os.path.realpath(path))
    except OSError:
        pass
    return sorted(names)


def report_environment(threads):
    """Print torch version, BLAS and CPU capability to stderr."""
    config = torch.__config__.show()
    capability = None
    if hasattr(torch.backends, "cpu") and hasattr(torch.backends.cpu, "get_cpu_capability"):
        capability = torch.backends.cpu.get_cpu_capability()
    else:  # torch 1.13 has no torch.backends.cpu; the config text names it instead
        for line in config.splitlines():
            if "CPU capability usage" in line:
                capability = line.split(":", 1)[1].strip()
    match = re.search(r"BLAS_INFO=[^,\s]*", config)
    blas_info = match.group(0) if match else "BLAS_INFO=?"
    print(f"torch {torch.__version__}; {blas_info}; CPU capability {capability}; "
          f"threads {torch.get_num_threads()} (asked {threads}); "
          f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '<unset>')} "
          f"OPENBLAS_L2_SIZE={os.environ.get('OPENBLAS_L2_SIZE', '<unset>')} "
          f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', '<unset>')}; "
          f"affinity {sorted(os.sched_getaffinity(0))}", file=sys.stderr)
    libraries = loaded_blas_libraries()
    print("BLAS libraries loaded: " + (", ".join(libraries) or "?"), file=sys.stderr)
    # Debian's torch links the generic libblas.so.3; which BLAS that is depends on the
    # alternatives (or LD_LIBRARY_PATH). The reference (netlib) BLAS is ~15x slower here.
    if not any("openblas" in lib.lower() or "mkl" in lib.lower() for lib in libraries):
        print("WARNING: no OpenBLAS/MKL loaded; torch runs on the reference BLAS and the "
              "OPENBLAS_* variables have no effect (install libopenblas0-pthread)", file=sys.stderr)


def time_case(step, quick):
    """Median milliseconds per call of ``step`` over several rounds of ~0.2 s each."""
    warmup_s, round_s, rounds = (0.05, 0.05, 3) if quick else (0.5, 0.2, 7)

    # warm-up (also the first calls that allocate and pick kernels)
    start = time.perf_counter()
    calls = 0
    while time.perf_counter() - start < warmup_s or calls < 3:
        step()
        calls += 1
    per_call = (time.perf_counter() - start) / calls
    iterations = max(1, int(round_s / per_call))

    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(iterations):
            step()
        samples.append((time.perf_counter() - start) / iterations * 1e3)
    return statistics.median(samples)


def bench(batches, threads, quick):
    torch.manual_seed(0)
    model = make_mlp()
    loss_fn = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)

    for batch in batches:
        x = torch.randn(batch, 784)
        y = torch.randint(0, 10, (batch,))

        def train_step():
            optimizer.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            optimizer.step()

        def infer():
            with torch.inference_mode():
                model(x)

        for case, step in (("mlp-train", train_step), ("mlp-infer", infer)):
            ms = time_case(step, quick)
            print(json.dumps({"case": case, "batch": batch, "threads": threads, "ms": round(ms, 5)},
                             separators=(",", ":")), flush=True)


def export_onnx(path):
    """Export the MLP (seed 0) with a dynamic batch axis, input 'input', output 'logits'."""
    torch.manual_seed(0)
    model = make_mlp().eval()
    torch.onnx.export(model, torch.randn(1, 784), path,
                      input_names=["input"], output_names=["logits"],
                      dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
                      opset_version=13)
    print(f"wrote {path}", file=sys.stderr)


def main():
    torch.set_num_threads(args.threads)
    if args.export_onnx:
        export_onnx(args.export_onnx)
        return 0
    report_environment(args.threads)
    batches = [int(b) for b in args.batches.split(",") if b.strip()]
    bench(batches, args.threads, args.quick)
    return 0


if __name__ == "__main__":
    sys.exit(main())
