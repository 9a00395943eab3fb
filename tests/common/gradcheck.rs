//! Finite-difference checking shared by the gradient tests (`tests/gradcheck*.rs`): of
//! single layers in `gradcheck_layers.rs`, of whole models in the others.
//!
//! The error measure is `|analytic − numeric| / max(|analytic| + |numeric|, 1e-7)`: relative
//! wherever the gradient is not vanishingly small. Central differences with `h = 1e-5`.
//! Every check runs in exact IEEE mode (subnormals not flushed: [`assert_exact`]), since it
//! calls the layers directly rather than through a trainer.

use rand::Rng;
use rand::rngs::StdRng;
use staticnn::prelude::*;

/// The finite-difference step.
pub const H: f64 = 1e-5;
/// The largest relative error a check accepts.
pub const BAR: f64 = 1e-6;

/// Panics unless this thread computes with exact IEEE subnormals.
pub fn assert_exact() {
    assert!(!staticnn::float_env::flushing(), "gradient checks must run without flushing subnormals");
}

/// The relative error of an analytic derivative `a` against a numeric one `n`.
pub fn rel_err(a: f64, n: f64) -> f64 {
    (a - n).abs() / (a.abs() + n.abs()).max(1e-7)
}

/// A matrix of values uniform in `(−scale, scale)`.
pub fn random<const R: usize, const C: usize>(rng: &mut StdRng, scale: f64) -> SMatrix<f64, R, C> {
    SMatrix::from_fn(|_, _| rng.random_range(-scale..scale))
}

/// Compares the analytic gradient of the loss with central differences for the parameters
/// at `params` (indices into the flat parameter slice) and for the inputs (every one when
/// there are at most 1 000, else 40 spread over them); returns the worst relative error.
/// Also checks that `backward_params` gives `backward`'s parameter gradients.
#[allow(dead_code)] // the layer checks need no model
pub fn check_model<M, L, const IN: usize, const OUT: usize, const B: usize>(
    model: &mut M,
    loss: &L,
    x: &SMatrix<f64, IN, B>,
    target: &L::Target<B>,
    params: &[usize],
) -> f64
where
    M: Model<IN, OUT, Scalar = f64>,
    L: Loss<f64, OUT>,
{
    assert_exact();
    let mut cache = M::zeroed_cache::<B>();
    let mut grads = M::zeroed_box();
    let mut grad_out = staticnn::zeroed_box::<SMatrix<f64, OUT, B>>();
    let out = model.forward_train(x, &mut cache);
    loss.loss_and_grad(out, target, B, &mut grad_out).unwrap();
    let dx = *model.backward(x, &mut cache, &grad_out, &mut grads);

    let mut grads2 = M::zeroed_box();
    model.forward_train(x, &mut cache);
    model.backward_params(x, &mut cache, &grad_out, &mut grads2);
    assert_eq!(grads.as_slice(), grads2.as_slice(), "backward_params differs from backward");

    let mut eval = |model: &M, x: &SMatrix<f64, IN, B>| {
        loss.loss(model.forward_train(x, &mut cache), target, B).unwrap()
    };
    let mut worst: f64 = 0.0;
    for &i in params {
        let p = model.as_slice()[i];
        model.as_mut_slice()[i] = p + H;
        let plus = eval(model, x);
        model.as_mut_slice()[i] = p - H;
        let minus = eval(model, x);
        model.as_mut_slice()[i] = p;
        worst = worst.max(rel_err(grads.as_slice()[i], (plus - minus) / (2.0 * H)));
    }
    let step = if IN * B <= 1000 { 1 } else { IN * B / 40 };
    for i in (0..IN * B).step_by(step) {
        let (mut plus, mut minus) = (*x, *x);
        plus[i] += H;
        minus[i] -= H;
        worst = worst.max(rel_err(dx[i], (eval(model, &plus) - eval(model, &minus)) / (2.0 * H)));
    }
    worst
}

/// Every parameter index of `M`.
#[allow(dead_code)] // not every test file checks all parameters
pub fn all_params<M: Parameters>() -> Vec<usize> {
    (0..M::LEN).collect()
}
