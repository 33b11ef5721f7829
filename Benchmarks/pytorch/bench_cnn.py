#!/usr/bin/python3
"""PyTorch peer timings for the PERF.md CNN: conv16(3x3,p1)-ReLU-pool2-conv32(3x3,p1)-ReLU-pool2-fc128-ReLU-fc10.

Runs with Debian's /usr/bin/python3 and python3-torch (PyTorch 1.13, oneDNN convolutions), float32.
For each batch size it times one training step (zero_grad, forward, CrossEntropyLoss, backward, SGD
step) and one inference call (torch.inference_mode()), the median of several rounds of about 0.2 s.

stdout: one JSON line per case, e.g. {"case":"cnn-train","batch":32,"threads":1,"ms":5.9}

    bench_cnn.py [--threads N] [--batches 1,32,256] [--quick] [--export-onnx PATH]

Run it pinned to one core, once as the machine is set up and once with OPENBLAS_CORETYPE unset:
    taskset -c 0 /usr/bin/python3 bench_cnn.py
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE taskset -c 0 /usr/bin/python3 bench_cnn.py
"""

import argparse
import json
import os
import statistics
import sys
import time

p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
p.add_argument("--threads", type=int, default=1)
p.add_argument("--batches", default="1,32,256")
p.add_argument("--quick", action="store_true")
p.add_argument("--export-onnx", metavar="PATH", help="export the CNN to ONNX (input 'input' [batch, 1, 28, 28], output 'logits') and exit")
args = p.parse_args(sys.argv[1:])
os.environ.setdefault("OPENBLAS_NUM_THREADS", str(args.threads))

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402

torch.set_num_threads(args.threads)
torch.manual_seed(1)


def model():
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(32 * 7 * 7, 128), nn.ReLU(), nn.Linear(128, 10))


if args.export_onnx:
    exported = model().eval()
    torch.onnx.export(exported, torch.randn(1, 1, 28, 28), args.export_onnx,
                      input_names=["input"], output_names=["logits"],
                      dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}}, opset_version=13)
    print(f"wrote {args.export_onnx}", file=sys.stderr)
    sys.exit(0)


def median_ms(call):
    warm, rounds = (5, 3) if args.quick else (30, 9)
    for _ in range(warm):
        call()
    start = time.perf_counter()
    call()
    once = max(time.perf_counter() - start, 1e-6)
    calls = max(3, int(0.2 / once))
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(calls):
            call()
        times.append((time.perf_counter() - start) / calls * 1e3)
    return statistics.median(times)


for batch in [int(b) for b in args.batches.split(",")]:
    net = model()
    x = torch.rand(batch, 1, 28, 28)
    y = torch.randint(0, 10, (batch,))
    sgd = torch.optim.SGD(net.parameters(), lr=0.01)
    loss_fn = nn.CrossEntropyLoss()

    def train():
        sgd.zero_grad()
        loss_fn(net(x), y).backward()
        sgd.step()

    def predict():
        with torch.inference_mode():
            net(x)

    for case, call in (("cnn-train", train), ("cnn-predict", predict)):
        print(json.dumps({"case": case, "batch": batch, "threads": args.threads, "ms": round(median_ms(call), 4)}), flush=True)
