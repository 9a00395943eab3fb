//! dfdx 0.13 side of the staticnn comparison (issue 4): the reference MNIST MLP, timed per epoch.
//!
//! 784 → dense 128 → relu → dense 10, softmax cross-entropy from logits, Adam (lr 1e-3,
//! β 0.9/0.999, ε 1e-8). dfdx's loss takes target probabilities, not class indices, so each
//! batch's integer labels become one-hot rows. One epoch = all 60 000 training samples,
//! reshuffled each epoch, in batches of B; the last partial batch (96 samples for B = 128) is
//! processed too (the batch dimension is dynamic, `(usize, Const<784>)`).
//!
//! Timed per epoch: the shuffle, copying each batch's rows and one-hot labels into fresh
//! tensors, forward, loss, backward, the Adam update and zeroing the gradients. One warm-up
//! epoch, then `--epochs` timed epochs; the median is reported.
//!
//! Threads: dfdx's CPU matmul is `gemm` with `Parallelism::Rayon(rayon::current_num_threads())`,
//! so `--threads T` builds rayon's global pool with T threads before anything else runs (run.sh
//! also pins the process with `taskset`). Flush-to-zero is set on the main thread as dfdx's own
//! MNIST example does (`dfdx::flush_denormals_to_zero`); `--no-ftz` leaves it off.
//!
//! ```text
//! cargo run --release -- --batch-size 32 --threads 1 --epochs 3
//! RESULT framework=dfdx threads=1 batch=32 epoch_s=0.78 epochs=… test_acc=0.97 …
//! RESULT framework=dfdx threads=1 batch=1 forward_us=34.9
//! RESULT framework=dfdx threads=1 batch=1000 forward_samples_per_s=315000
//! ```

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Instant;

use dfdx::optim::Adam;
use dfdx::prelude::*;
use rand::seq::SliceRandom;
use rand::SeedableRng;

type Mlp = (Linear<784, 128>, ReLU, Linear<128, 10>);

struct Args {
    batch: usize,
    threads: usize,
    epochs: usize,
    warmup: usize,
    seed: u64,
    data: PathBuf,
    fwd: bool,
    train: bool,
    ftz: bool,
}

fn parse_args() -> Args {
    let mut a = Args {
        batch: 32,
        threads: 1,
        epochs: 3,
        warmup: 1,
        seed: 42,
        data: Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../data/mnist"),
        fwd: true,
        train: true,
        ftz: true,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().unwrap_or_else(|| usage(&format!("{flag} needs a value")));
        match flag.as_str() {
            "--batch-size" => a.batch = value().parse().unwrap_or_else(|_| usage("bad --batch-size")),
            "--threads" => a.threads = value().parse().unwrap_or_else(|_| usage("bad --threads")),
            "--epochs" => a.epochs = value().parse().unwrap_or_else(|_| usage("bad --epochs")),
            "--warmup" => a.warmup = value().parse().unwrap_or_else(|_| usage("bad --warmup")),
            "--seed" => a.seed = value().parse().unwrap_or_else(|_| usage("bad --seed")),
            "--data" => a.data = PathBuf::from(value()),
            "--no-fwd" => a.fwd = false,
            "--no-train" => a.train = false,
            "--no-ftz" => a.ftz = false,
            "-h" | "--help" => usage(""),
            other => usage(&format!("unknown argument {other}")),
        }
    }
    if a.batch == 0 || a.threads == 0 || a.epochs == 0 {
        usage("--batch-size, --threads and --epochs must be positive");
    }
    a
}

fn usage(msg: &str) -> ! {
    if !msg.is_empty() {
        eprintln!("error: {msg}");
    }
    eprintln!(
        "usage: dfdx_mlp [--batch-size B] [--threads T] [--epochs N] [--warmup W] [--seed S] \
         [--data DIR] [--no-fwd] [--no-train] [--no-ftz]"
    );
    std::process::exit(if msg.is_empty() { 0 } else { 2 })
}

/// An unsigned-byte IDX file, gzipped or not: its dimensions and bytes.
fn load_idx(dir: &Path, stem: &str) -> (Vec<usize>, Vec<u8>) {
    let gz = dir.join(format!("{stem}.gz"));
    let mut raw = Vec::new();
    if gz.exists() {
        let f = std::fs::File::open(&gz).unwrap_or_else(|e| panic!("{}: {e}", gz.display()));
        flate2::read::GzDecoder::new(f).read_to_end(&mut raw).expect("gunzip");
    } else {
        let p = dir.join(stem);
        raw = std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    }
    assert!(raw[0] == 0 && raw[1] == 0 && raw[2] == 0x08, "{stem}: not an unsigned-byte IDX file");
    let ndim = raw[3] as usize;
    let dims: Vec<usize> = (0..ndim)
        .map(|i| u32::from_be_bytes(raw[4 + 4 * i..8 + 4 * i].try_into().unwrap()) as usize)
        .collect();
    let data = raw.split_off(4 + 4 * ndim);
    assert_eq!(data.len(), dims.iter().product::<usize>(), "{stem}: truncated");
    (dims, data)
}

/// Images as f32 in [0, 1] (as staticnn loads them), row-major n × 784, and labels.
fn load_mnist(dir: &Path, prefix: &str) -> (Vec<f32>, Vec<u8>) {
    let (_, px) = load_idx(dir, &format!("{prefix}-images-idx3-ubyte"));
    let (_, labels) = load_idx(dir, &format!("{prefix}-labels-idx1-ubyte"));
    assert_eq!(px.len(), labels.len() * 784);
    (px.iter().map(|&v| v as f32 / 255.0).collect(), labels)
}

