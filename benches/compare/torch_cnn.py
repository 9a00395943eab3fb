#!/usr/bin/env python3
"""PyTorch side of the CNN comparison (issue 10): the MNIST CNN of `examples/mnist_cnn.rs`.

nn.Sequential(Conv2d(1, 16, 3, padding=1), ReLU(), MaxPool2d(2), Conv2d(16, 32, 3, padding=1),
ReLU(), MaxPool2d(2), Flatten(), Linear(1568, 128), ReLU(), Linear(128, 10)), PyTorch's
default initialisation, Adam (lr 1e-3), softmax cross-entropy, pixels standardised with
MNIST's mean and standard deviation, batches of 32 reshuffled each epoch (the last partial
batch included), in eager mode on the CPU (what most PyTorch users run; `torch.compile` is
not used). `--threads` sets `torch.set_num_threads` (and the runner pins the process).

What is timed per epoch: the shuffled training loop over all 60 000 images (forward, loss,
backward, optimizer step), not the evaluation. One warm-up epoch, then `--epochs` timed.
Prints one machine-readable line:
    RESULT framework=pytorch model=cnn threads=1 batch=32 epoch_s=8.1 epochs=8.1,8.0 test_acc=0.9881
"""

import argparse
import gzip
import os
import statistics
import time

import numpy as np
import torch
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
MEAN, STD = 0.1307, 0.3081


def idx(path):
    with gzip.open(path) as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--data", default=os.path.join(HERE, "..", "..", "data", "mnist"))
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--seed", type=int, default=42)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    load = lambda name: idx(os.path.join(a.data, name))
    x = torch.from_numpy(((load("train-images-idx3-ubyte.gz") / 255.0 - MEAN) / STD).astype(np.float32)).unsqueeze(1)
    y = torch.from_numpy(load("train-labels-idx1-ubyte.gz").astype(np.int64))
    tx = torch.from_numpy(((load("t10k-images-idx3-ubyte.gz") / 255.0 - MEAN) / STD).astype(np.float32)).unsqueeze(1)
    ty = torch.from_numpy(load("t10k-labels-idx1-ubyte.gz").astype(np.int64))
    model = nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(32 * 7 * 7, 128), nn.ReLU(), nn.Linear(128, 10),
    )
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()

    def epoch():
        model.train()
        order = torch.randperm(len(x))
        start = time.perf_counter()
        for i in range(0, len(x), a.batch):
            batch = order[i: i + a.batch]
            opt.zero_grad(set_to_none=True)
            loss_fn(model(x[batch]), y[batch]).backward()
            opt.step()
        return time.perf_counter() - start

    epoch()  # warm-up
    times = [epoch() for _ in range(a.epochs)]
    model.eval()
    with torch.no_grad():
        acc = float((model(tx).argmax(1) == ty).float().mean())
    print(
        f"RESULT framework=pytorch model=cnn threads={a.threads} batch={a.batch} "
        f"epoch_s={statistics.median(times):.4f} epochs={','.join(f'{t:.2f}' for t in times)} "
        f"test_acc={acc:.4f} torch={torch.__version__}"
    )


if __name__ == "__main__":
    main()
