//! Each optimizer against its published update rule, written out longhand.
#![allow(clippy::needless_range_loop)] // the reference rules index like the papers do

use nalgebra::ComplexField;

use super::*;
use crate::Dense;

type P = Dense<f64, 2, 1>;

fn params(values: [f64; 3]) -> P {
    let mut p = P::ZERO;
    p.as_mut_slice().copy_from_slice(&values);
    p
}

const GRADS: [[f64; 3]; 3] = [[0.5, -1.0, 2.0], [0.25, 0.0, -3.0], [-1.5, 0.75, 1.0]];

#[test]
fn sgd_follows_its_rule() {
    let mut p = params([1.0, 2.0, 3.0]);
    let mut sgd = Sgd { lr: 0.1, weight_decay: 0.01 };
    let mut expect = [1.0, 2.0, 3.0];
    for g in GRADS {
        assert_eq!(sgd.step(&mut p, &params(g)), None);
        for i in 0..3 {
            expect[i] -= 0.1 * (g[i] + 0.01 * expect[i]);
        }
        assert_eq!(p.as_slice(), &expect);
    }
}

#[test]
fn momentum_follows_pytorch() {
    let mut velocity = P::ZERO;
    let mut p = params([1.0, 2.0, 3.0]);
    let mut opt = Momentum::with_state(0.1, 0.9, &mut velocity);
    let (mut expect, mut v) = ([1.0, 2.0, 3.0], [0.0; 3]);
    for g in GRADS {
        assert_eq!(opt.step(&mut p, &params(g)), None);
        for i in 0..3 {
            v[i] = 0.9 * v[i] + g[i];
            expect[i] -= 0.1 * v[i];
        }
        for i in 0..3 {
            assert!((p.as_slice()[i] - expect[i]).abs() < 1e-15);
        }
    }
}

/// Adam exactly as Algorithm 1 of Kingma & Ba (and `torch.optim.Adam`).
fn adam_reference(config: AdamConfig, start: [f64; 3]) -> [[f64; 3]; 3] {
    let (mut p, mut m, mut v) = (start, [0.0; 3], [0.0; 3]);
    let mut out = [[0.0; 3]; 3];
    for (t, g) in GRADS.iter().enumerate() {
        let t = (t + 1) as i32;
        for i in 0..3 {
            let g = g[i] + config.weight_decay * p[i];
            m[i] = config.beta1 * m[i] + (1.0 - config.beta1) * g;
            v[i] = config.beta2 * v[i] + (1.0 - config.beta2) * g * g;
            let m_hat = m[i] / (1.0 - ComplexField::powi(config.beta1, t));
            let v_hat = v[i] / (1.0 - ComplexField::powi(config.beta2, t));
            p[i] -= config.lr * m_hat / (ComplexField::sqrt(v_hat) + config.eps);
        }
        out[t as usize - 1] = p;
    }
    out
}

#[test]
fn adam_follows_the_paper() {
    for config in [
        AdamConfig::default(),
        AdamConfig { lr: 0.01, weight_decay: 0.1, eps: 1e-7, ..AdamConfig::default() },
    ] {
        let (mut m, mut v) = (P::ZERO, P::ZERO);
        let mut adam = Adam::with_state(config, &mut m, &mut v);
        let mut p = params([1.0, -2.0, 0.5]);
        for (step, expect) in adam_reference(config, [1.0, -2.0, 0.5]).iter().enumerate() {
            assert_eq!(adam.step(&mut p, &params(GRADS[step])), None);
            for i in 0..3 {
                let got = p.as_slice()[i];
                assert!(
                    (got - expect[i]).abs() <= 1e-14 * expect[i].abs().max(1.0),
                    "step {step}: {got} vs {}",
                    expect[i]
                );
            }
        }
        assert_eq!(adam.steps(), 3);
    }
}

/// Adam as Keras 3's `Adam.update_step` writes it, longhand, in `f64`, with the learning
/// rate and the `β`s rounded to `f32` as TensorFlow rounds them.
fn keras_reference(config: AdamConfig, start: [f64; 3]) -> [[f64; 3]; 3] {
    let (mut p, mut m, mut v) = (start, [0.0; 3], [0.0; 3]);
    let lr = f64::from(config.lr as f32);
    let mut out = [[0.0; 3]; 3];
    for (t, g) in GRADS.iter().enumerate() {
        let step = (t + 1) as i32;
        let power = |beta: f64| ComplexField::powf(f64::from(beta as f32), f64::from(step));
        let alpha = lr * ComplexField::sqrt(1.0 - power(config.beta2)) / (1.0 - power(config.beta1));
        for i in 0..3 {
            m[i] += (g[i] - m[i]) * (1.0 - config.beta1);
            v[i] += (g[i] * g[i] - v[i]) * (1.0 - config.beta2);
            p[i] -= m[i] * alpha / (ComplexField::sqrt(v[i]) + config.eps);
        }
        out[t] = p;
    }
    out
}

