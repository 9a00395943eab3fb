//! `AdamConfig::keras()` against TensorFlow's own `tf.keras.optimizers.Adam`: ten steps
//! from the same parameters and gradients, in `f32` and `f64`, with Keras's defaults and
//! with a large `ε` that makes its placement visible. The reference values were computed
//! by TensorFlow 2.21 / Keras 3.15 (`tests/fixtures/tensorflow/generate.py`) and are
//! read from their bit patterns, so the comparison is exact.
#![cfg(feature = "std")]

use serde_json::Value;
use staticnn_runtime::{Adam, AdamConfig, Dense, Float, Optimizer, Parameters};

/// Six parameters, as the fixture has.
type Six<T> = Dense<T, 5, 1>;

/// A list of values given as hexadecimal bit patterns (`"0x3f800000"`), as `f64`s.
fn values<T: Float>(v: &Value) -> Vec<f64> {
    let bits = |x: &Value| {
        u64::from_str_radix(x.as_str().expect("a hex string").trim_start_matches("0x"), 16).unwrap()
    };
    let wide = core::mem::size_of::<T>() == 8;
    v.as_array()
        .expect("an array")
        .iter()
        .map(|x| if wide { f64::from_bits(bits(x)) } else { f64::from(f32::from_bits(bits(x) as u32)) })
        .collect()
}

/// How many of the 60 parameter values after the ten steps differ from TensorFlow's, and
/// the largest difference relative to the parameter's magnitude (at least 1).
fn compare<T: Float>(run: &Value) -> (usize, f64) {
    let c = &run["config"];
    let config = AdamConfig {
        lr: c["learning_rate"].as_f64().unwrap(),
        beta1: c["beta_1"].as_f64().unwrap(),
        beta2: c["beta_2"].as_f64().unwrap(),
        eps: c["epsilon"].as_f64().unwrap(),
        ..AdamConfig::keras()
    };
    let (mut m, mut v, mut p, mut g) = (Six::<T>::ZERO, Six::<T>::ZERO, Six::<T>::ZERO, Six::<T>::ZERO);
    let mut adam = Adam::with_state(config, &mut m, &mut v);
    for (x, &want) in p.as_mut_slice().iter_mut().zip(&values::<T>(&run["p0_hex"])) {
        *x = T::of(want);
    }
    let (mut differ, mut worst) = (0, 0.0f64);
    let grads = run["gradients_hex"].as_array().unwrap();
    for (grads, after) in grads.iter().zip(run["params_after_step_hex"].as_array().unwrap()) {
        for (x, &gi) in g.as_mut_slice().iter_mut().zip(&values::<T>(grads)) {
            *x = T::of(gi);
        }
        assert_eq!(adam.step(&mut p, &g), None);
        for (&got, want) in p.as_slice().iter().zip(values::<T>(after)) {
            differ += usize::from(got.as_f64() != want);
            worst = worst.max((got.as_f64() - want).abs() / want.abs().max(1.0));
        }
    }
    (differ, worst)
}

#[test]
fn keras_adam_matches_tensorflow() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/tensorflow/keras_adam.json");
    let fixture: Value = serde_json::from_str(&std::fs::read_to_string(path).expect("the fixture")).unwrap();
    let runs = fixture["runs"].as_array().expect("runs");
    assert_eq!(runs.len(), 4);
    for run in runs {
        let (name, dtype) = (run["config"]["name"].as_str().unwrap(), run["dtype"].as_str().unwrap());
        let ((differ, err), bar) = match dtype {
            "float32" => (compare::<f32>(run), 2e-6),
            "float64" => (compare::<f64>(run), 1e-12),
            other => panic!("dtype {other}"),
        };
        println!(
            "{name} {dtype}: {differ} of 60 values differ from TensorFlow's, by at most {err:e} relative"
        );
        assert!(err <= bar, "{name} {dtype}: {err:e} > {bar:e}");
    }
}
