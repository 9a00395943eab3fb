//! Convolutional models read and write PyTorch's state-dict layout: a hand-built
//! safetensors file holding `Conv2d` weights `[OC, C, KH, KW]` and a `Linear` after
//! `nn.Flatten` (whose inputs are in CHW order) loads unchanged, and the model then computes
//! exactly what PyTorch's definitions give, written out here as plain loops. The same file,
//! `tests/fixtures/small_cnn_f64.safetensors`, baked in with `#[model(weights = …)]`, gives
//! the same parameters bit for bit.

use staticnn::io::{from_safetensors_bytes, to_safetensors_bytes};
use staticnn::nalgebra::SVector;
use staticnn::{Model, Parameters};

staticnn::model! {
    /// `nn.Sequential(nn.Conv2d(2, 3, (3, 2), stride=2, padding=1), nn.ReLU(),
    /// nn.Flatten(), nn.Linear(27, 2))`.
    #[model(scalar = f64)]
    pub struct Small {
        input(2, 5, 5),
        conv2d(3, (3, 2), stride = 2, padding = 1), relu,
        flatten,
        dense(27 -> 2),
    }
}

staticnn::model! {
    /// `Small` with the fixture's weights baked in.
    #[model(scalar = f64, weights = "fixtures/small_cnn_f64.safetensors")]
    pub struct Baked {
        input(2, 5, 5),
        conv2d(3, (3, 2), stride = 2, padding = 1), relu,
        flatten,
        dense(27 -> 2),
    }
}

const C: usize = 2;
const HW: usize = 5;
const OC: usize = 3;
const KH: usize = 3;
const KW: usize = 2;
const OHW: usize = 3;

/// A deterministic value for element `i` of tensor `t`.
fn value(t: usize, i: usize) -> f64 {
    ((i * 7 + t * 13) as f64 * 0.37).sin()
}

/// A safetensors file holding F64 `tensors` (name, shape, row-major data).
fn safetensors(tensors: &[(&str, Vec<usize>, Vec<f64>)]) -> Vec<u8> {
    let mut header = String::from("{");
    let mut data = Vec::new();
    for (k, (name, shape, values)) in tensors.iter().enumerate() {
        let start = data.len();
        values.iter().for_each(|v| data.extend_from_slice(&v.to_le_bytes()));
        let shape: Vec<String> = shape.iter().map(usize::to_string).collect();
        let comma = if k == 0 { "" } else { "," };
        header.push_str(&format!(
            "{comma}\"{name}\":{{\"dtype\":\"F64\",\"shape\":[{}],\"data_offsets\":[{start},{}]}}",
            shape.join(","),
            data.len()
        ));
    }
    header.push('}');
    while header.len() % 8 != 0 {
        header.push(' ');
    }
    let mut file = (header.len() as u64).to_le_bytes().to_vec();
    file.extend_from_slice(header.as_bytes());
    file.extend_from_slice(&data);
    file
}

/// The state dict of `Small`: PyTorch's names, shapes and row-major data.
fn state_dict() -> [(&'static str, Vec<usize>, Vec<f64>); 4] {
    [
        ("0.weight", vec![OC, C, KH, KW], (0..OC * C * KH * KW).map(|i| value(0, i)).collect()),
        ("0.bias", vec![OC], (0..OC).map(|i| value(1, i)).collect()),
        ("3.weight", vec![2, OC * OHW * OHW], (0..2 * OC * OHW * OHW).map(|i| value(2, i)).collect()),
        ("3.bias", vec![2], (0..2).map(|i| value(3, i)).collect()),
    ]
}

#[test]
fn pytorch_state_dict_loads_and_computes_pytorch_results() {
    let [(_, _, conv_w), (_, _, conv_b), (_, _, lin_w), (_, _, lin_b)] = state_dict();
    let file = safetensors(&state_dict());
    let mut model = Small::zeroed_box();
    from_safetensors_bytes(&mut *model, &file).expect("a PyTorch state dict loads");

    // PyTorch: x[c][h][w], weight[oc][c][i][j], zero padding 1, stride 2, then
    // nn.Flatten's order oc·9 + oh·3 + ow.
    let x: Vec<f64> = (0..C * HW * HW).map(|i| value(4, i) * 2.0).collect();
    let mut flat = vec![0.0; OC * OHW * OHW];
    for oc in 0..OC {
        for oh in 0..OHW {
            for ow in 0..OHW {
                let mut sum = conv_b[oc];
                for c in 0..C {
                    for i in 0..KH {
                        for j in 0..KW {
                            let (h, w) = ((oh * 2 + i) as isize - 1, (ow * 2 + j) as isize - 1);
                            if (0..HW as isize).contains(&h) && (0..HW as isize).contains(&w) {
                                let pixel = x[c * HW * HW + h as usize * HW + w as usize];
                                sum += conv_w[((oc * C + c) * KH + i) * KW + j] * pixel;
                            }
                        }
                    }
                }
                flat[oc * OHW * OHW + oh * OHW + ow] = sum.max(0.0);
            }
        }
    }
    let expected: Vec<f64> = (0..2)
        .map(|o| lin_b[o] + (0..flat.len()).map(|f| lin_w[o * flat.len() + f] * flat[f]).sum::<f64>())
        .collect();

    let got = model.forward(&SVector::from_column_slice(&x));
    for (g, e) in got.iter().zip(&expected) {
        assert!((g - e).abs() < 1e-12, "got {got:?}, PyTorch's definition gives {expected:?}");
    }

    // Saving writes the same tensors back: loading them again gives the same model.
    let saved = to_safetensors_bytes(&*model).expect("save");
    let mut again = Small::zeroed_box();
    from_safetensors_bytes(&mut *again, &saved).expect("load what we saved");
    assert_eq!(again.as_slice(), model.as_slice());
    // The convolution's weight is stored as PyTorch's row-major tensor, unchanged.
    assert_eq!(model.layer0.weight.as_slice(), conv_w.as_slice());
}

#[test]
fn baked_convolution_weights_equal_the_state_dict() {
    let fixture = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/small_cnn_f64.safetensors");
    let file = std::fs::read(fixture).expect("the fixture");
    assert_eq!(file, safetensors(&state_dict()), "the fixture is `state_dict()` written out");
    let mut loaded = Small::zeroed_box();
    from_safetensors_bytes(&mut *loaded, &file).expect("load");
    let bits = |s: &[f64]| s.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(Baked::TRAINED.as_slice()), bits(loaded.as_slice()));
}
