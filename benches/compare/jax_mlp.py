#!/usr/bin/env python3
"""JAX side of the staticnn comparison (issue 4): the reference MNIST MLP, timed per epoch.

784 -> dense 128 -> relu -> dense 10, softmax cross-entropy from logits with integer labels,
Adam (lr 1e-3, b1 0.9, b2 0.999, eps 1e-8; optax if installed, else the same update by hand).
One epoch = all 60 000 training samples, reshuffled each epoch, in batches of B; the last
partial batch (60 000 % B samples, 96 for B = 128) is processed too, by a second jitted step.

The epoch is one jitted call: `lax.scan` over the epoch's batches of shuffled indices, each step
gathering its B rows from the training set (already on the device) and doing forward, loss,
backward and the Adam update. What is timed per epoch: drawing the permutation (numpy), the
scan, the partial batch, and waiting for the result (`block_until_ready`). One warm-up epoch
(which also compiles) is not timed; then `--epochs` epochs are timed and their median reported.

Thread count: with `--threads 1` this script puts
`--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1` into XLA_FLAGS before jax is
imported; run.sh also pins the process with `taskset -c 0` (1 thread) or `taskset -c 0,1`.

Prints machine-readable lines, one per measurement:
    RESULT framework=jax threads=1 batch=32 epoch_s=0.4301 epochs=0.43,0.44,0.43 test_acc=0.9712 ...
    RESULT framework=jax threads=1 batch=1 forward_us=25.7
    RESULT framework=jax threads=1 batch=1000 forward_samples_per_s=537000
"""

import argparse
import gzip
import os
import statistics
import struct
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
DEFAULT_DATA = HERE.parent.parent / "data" / "mnist"


def load_idx(path):
    """An IDX file (gzipped or not) as a numpy array of its dimensions."""
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rb") as f:
        raw = f.read()
    zero, dtype, ndim = struct.unpack(">HBB", raw[:4])
    if zero != 0 or dtype != 0x08:
        raise ValueError(f"{path}: not an unsigned-byte IDX file")
    dims = struct.unpack(f">{ndim}I", raw[4 : 4 + 4 * ndim])
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim).reshape(dims)


def find(data_dir, stem):
    for name in (stem + ".gz", stem):
        p = Path(data_dir) / name
        if p.exists():
            return p
    raise FileNotFoundError(f"{stem}(.gz) not in {data_dir}")


