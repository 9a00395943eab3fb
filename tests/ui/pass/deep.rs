// Six dense layers with every activation between them, ending in a softmax head.
use staticnn::prelude::*;

staticnn::model! {
    pub struct Deep {
        input(64),
        dense(32), relu,
        dense(32), tanh,
        dense(16), sigmoid,
        dense(8), leaky_relu(0.2),
        dense(4), identity,
        dense(2), softmax,
    }
}

fn main() {
    assert_eq!((Deep::INPUT, Deep::OUTPUT), (64, 2));
    assert_eq!(
        <Deep as Parameters>::LEN,
        (64 * 32 + 32) + (32 * 32 + 32) + (32 * 16 + 16) + (16 * 8 + 8) + (8 * 4 + 4) + (4 * 2 + 2)
    );

    let model = Deep::new_boxed(Init::HeUniform, 42);
    let mut names = Vec::new();
    model.visit(&mut |t| names.push(t.name.to_string()));
    // Unnamed layers are numbered by position, activations included (as `nn.Sequential`).
    let expected: Vec<String> =
        [0, 2, 4, 6, 8, 10].iter().flat_map(|i| [format!("{i}.weight"), format!("{i}.bias")]).collect();
    assert_eq!(names, expected);

    // `forward` applies the softmax head: a probability distribution.
    let x = SVector::<f32, 64>::from_fn(|i, _| (i as f32 * 0.37).sin());
    let p: SVector<f32, 2> = model.forward(&x);
    assert!((p.sum() - 1.0).abs() < 1e-5);
    assert!(p.iter().all(|&v| v > 0.0));

    // `forward_train` returns the logits before the head; `forward_batch` applies it.
    const B: usize = 3;
    let xs = DeepInput::<B>::from_fn(|i, j| ((i + 7 * j) as f32 * 0.11).cos());
    let mut cache = Deep::zeroed_cache::<B>();
    let logits: DeepOutput<B> = *model.forward_train(&xs, &mut cache);
    let probs: DeepOutput<B> = *model.forward_batch(&xs, &mut cache);
    for j in 0..B {
        assert!((probs.column(j).sum() - 1.0).abs() < 1e-5);
        let shifted = logits.column(j).map(|v| (v - logits.column(j).max()).exp());
        assert!((shifted / shifted.sum() - probs.column(j)).norm() < 1e-5);
    }

    let mut grads = Deep::zeroed_box();
    model.forward_train(&xs, &mut cache);
    let dx: &SMatrix<f32, 64, B> = model.backward(&xs, &mut cache, &DeepOutput::<B>::repeat(1.0), &mut grads);
    assert!(dx.iter().all(|v| v.is_finite()));
    assert!(grads.first_non_finite().is_none());
    // The gradient reaches the first layer.
    assert!(grads.layer0.as_slice().iter().any(|&g| g != 0.0));
}