#[test]
fn keras_adam_adds_epsilon_before_bias_correction() {
    for config in [AdamConfig::keras(), AdamConfig { lr: 0.01, eps: 1e-3, ..AdamConfig::keras() }] {
        let (mut m, mut v) = (P::ZERO, P::ZERO);
        let mut adam = Adam::with_state(config, &mut m, &mut v);
        let mut p = params([1.0, -2.0, 0.5]);
        let paper = adam_reference(AdamConfig { form: AdamForm::PyTorch, ..config }, [1.0, -2.0, 0.5]);
        for (step, expect) in keras_reference(config, [1.0, -2.0, 0.5]).iter().enumerate() {
            assert_eq!(adam.step(&mut p, &params(GRADS[step])), None);
            for i in 0..3 {
                let got = p.as_slice()[i];
                assert!((got - expect[i]).abs() <= 1e-15, "step {step}: {got} vs {}", expect[i]);
            }
        }
        // With ε = 1e-3 the two forms differ visibly.
        if config.eps == 1e-3 {
            assert!((p.as_slice()[1] - paper[2][1]).abs() > 1e-6);
        }
    }
}

#[test]
fn adam_first_step_moves_by_lr_times_sign() {
    // With bias correction, the first step is lr · g / (|g| + ε) ≈ lr · sign(g).
    let (mut m, mut v) = (P::ZERO, P::ZERO);
    let mut adam = Adam::with_state(AdamConfig::default(), &mut m, &mut v);
    let mut p = params([0.0; 3]);
    assert_eq!(adam.step(&mut p, &params([3.0, -0.001, 0.0])), None);
    assert!((p.as_slice()[0] + 1e-3).abs() < 1e-10);
    assert!((p.as_slice()[1] - 1e-3).abs() < 1e-7);
    assert_eq!(p.as_slice()[2], 0.0);
}

/// Splitting a step into parts (as the parallel trainer does) changes no bit.
#[cfg(feature = "alloc")]
fn split_is_bit_identical<O: Optimizer<Big>>(mut make: impl FnMut() -> O) {
    let mut whole = Big::zeroed_box();
    whole.as_mut_slice().iter_mut().enumerate().for_each(|(i, p)| *p = (i as f32 * 0.37).sin());
    let mut parts = whole.boxed_copy();
    let mut g = Big::zeroed_box();
    g.as_mut_slice().iter_mut().enumerate().for_each(|(i, x)| *x = (i as f32 * 0.11).cos());
    let (mut serial, mut split) = (make(), make());
    for _ in 0..3 {
        assert_eq!(serial.step(&mut whole, &g), None);
        let mut rest = split.begin_step();
        let (mut params, mut grads) = (parts.as_mut_slice(), g.as_slice());
        // Uneven parts, the last one empty.
        for size in [1000, 7, 13_000, usize::MAX, 5] {
            let (head, tail) = rest.split_at(size);
            let n = head.len();
            let (p, p_rest) = params.split_at_mut(n);
            assert!(head.apply(p, &grads[..n]));
            (rest, params, grads) = (tail, p_rest, &grads[n..]);
        }
        assert!(rest.is_empty());
    }
    assert_eq!(whole.as_slice(), parts.as_slice());
}

type Big = Dense<f32, 300, 70>; // 21 070 parameters

#[cfg(feature = "alloc")]
#[test]
fn split_steps_are_bit_identical() {
    use alloc::boxed::Box;
    split_is_bit_identical(|| Sgd { lr: 0.1, weight_decay: 0.01 });
    split_is_bit_identical(|| Momentum::<Box<Big>>::new(0.1, 0.9));
    split_is_bit_identical(|| Adam::<Box<Big>>::new(AdamConfig::default()));
}