fn median(xs: &[f64]) -> f64 {
    let mut v = xs.to_vec();
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let m = v.len() / 2;
    if v.len() % 2 == 1 {
        v[m]
    } else {
        (v[m - 1] + v[m]) / 2.0
    }
}

fn main() {
    let args = parse_args();
    rayon::ThreadPoolBuilder::new().num_threads(args.threads).build_global().expect("rayon global pool");
    if args.ftz {
        dfdx::flush_denormals_to_zero();
    }
    eprintln!(
        "# dfdx 0.13.0, rayon threads {}, ftz {}, data {}",
        rayon::current_num_threads(),
        args.ftz,
        args.data.display()
    );

    let (x_train, y_train) = load_mnist(&args.data, "train");
    let (x_test, y_test) = load_mnist(&args.data, "t10k");
    let n = y_train.len();
    let b = args.batch;

    let dev = Cpu::seed_from_u64(args.seed);
    let mut model = dev.build_module::<Mlp, f32>();
    let mut grads = model.alloc_grads();
    let mut opt =
        Adam::new(&model, AdamConfig { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weight_decay: None });
    let mut rng = rand::rngs::StdRng::seed_from_u64(args.seed);
    let tag = format!("framework=dfdx threads={}", args.threads);

    if args.train {
        let mut perm: Vec<usize> = (0..n).collect();
        let mut times = Vec::new();
        for e in 0..args.warmup + args.epochs {
            let t0 = Instant::now();
            perm.shuffle(&mut rng);
            let mut loss_sum = 0.0f64;
            for chunk in perm.chunks(b) {
                let m = chunk.len();
                let mut xb = Vec::with_capacity(m * 784);
                let mut yb = vec![0.0f32; m * 10];
                for (r, &i) in chunk.iter().enumerate() {
                    xb.extend_from_slice(&x_train[i * 784..(i + 1) * 784]);
                    yb[r * 10 + y_train[i] as usize] = 1.0;
                }
                let img = dev.tensor_from_vec(xb, (m, Const::<784>));
                let lbl = dev.tensor_from_vec(yb, (m, Const::<10>));
                let logits = model.forward_mut(img.traced(grads));
                let loss = cross_entropy_with_logits_loss(logits, lbl);
                loss_sum += loss.array() as f64 * m as f64;
                grads = loss.backward();
                opt.update(&mut model, &grads).expect("adam update");
                model.zero_grads(&mut grads);
            }
            let dt = t0.elapsed().as_secs_f64();
            let kind = if e < args.warmup { "warm-up" } else { "timed" };
            eprintln!("# epoch {} ({kind}): {dt:.4} s, mean loss {:.4}", e + 1, loss_sum / n as f64);
            if e >= args.warmup {
                times.push(dt);
            }
        }
        // Test accuracy, in chunks of 1000.
        let mut correct = 0usize;
        for (xs, ys) in x_test.chunks(1000 * 784).zip(y_test.chunks(1000)) {
            let x = dev.tensor_from_vec(xs.to_vec(), (ys.len(), Const::<784>));
            let logits = model.forward(x).as_vec();
            for (row, &y) in logits.chunks(10).zip(ys) {
                let arg = (0..10).max_by(|&i, &j| row[i].partial_cmp(&row[j]).unwrap()).unwrap();
                correct += (arg == y as usize) as usize;
            }
        }
        let steps = n.div_ceil(b);
        let last = if n % b == 0 { b } else { n % b };
        let list: Vec<String> = times.iter().map(|t| format!("{t:.4}")).collect();
        println!(
            "RESULT {tag} batch={b} epoch_s={:.4} epochs={} test_acc={:.4} steps={steps} last_batch={last}",
            median(&times),
            list.join(","),
            correct as f64 / y_test.len() as f64
        );
    }

    if args.fwd {
        // Batch 1: one sample through `forward` (allocating, as dfdx does), output read back.
        let x1: Tensor<Rank1<784>, f32, Cpu> = dev.tensor_from_vec(x_test[..784].to_vec(), (Const::<784>,));
        let mut sink = 0.0f32;
        for _ in 0..2000 {
            sink += model.forward(x1.clone()).array()[0];
        }
        let mut rounds = Vec::new();
        for _ in 0..5 {
            let k = 20_000;
            let t0 = Instant::now();
            for _ in 0..k {
                sink += model.forward(x1.clone()).array()[0];
            }
            rounds.push(t0.elapsed().as_secs_f64() / k as f64);
        }
        println!("RESULT {tag} batch=1 forward_us={:.2}", median(&rounds) * 1e6);
        // Batch 1000: throughput.
        let xk: Tensor<Rank2<1000, 784>, f32, Cpu> =
            dev.tensor_from_vec(x_test[..1000 * 784].to_vec(), (Const::<1000>, Const::<784>));
        for _ in 0..20 {
            sink += model.forward(xk.clone()).as_vec()[0];
        }
        let mut rounds = Vec::new();
        for _ in 0..5 {
            let k = 100;
            let t0 = Instant::now();
            for _ in 0..k {
                sink += model.forward(xk.clone()).as_vec()[0];
            }
            rounds.push(1000.0 * k as f64 / t0.elapsed().as_secs_f64());
        }
        println!("RESULT {tag} batch=1000 forward_samples_per_s={:.0}", median(&rounds));
        std::hint::black_box(sink);
    }
}
