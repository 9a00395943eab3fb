// Named layers become struct fields and tensor names; `N -> M` states both widths.
use staticnn::prelude::*;

staticnn::model! {
    pub struct Mnist {
        input(784),
        hidden: dense(784 -> 128), relu,
        classifier: dense(128 -> 10),
        probabilities: softmax,
    }
}

fn main() {
    assert_eq!(<Mnist as Parameters>::LEN, 784 * 128 + 128 + 128 * 10 + 10);

    let mut model = Mnist::new_boxed(Init::HeUniform, 0);
    let _: &staticnn::Dense<f32, 784, 128> = &model.hidden;
    let _: &staticnn::Dense<f32, 128, 10> = &model.classifier;

    let mut tensors = Vec::new();
    model.visit(&mut |t| tensors.push((t.name.to_string(), t.shape.dims().to_vec())));
    assert_eq!(
        tensors,
        [
            ("hidden.weight".to_string(), vec![128, 784]),
            ("hidden.bias".to_string(), vec![128]),
            ("classifier.weight".to_string(), vec![10, 128]),
            ("classifier.bias".to_string(), vec![10]),
        ]
    );
    model.visit_mut(&mut |t| {
        if t.name.matches("classifier.bias") {
            t.data.fill(1.0);
        }
    });
    assert_eq!(model.classifier.as_slice()[128 * 10..], [1.0; 10]);

    let probs: SVector<f32, 10> = model.forward(&SVector::zeros());
    assert!((probs.sum() - 1.0).abs() < 1e-5);

    // Named layers name the cache's fields too.
    const B: usize = 2;
    let mut cache: Box<MnistCache<B>> = Mnist::zeroed_cache::<B>();
    let x = MnistInput::<B>::repeat(0.5);
    let logits: SMatrix<f32, 10, B> = *model.forward_train(&x, &mut cache);
    assert_eq!(logits, cache.classifier_out);
    let mut grads = Mnist::zeroed_box();
    let dx: &MnistInput<B> = model.backward(&x, &mut cache, &SMatrix::repeat(0.1), &mut grads);
    assert!(dx.iter().all(|v| v.is_finite()));
    assert!(grads.hidden.as_slice().iter().any(|&g| g != 0.0));
}
