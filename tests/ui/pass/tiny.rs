// 2 → 4 → 1, trained for one step by hand: forward_train, backward, and an SGD update.
use staticnn::prelude::*;

staticnn::model! {
    pub struct Tiny {
        input(2),
        dense(4), tanh,
        dense(1), sigmoid,
    }
}

fn main() {
    assert_eq!(<Tiny as Parameters>::LEN, (2 * 4 + 4) + (4 * 1 + 1));

    let mut model = Tiny::new_boxed(Init::GlorotUniform, 1);
    // Same seed, same weights.
    assert_eq!(model, Tiny::new_boxed(Init::GlorotUniform, 1));
    assert_ne!(model.as_slice(), Tiny::ZERO.as_slice());

    const B: usize = 4;
    let x = TinyInput::<B>::from_column_slice(&[0., 0., 0., 1., 1., 0., 1., 1.]);
    let target = TinyOutput::<B>::from_column_slice(&[0., 1., 1., 0.]);
    let mut cache = Tiny::zeroed_cache::<B>();
    let mut grads = Tiny::zeroed_box();

    let y: &SMatrix<f32, 1, B> = model.forward_train(&x, &mut cache);
    let grad_out = (y - target) * (2.0 / B as f32);
    let loss_before = (y - target).norm_squared();
    let dx: &SMatrix<f32, 2, B> = model.backward(&x, &mut cache, &grad_out, &mut grads);
    assert!(dx.iter().all(|v| v.is_finite()));
    assert!(grads.as_slice().iter().any(|&g| g != 0.0));

    // The sample-by-sample pass agrees with the batched one.
    for (i, col) in x.column_iter().enumerate() {
        let single: SVector<f32, 1> = model.forward(&col.into_owned());
        assert!((single[0] - cache.layer3_out[(0, i)]).abs() < 1e-6);
    }

    // One small gradient step lowers the loss.
    for (p, g) in model.as_mut_slice().iter_mut().zip(grads.as_slice()) {
        *p -= 0.1 * g;
    }
    let y = model.forward_train(&x, &mut cache);
    assert!((y - target).norm_squared() < loss_before);
}