def load_mnist(data_dir, split):
    prefix = "train" if split == "train" else "t10k"
    x = load_idx(find(data_dir, f"{prefix}-images-idx3-ubyte"))
    y = load_idx(find(data_dir, f"{prefix}-labels-idx1-ubyte"))
    x = x.reshape(x.shape[0], -1).astype(np.float32) / 255.0  # pixels in [0, 1], as staticnn
    return x, y.astype(np.int32)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--threads", type=int, default=1, help="1 or 2 (see the module doc)")
    ap.add_argument("--epochs", type=int, default=3, help="timed epochs (median reported)")
    ap.add_argument("--warmup", type=int, default=1, help="untimed epochs first")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--data", default=str(DEFAULT_DATA))
    ap.add_argument("--no-fwd", action="store_true", help="skip the forward measurements")
    ap.add_argument("--no-train", action="store_true", help="only the forward measurements")
    args = ap.parse_args()

    if args.threads == 1:
        flags = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
        os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " " + flags).strip()
    os.environ.setdefault("JAX_PLATFORMS", "cpu")

    import jax
    import jax.numpy as jnp
    from jax import lax

    try:
        import optax
    except ImportError:  # the same Adam by hand
        optax = None

    cpus = len(os.sched_getaffinity(0))
    print(
        f"# jax {jax.__version__}, optax {optax.__version__ if optax else 'absent (hand-written Adam)'}, "
        f"devices {jax.devices()}, cpus allowed {cpus}, XLA_FLAGS={os.environ.get('XLA_FLAGS', '')!r}",
        file=sys.stderr,
    )

    x_train, y_train = load_mnist(args.data, "train")
    x_test, y_test = load_mnist(args.data, "test")
    n = x_train.shape[0]
    B = args.batch_size
    nb, rem = divmod(n, B)

    rng = np.random.default_rng(args.seed)

    def glorot(fan_in, fan_out):
        lim = np.sqrt(6.0 / (fan_in + fan_out))
        return rng.uniform(-lim, lim, (fan_in, fan_out)).astype(np.float32)

    params = {
        "w1": jnp.asarray(glorot(784, 128)),
        "b1": jnp.zeros(128, jnp.float32),
        "w2": jnp.asarray(glorot(128, 10)),
        "b2": jnp.zeros(10, jnp.float32),
    }

    def forward(p, x):
        h = jnp.maximum(x @ p["w1"] + p["b1"], 0.0)
        return h @ p["w2"] + p["b2"]

    def loss_fn(p, x, y):
        logits = forward(p, x)
        logp = jax.nn.log_softmax(logits)
        return -jnp.mean(jnp.take_along_axis(logp, y[:, None], axis=1))

    lr, b1, b2, eps = 1e-3, 0.9, 0.999, 1e-8
    if optax is not None:
        opt = optax.adam(lr, b1=b1, b2=b2, eps=eps)
        opt_init, opt_update = opt.init, opt.update

        def apply(p, g, s):
            u, s = opt_update(g, s, p)
            return optax.apply_updates(p, u), s

    else:

        def opt_init(p):
            z = jax.tree_util.tree_map(jnp.zeros_like, p)
            return (jnp.zeros((), jnp.int32), z, z)

        def apply(p, g, s):
            t, m, v = s
            t = t + 1
            m = jax.tree_util.tree_map(lambda m, g: b1 * m + (1 - b1) * g, m, g)
            v = jax.tree_util.tree_map(lambda v, g: b2 * v + (1 - b2) * g * g, v, g)
            c1 = 1 - b1 ** t.astype(jnp.float32)
            c2 = 1 - b2 ** t.astype(jnp.float32)
            p = jax.tree_util.tree_map(
                lambda p, m, v: p - lr * (m / c1) / (jnp.sqrt(v / c2) + eps), p, m, v
            )
            return p, (t, m, v)

    opt_state = opt_init(params)

    X = jax.device_put(x_train)
    Y = jax.device_put(y_train)

    def step(carry, idx):
        p, s = carry
        loss, g = jax.value_and_grad(loss_fn)(p, X[idx], Y[idx])
        p, s = apply(p, g, s)
        return (p, s), loss

    @jax.jit
    def epoch_full(p, s, idx):  # idx: [nb, B] int32
        (p, s), losses = lax.scan(step, (p, s), idx)
        return p, s, jnp.sum(losses)

    @jax.jit
    def epoch_tail(p, s, idx):  # idx: [rem] int32
        (p, s), loss = step((p, s), idx)
        return p, s, loss

    @jax.jit
    def predict(p, x):
        return jnp.argmax(forward(p, x), axis=1)

    def run_epoch(p, s):
        perm = rng.permutation(n).astype(np.int32)
        p, s, loss_sum = epoch_full(p, s, perm[: nb * B].reshape(nb, B))
        loss_sum = loss_sum * B
        if rem:
            p, s, tail = epoch_tail(p, s, perm[nb * B :])
            loss_sum = loss_sum + tail * rem
        jax.block_until_ready((p, s, loss_sum))
        return p, s, float(loss_sum) / n  # mean loss per sample

    tag = f"framework=jax threads={args.threads}"
    if not args.no_train:
        times = []
        for e in range(args.warmup + args.epochs):
            t0 = time.perf_counter()
            params, opt_state, mean_loss = run_epoch(params, opt_state)
            dt = time.perf_counter() - t0
            kind = "warm-up" if e < args.warmup else "timed"
            print(f"# epoch {e + 1} ({kind}): {dt:.4f} s, mean loss {mean_loss:.4f}", file=sys.stderr)
            if e >= args.warmup:
                times.append(dt)
        acc = float(jnp.mean(predict(params, jnp.asarray(x_test)) == jnp.asarray(y_test)))
        print(
            f"RESULT {tag} batch={B} epoch_s={statistics.median(times):.4f} "
            f"epochs={','.join(f'{t:.4f}' for t in times)} test_acc={acc:.4f} "
            f"steps={nb + (1 if rem else 0)} last_batch={rem or B}",
            flush=True,
        )

    if not args.no_fwd:
        fwd = jax.jit(forward)
        # Batch 1: latency of one jitted call, dispatch included, result waited for.
        x1 = jnp.asarray(x_test[:1])
        for _ in range(200):
            fwd(params, x1).block_until_ready()
        rounds = []
        for _ in range(5):
            k = 2000
            t0 = time.perf_counter()
            for _ in range(k):
                fwd(params, x1).block_until_ready()
            rounds.append((time.perf_counter() - t0) / k)
        print(f"RESULT {tag} batch=1 forward_us={statistics.median(rounds) * 1e6:.2f}", flush=True)
        # Batch 1000: throughput.
        xk = jnp.asarray(x_test[:1000])
        for _ in range(20):
            fwd(params, xk).block_until_ready()
        rounds = []
        for _ in range(5):
            k = 100
            t0 = time.perf_counter()
            for _ in range(k):
                fwd(params, xk).block_until_ready()
            rounds.append(1000 * k / (time.perf_counter() - t0))
        print(f"RESULT {tag} batch=1000 forward_samples_per_s={statistics.median(rounds):.0f}", flush=True)


if __name__ == "__main__":
    main()
