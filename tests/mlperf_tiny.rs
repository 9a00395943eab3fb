//! The four MLPerf Tiny reference networks (AD, IC, KWS, VWW), declared with `model!`
//! (`examples/mlperf_tiny/models.rs`), their weights imported from the float TensorFlow Lite
//! files in `data/mlperf-tiny/`, against TensorFlow Lite's reference interpreter on 100
//! seeded inputs each (`tests/fixtures/mlperf_tiny/`): the largest relative difference of
//! any output, `max |ours − theirs| / max |theirs|` per sample, is at most 1e-4.
//!
//! The declarations are the importer's own output, checked here too: what `import`
//! prints for each file is, character for character, what `models.rs` declares.

#[path = "../examples/mlperf_tiny/check.rs"]
mod check;
#[path = "../examples/mlperf_tiny/models.rs"]
mod models;

use check::{Inputs, NETWORKS, load, max_relative_difference, read_f32, root};
use models::{Ad, Ic, Kws, Vww};
use staticnn::prelude::*;

const BAR: f64 = 1e-4;

#[test]
fn the_generator_reproduces_the_fixture_inputs() {
    for network in &NETWORKS {
        let head = read_f32(
            &root().join(format!("tests/fixtures/mlperf_tiny/{}_float_inputs_head.f32", network.name)),
        )
        .expect("the fixture exists");
        let mut inputs = Inputs::new(network.index);
        let ours: Vec<u32> = (0..head.len()).map(|_| inputs.next().to_bits()).collect();
        let theirs: Vec<u32> = head.iter().map(|v| v.to_bits()).collect();
        assert!(ours == theirs, "{}: the inputs differ from the fixture's", network.name);
    }
}

#[test]
fn the_importer_prints_the_declared_models() {
    let source = std::fs::read_to_string(root().join("examples/mlperf_tiny/models.rs")).expect("models.rs");
    for (network, name) in NETWORKS.iter().zip(["Ad", "Ic", "Kws", "Vww"]) {
        let imported = check::import(network).expect("the file imports");
        let declaration = imported.declaration(name);
        assert!(
            source.contains(&declaration),
            "models.rs does not hold the import of {}:\n{declaration}",
            network.file
        );
    }
}

/// Runs one network and checks it against the bar and the reference's parameter count.
fn check<M: Model<IN, OUT, Scalar = f32>, const IN: usize, const OUT: usize>(
    index: usize,
    channels: usize,
    params: usize,
) {
    let network = &NETWORKS[index];
    let (_, worst) = max_relative_difference::<M, IN, OUT, 10>(network, channels).expect("the network runs");
    println!("{}: largest relative difference from TensorFlow Lite {worst:e}", network.name);
    assert!(worst <= BAR, "{}: {worst:e} > {BAR:e}", network.name);
    assert_eq!(M::LEN, params, "{}: the parameter count of the reference file", network.name);
}

#[test]
fn ad_matches_tensorflow_lite() {
    check::<Ad, 640, 640>(0, 1, 265_864);
}

#[test]
fn ic_matches_tensorflow_lite() {
    check::<Ic, { 3 * 32 * 32 }, 10>(1, 3, 77_706);
}

#[test]
fn kws_matches_tensorflow_lite() {
    // 3 660 float parameters and 18 944 int8 filter weights in the file.
    check::<Kws, { 49 * 10 }, 12>(2, 1, 3_660 + 18_944);
}

#[test]
fn vww_matches_tensorflow_lite() {
    check::<Vww, { 3 * 96 * 96 }, 2>(3, 3, 210_850);
}

/// Two Adam steps of batch 2 from the imported weights, on the fixture's inputs: the
/// training passes of the whole network run, and its loss and weights stay finite.
/// Classifiers learn labels 0 and 1 (the `softmax` head is left out of training, as
/// always); the autoencoder learns to reproduce its input.
fn train<M: Model<IN, OUT, Scalar = f32>, const IN: usize, const OUT: usize>(index: usize, channels: usize) {
    let network = &NETWORKS[index];
    let mut model = load::<M, IN, OUT>(network).expect("the network loads");
    let mut trainer = M::trainer::<2>();
    let mut adam = Adam::new(AdamConfig::with_lr(1e-4));
    let mut inputs = Inputs::new(network.index);
    let mut x: Box<SMatrix<f32, IN, 2>> = staticnn::zeroed_box();
    for _ in 0..2 {
        for column in x.as_mut_slice().chunks_exact_mut(IN) {
            inputs.sample_into(channels, column);
        }
        let loss = if IN == OUT {
            let target: Box<SMatrix<f32, OUT, 2>> = Box::new(SMatrix::from_column_slice(x.as_slice()));
            trainer.step(&mut *model, &mut adam, &MeanSquaredError, &x, &*target, 2)
        } else {
            trainer.step(&mut *model, &mut adam, &SoftmaxCrossEntropy, &x, &[0, 1], 2)
        };
        let loss = loss.unwrap_or_else(|e| panic!("{}: {e}", network.name));
        assert!(loss.is_finite(), "{}: loss {loss}", network.name);
    }
    assert!(model.as_slice().iter().all(|w| w.is_finite()), "{}", network.name);
}

#[test]
fn each_network_trains() {
    train::<Ad, 640, 640>(0, 1);
    train::<Ic, { 3 * 32 * 32 }, 10>(1, 3);
    train::<Kws, { 49 * 10 }, 12>(2, 1);
    train::<Vww, { 3 * 96 * 96 }, 2>(3, 3);
}
