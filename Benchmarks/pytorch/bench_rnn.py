#!/usr/bin/python3
"""PyTorch peer timings for the recurrent issue's networks: nn.GRU / nn.LSTM (batch_first, 28 steps x 28 features,
128 units), the last step's hidden state into nn.Linear(128, 10).

Runs with Debian's /usr/bin/python3 and python3-torch (PyTorch 1.13), float32. It times one training step at batch
32 (zero_grad, forward, CrossEntropyLoss, backward, SGD step) and one inference call (torch.inference_mode()) at
batch 32 and 1, the median of 9 rounds of about 0.2 s, as Benchmarks' `--rnn` times Backprop.Gen.

stdout: one JSON line per case, e.g. {"case":"gru-train","batch":32,"threads":1,"ms":5.1}

    bench_rnn.py [--threads N] [--quick]

Run it pinned to one core, once as the machine is set up and once with OPENBLAS_CORETYPE unset:
    taskset -c 0 /usr/bin/python3 bench_rnn.py
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE taskset -c 0 /usr/bin/python3 bench_rnn.py
"""

import argparse
import json
import os
import statistics
import sys
import time

p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
p.add_argument("--threads", type=int, default=1)
p.add_argument("--quick", action="store_true")
args = p.parse_args(sys.argv[1:])
os.environ.setdefault("OPENBLAS_NUM_THREADS", str(args.threads))

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402

torch.set_num_threads(args.threads)
torch.manual_seed(1)


class Net(nn.Module):
    def __init__(self, cell):
        super().__init__()
        self.rnn = cell(28, 128, batch_first=True)
        self.fc = nn.Linear(128, 10)

    def forward(self, x):
        out, _ = self.rnn(x)
        return self.fc(out[:, -1])


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


for name, cell in (("gru", nn.GRU), ("lstm", nn.LSTM)):
    for batch in (1, 32):
        net = Net(cell)
        x = torch.rand(batch, 28, 28)
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

        cases = (("train", train), ("predict", predict)) if batch == 32 else (("predict", predict),)
        for case, call in cases:
            print(json.dumps({"case": f"{name}-{case}", "batch": batch, "threads": args.threads,
                              "ms": round(median_ms(call), 4)}), flush=True)
