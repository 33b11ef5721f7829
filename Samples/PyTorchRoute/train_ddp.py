#!/usr/bin/python3
"""Train a CNN on Fashion-MNIST with DistributedDataParallel (gloo, two processes on localhost), then save what the
C# side needs: the state_dict as safetensors (the ten-line writer below: torch 1.13 has no safetensors package) and a
check batch with PyTorch's eval-mode outputs.

    /usr/bin/python3 Samples/PyTorchRoute/train_ddp.py --out /tmp/route [--train-samples 60000 --epochs 2]
    dotnet run --project Samples/PyTorchRoute -- /tmp/route

Needs Debian's python3-torch and dataset-fashion-mnist (or --data DIR with the four IDX files, .gz or not).
The model is an nn.Sequential with PyTorch's own child names ("0", "1", ...); the C# side maps them to its layer names.
"""
import argparse
import gzip
import json
import os
import socket
import struct
import time

import numpy as np
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import torch.nn as nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, TensorDataset
from torch.utils.data.distributed import DistributedSampler


def save_state_dict(path, state_dict):
    """The ten-line safetensors writer: F32 tensors (I64 counters kept), 8-byte header length, JSON header, raw data."""
    header, blobs, offset = {}, [], 0
    for name, tensor in state_dict.items():
        tensor = tensor.detach().cpu().contiguous()
        dtype = {torch.float32: "F32", torch.int64: "I64"}[tensor.dtype]
        blob = tensor.numpy().tobytes()
        header[name] = {"dtype": dtype, "shape": list(tensor.shape), "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    encoded = json.dumps(header, separators=(",", ":")).encode()
    encoded += b" " * (-len(encoded) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(encoded)) + encoded + b"".join(blobs))


def model():
    """The C# network RouteCnn, layer for layer (names in comments)."""
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(),   # 0: conv1
        nn.MaxPool2d(2),                             # pool1
        nn.Conv2d(16, 32, 3, padding=1),             # 3: conv2
        nn.BatchNorm2d(32), nn.ReLU(),               # 4: bn1
        nn.MaxPool2d(2),                             # pool2
        nn.Flatten(),                                # flatten1
        nn.Linear(32 * 7 * 7, 128), nn.ReLU(),       # 8: dense1
        nn.Dropout(0.25),                            # dropout1
        nn.Linear(128, 10))                          # 11: dense2


def read_idx(directory, name):
    path = os.path.join(directory, name)
    opener = gzip.open if os.path.exists(path + ".gz") else open
    with opener(path + ".gz" if opener is gzip.open else path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = struct.unpack(">" + "I" * dims, data[4:4 + 4 * dims])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def load(directory, kind, count):
    images = read_idx(directory, f"{kind}-images-idx3-ubyte")[:count]
    labels = read_idx(directory, f"{kind}-labels-idx1-ubyte")[:count]
    x = torch.from_numpy(images.astype(np.float32) / 255.0).unsqueeze(1)
    return x, torch.from_numpy(labels.astype(np.int64))


def worker(rank, args, port):
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=2)
    torch.manual_seed(args.seed)  # the same initial weights in both processes (DDP also broadcasts rank 0's)
    x, y = load(args.data, "train", args.train_samples)
    sampler = DistributedSampler(TensorDataset(x, y), num_replicas=2, rank=rank, shuffle=True, seed=args.seed)
    loader = DataLoader(TensorDataset(x, y), batch_size=args.batch, sampler=sampler)
    net = DistributedDataParallel(model())
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
    loss = nn.CrossEntropyLoss()
    start = time.time()
    for epoch in range(args.epochs):
        sampler.set_epoch(epoch)
        net.train()
        for inputs, labels in loader:
            optimizer.zero_grad()
            loss(net(inputs), labels).backward()  # DDP averages the gradients of the two processes here
            optimizer.step()
        if rank == 0:
            print(f"epoch {epoch + 1}: {time.time() - start:.1f} s", flush=True)
    if rank == 0:
        trained = net.module.eval()
        save_state_dict(os.path.join(args.out, "model.safetensors"), trained.state_dict())
        test_x, test_y = load(args.data, "t10k", 10000)
        with torch.no_grad():
            outputs = trained(test_x)
            accuracy = (outputs.argmax(1) == test_y).float().mean().item()
            check = test_x[:args.check]
            save_state_dict(os.path.join(args.out, "check.safetensors"), {"inputs": check, "outputs": trained(check)})
        with open(os.path.join(args.out, "pytorch.json"), "w") as f:
            json.dump({"test_accuracy": accuracy, "train_samples": args.train_samples, "epochs": args.epochs, "processes": 2}, f)
        print(f"PyTorch (DDP, 2 processes): test accuracy {accuracy:.4f}; wrote model.safetensors and check.safetensors to {args.out}")
    dist.destroy_process_group()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, help="directory for model.safetensors, check.safetensors, pytorch.json")
    parser.add_argument("--data", default=os.environ.get("FASHION_MNIST_DIR", "/usr/share/datasets/fashion-mnist"))
    parser.add_argument("--train-samples", type=int, default=60000)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch", type=int, default=64, help="per process")
    parser.add_argument("--check", type=int, default=256, help="test images in the check batch")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    with socket.socket() as s:  # a free port for the rendezvous
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    mp.spawn(worker, args=(args, port), nprocs=2, join=True)


if __name__ == "__main__":
    main()