#[test]
fn adamw_decays_parameters_directly() {
    let config = AdamConfig { lr: 0.1, weight_decay: 0.5, decoupled: true, ..AdamConfig::default() };
    let (mut m, mut v) = (P::ZERO, P::ZERO);
    let mut adam = Adam::with_state(config, &mut m, &mut v);
    let mut p = params([2.0, 2.0, 2.0]);
    assert_eq!(adam.step(&mut p, &params([0.0; 3])), None);
    // Zero gradient: only the decay acts, p ← p (1 − lr λ).
    assert_eq!(p.as_slice(), &[1.9, 1.9, 1.9]);
}

/// A gradient that would make a parameter non-finite: that parameter and its state keep
/// their values, the others are updated, and the step names the tensor.
#[test]
fn non_finite_updates_are_refused_per_parameter() {
    type Two = crate::Dense<f64, 1, 1>; // "weight" then "bias", one value each
    let grads = {
        let mut g = Two::ZERO;
        g.as_mut_slice().copy_from_slice(&[0.5, f64::NAN]);
        g
    };
    let check = |name: &str, refused: Option<TensorName>, p: &Two, state: &[&Two]| {
        assert_eq!(refused.map(|t| t.param), Some("bias"), "{name}");
        assert_ne!(p.as_slice()[0], 1.0, "{name}: the finite update is applied");
        assert_eq!(p.as_slice()[1], 2.0, "{name}: the refused parameter is unchanged");
        for s in state {
            assert_eq!(s.as_slice()[1], 0.0, "{name}: its state is unchanged");
        }
    };
    let start = || {
        let mut p = Two::ZERO;
        p.as_mut_slice().copy_from_slice(&[1.0, 2.0]);
        p
    };
    let mut p = start();
    let refused = Sgd::new(0.1).step(&mut p, &grads);
    check("sgd", refused, &p, &[]);
    let (mut p, mut velocity) = (start(), Two::ZERO);
    let refused = Momentum::with_state(0.1, 0.9, &mut velocity).step(&mut p, &grads);
    check("momentum", refused, &p, &[&velocity]);
    let (mut p, mut m, mut v) = (start(), Two::ZERO, Two::ZERO);
    let refused = Adam::with_state(AdamConfig::default(), &mut m, &mut v).step(&mut p, &grads);
    check("adam", refused, &p, &[&m, &v]);
    // Overflow from finite values is refused too.
    let mut p = start();
    let mut huge = grads;
    huge.as_mut_slice().copy_from_slice(&[f64::MAX, 0.0]);
    let refused = Sgd::new(4.0).step(&mut p, &huge);
    assert_eq!(refused.map(|t| t.param), Some("weight"));
    assert_eq!(p.as_slice(), &[1.0, 2.0 - 0.0]);
}

#[test]
fn hyperparameters_are_validated() {
    let invalid = |r: Result<(), InvalidHyperparameter>| r.err().map(|e| e.name);
    assert_eq!(invalid(Optimizer::<P>::validate(&Sgd::new(0.1))), None);
    assert_eq!(invalid(Optimizer::<P>::validate(&Sgd::new(f64::NAN))), Some("lr"));
    assert_eq!(invalid(Optimizer::<P>::validate(&Sgd::new(-1.0))), Some("lr"));
    // Finite in f64, infinite in f32.
    type P32 = crate::Dense<f32, 2, 1>;
    assert_eq!(invalid(Optimizer::<P>::validate(&Sgd::new(1e300))), None);
    assert_eq!(invalid(Optimizer::<P32>::validate(&Sgd::new(1e300))), Some("lr"));
    let (mut m, mut v) = (P::ZERO, P::ZERO);
    for (config, name) in [
        (AdamConfig { beta1: 1.0, ..AdamConfig::default() }, Some("beta1")),
        (AdamConfig { beta2: -0.1, ..AdamConfig::default() }, Some("beta2")),
        (AdamConfig { eps: f64::INFINITY, ..AdamConfig::default() }, Some("eps")),
        (AdamConfig { weight_decay: -1.0, ..AdamConfig::default() }, Some("weight_decay")),
        (AdamConfig::keras(), None),
    ] {
        let adam = Adam::with_state(config, &mut m, &mut v);
        assert_eq!(invalid(Optimizer::<P>::validate(&adam)), name);
    }
    let momentum = Momentum::with_state(0.1, f64::NAN, &mut m);
    let e = Optimizer::<P>::validate(&momentum).unwrap_err();
    #[cfg(feature = "alloc")]
    assert_eq!(
        alloc::string::ToString::to_string(&e),
        "the optimizer's `momentum` is NaN; it must be finite and ≥ 0 (in the model's scalar type)"
    );
}
