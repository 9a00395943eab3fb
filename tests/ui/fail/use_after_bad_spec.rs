// A mistake in the spec is reported once; the code using the model does not add a
// cascade of unrelated errors.
use staticnn::prelude::*;

staticnn::model! {
    pub struct Mnist {
        input(784),
        dense(128), relu,
        dense(100 -> 10),
    }
}

fn main() {
    let zero = Mnist::ZERO;
    let model = Mnist::new_boxed(Init::HeUniform, 0);
    let x: MnistInput = SVector::zeros();
    let y: SVector<f32, 10> = model.forward(&x);
    let mut cache = Mnist::zeroed_cache::<4>();
    let _ = (zero, y, &mut cache);
}
