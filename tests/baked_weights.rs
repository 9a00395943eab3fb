//! `#[model(weights = "…")]`: weights baked in at compile time are bit for bit the ones a
//! run-time load of the same file gives, for `f32` and `f64` models, and live in a `static`.

use staticnn::load_safetensors;
use staticnn::nalgebra::SVector;
use staticnn::{Model, Parameters};

staticnn::model! {
    /// The interop fixture's MLP, baked in.
    #[model(weights = "fixtures/mlp_f32.safetensors")]
    pub struct Mlp { input(784), dense(128), relu, dense(10) }
}

staticnn::model! {
    #[model(scalar = f64, weights = "fixtures/mlp_f64.safetensors")]
    pub struct Mlp64 { input(784), dense(128), relu, dense(10) }
}

/// Where the weights of a deployed model live: read-only memory, no copy.
static MLP: Mlp = Mlp::TRAINED;

fn fixture(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

#[test]
fn baked_f32_weights_equal_the_loaded_ones_bit_for_bit() {
    let mut loaded = Mlp::zeroed_box();
    load_safetensors(&mut *loaded, fixture("mlp_f32.safetensors")).expect("load the fixture");
    let bits = |m: &Mlp| m.as_slice().iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&MLP), bits(&loaded));
    assert!(MLP.as_slice().iter().any(|&x| x != 0.0));
    // The same forward pass, the same logits.
    let x = SVector::<f32, 784>::from_fn(|i, _| (i % 255) as f32 / 255.0);
    assert_eq!(MLP.forward(&x), loaded.forward(&x));
}

#[test]
fn baked_f64_weights_equal_the_loaded_ones_bit_for_bit() {
    let mut loaded = Mlp64::zeroed_box();
    load_safetensors(&mut *loaded, fixture("mlp_f64.safetensors")).expect("load the fixture");
    let baked: &'static Mlp64 = &Mlp64::TRAINED;
    let bits = |m: &Mlp64| m.as_slice().iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(baked), bits(&loaded));
}

staticnn::model! {
    /// A 3 → 2 layer whose weights are the values an exact literal must get right: a NaN
    /// with a payload, ±∞, −0, the smallest subnormal, `f32::MAX`, `-f32::MIN_POSITIVE`, 0.1.
    /// `edge_values.safetensors` holds their bit patterns; it was written by
    ///
    /// ```text
    /// import json, struct
    /// w = [0x7fc00001, 0x7f800000, 0xff800000, 0x80000000, 0x00000001, 0x7f7fffff]
    /// b = [0x80800000, 0x3dcccccd]
    /// wb, bb = struct.pack('<6I', *w), struct.pack('<2I', *b)
    /// header = {"__metadata__": {"format": "pt"},
    ///           "0.weight": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 24]},
    ///           "0.bias": {"dtype": "F32", "shape": [2], "data_offsets": [24, 32]}}
    /// h = json.dumps(header, separators=(',', ':')).encode(); h += b' ' * (-len(h) % 8)
    /// open('edge_values.safetensors', 'wb').write(struct.pack('<Q', len(h)) + h + wb + bb)
    /// ```
    #[model(weights = "fixtures/edge_values.safetensors", allow_non_finite)]
    pub struct Edge { input(3), dense(2) }
}

#[test]
fn baked_values_keep_their_exact_bits_nan_infinity_and_subnormals_included() {
    let mut loaded = Edge::zeroed_box();
    // NaN and infinities load only when allowed explicitly.
    let lenient = staticnn::io::WeightOptions::default().allow_non_finite();
    staticnn::io::load_safetensors_with(&mut *loaded, fixture("edge_values.safetensors"), &lenient)
        .expect("load the fixture");
    let bits = |m: &Edge| m.as_slice().iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    // nalgebra's column-major order: weight[0][0], weight[1][0], weight[0][1], …, then the bias.
    let expected = [
        0x7fc0_0001,
        0x8000_0000,
        0x7f80_0000,
        0x0000_0001,
        0xff80_0000,
        0x7f7f_ffff,
        0x8080_0000,
        0x3dcc_cccd,
    ];
    assert_eq!(bits(&Edge::TRAINED), expected);
    assert_eq!(bits(&loaded), expected);
}
