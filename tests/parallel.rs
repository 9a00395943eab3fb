//! The data-parallel trainer computes what the single-threaded one does.

use staticnn::prelude::*;

staticnn::model! {
    struct Net { input(6), dense(8), relu, dense(3) }
}

fn inputs() -> (SMatrix<f32, 6, 8>, [u32; 8]) {
    let x = SMatrix::from_fn(|i, j| ((i * 5 + j * 3) as f32 * 0.7).sin());
    (x, [0, 1, 2, 0, 1, 2, 0, 1])
}

/// Trains five steps from the same start; returns the losses, final weights and outputs.
fn train<T: BatchTrainer<Net, 6, 3, 8>>(mut trainer: T, len: usize) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let (x, labels) = inputs();
    let mut model = Net::new_boxed(Init::PyTorch, 11);
    let mut adam = Adam::new(AdamConfig::with_lr(0.01));
    let mut losses = Vec::new();
    for _ in 0..5 {
        losses.push(trainer.step(&mut model, &mut adam, &SoftmaxCrossEntropy, &x, &labels, len).unwrap());
    }
    let outputs = trainer.infer(&model, &x).as_slice().to_vec();
    (losses, model.as_slice().to_vec(), outputs)
}

fn assert_close(a: &[f32], b: &[f32], what: &str) {
    for (x, y) in a.iter().zip(b) {
        assert!((x - y).abs() <= 1e-5 * (1.0 + x.abs()), "{what}: {x} vs {y}");
    }
}

#[test]
fn shards_give_the_single_thread_result() {
    for len in [8, 5, 3] {
        let single = train(Net::trainer::<8>(), len);
        let two = train(Net::parallel_trainer::<8, 4>(2).unwrap(), len);
        let four = train(Net::parallel_trainer::<8, 2>(2).unwrap(), len);
        for other in [&two, &four] {
            assert_close(&single.0, &other.0, "losses");
            assert_close(&single.1, &other.1, "weights");
            assert_close(&single.2, &other.2, "outputs");
        }
    }
}
