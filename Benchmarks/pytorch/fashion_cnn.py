#!/usr/bin/python3
"""PyTorch's time to accuracy for the FashionMnist sample's CNN, GRU or LSTM, with the sample's recipe.

The same network as `Samples/FashionMnist --model cnn` (conv16 3x3 p1 ReLU, max pool 2, conv32 3x3 p1 ReLU, max pool 2,
Dense 128 ReLU, Dense 10), `--model cnn-bn` (BatchNorm2d before the second ReLU, Dropout 0.25 before the last layer), or `--model gru` / `--model lstm` (each image as 28 steps of 28 pixels, nn.GRU / nn.LSTM of
128 units with batch_first, the last step into Dense 10), the same data preparation (pixels / 255, standardized with
the training set's mean and deviation), Adam (--lr, 1e-3 by default) with cosine decay per epoch, batch 64, shuffled
every epoch. Prints the wall time of each epoch's training and the test accuracy after it.

    fashion_cnn.py [--model cnn] [--epochs 10] [--lr 1e-3] [--threads 2] [--augment] [--data /usr/share/datasets/fashion-mnist]
"""

import argparse
import gzip
import math
import os
import sys
import time

p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
p.add_argument("--model", choices=("cnn", "cnn-bn", "gru", "lstm"), default="cnn")
p.add_argument("--epochs", type=int, default=10)
p.add_argument("--lr", type=float, default=1e-3)
p.add_argument("--threads", type=int, default=2)
p.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
p.add_argument("--augment", action="store_true", help="shift each training image by up to 1 pixel each way, edges repeated (ImageAugmentation(maxShift: 1))")
args = p.parse_args(sys.argv[1:])
os.environ.setdefault("OPENBLAS_NUM_THREADS", str(args.threads))

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402

torch.set_num_threads(args.threads)
torch.manual_seed(1)


def idx(name):
    for candidate in (name, name + ".gz"):
        path = os.path.join(args.data, candidate)
        if os.path.exists(path):
            opener = gzip.open if path.endswith(".gz") else open
            with opener(path, "rb") as f:
                data = f.read()
            dims = data[3]
            shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
            return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)
    raise FileNotFoundError(os.path.join(args.data, name))


train_x = idx("train-images-idx3-ubyte").astype(np.float32) / 255
test_x = idx("t10k-images-idx3-ubyte").astype(np.float32) / 255
mean, std = train_x.mean(), train_x.std()
train_x = torch.from_numpy((train_x - mean) / std).reshape(-1, 1, 28, 28)
test_x = torch.from_numpy((test_x - mean) / std).reshape(-1, 1, 28, 28)
train_y = torch.from_numpy(idx("train-labels-idx1-ubyte").astype(np.int64))
test_y = torch.from_numpy(idx("t10k-labels-idx1-ubyte").astype(np.int64))

class Sequence(nn.Module):
    """Each image as 28 steps (rows) of 28 pixels through a recurrent layer; its last hidden state into 10 logits."""

    def __init__(self, cell):
        super().__init__()
        self.rnn = cell(28, 128, batch_first=True)
        self.fc = nn.Linear(128, 10)

    def forward(self, x):
        out, _ = self.rnn(x.reshape(-1, 28, 28))
        return self.fc(out[:, -1])


if args.model == "cnn":
    net = nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(32 * 7 * 7, 128), nn.ReLU(), nn.Linear(128, 10))
elif args.model == "cnn-bn":
    net = nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(32 * 7 * 7, 128), nn.ReLU(), nn.Dropout(0.25), nn.Linear(128, 10))
else:
    net = Sequence(nn.GRU if args.model == "gru" else nn.LSTM)


def augment(x):
    """Each image shifted by -1, 0 or 1 pixel each way, the edge pixels repeated (as ImageAugmentation(maxShift: 1))."""
    padded = nn.functional.pad(x, (1, 1, 1, 1), mode="replicate")
    shifts = torch.randint(0, 3, (len(x), 2))
    out = torch.empty_like(x)
    for dy in range(3):
        for dx in range(3):
            chosen = (shifts[:, 0] == dy) & (shifts[:, 1] == dx)
            out[chosen] = padded[chosen, :, dy:dy + 28, dx:dx + 28]
    return out
optimizer = torch.optim.Adam(net.parameters(), lr=args.lr)
loss_fn = nn.CrossEntropyLoss()
print(f"torch {torch.__version__}, {args.model}, {args.threads} thread(s); epoch  train s  test accuracy", flush=True)
total = time.perf_counter()
for epoch in range(1, args.epochs + 1):
    for group in optimizer.param_groups:
        group["lr"] = args.lr * 0.5 * (1 + math.cos(math.pi * (epoch - 1) / args.epochs))
    start = time.perf_counter()
    net.train()
    order = torch.randperm(len(train_y))
    for i in range(0, len(order), 64):
        batch = order[i:i + 64]
        optimizer.zero_grad()
        images = augment(train_x[batch]) if args.augment else train_x[batch]
        loss_fn(net(images), train_y[batch]).backward()
        optimizer.step()
    seconds = time.perf_counter() - start
    net.eval()
    with torch.inference_mode():
        correct = sum(int((net(test_x[i:i + 1000]).argmax(1) == test_y[i:i + 1000]).sum()) for i in range(0, 10000, 1000))
    print(f"{epoch:5}  {seconds:7.1f}  {correct / 100:.2f} %", flush=True)
print(f"total {time.perf_counter() - total:.1f} s", flush=True)
