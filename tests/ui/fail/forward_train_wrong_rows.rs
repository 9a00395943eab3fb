use staticnn::prelude::*;

staticnn::model! {
    pub struct Mnist {
        input(784),
        dense(128), relu,
        dense(10),
    }
}

fn main() {
    let model = Mnist::new_boxed(Init::HeUniform, 0);
    // 28 × 28 images flattened the wrong way: 28 rows instead of 784.
    let x = SMatrix::<f32, 28, 32>::zeros();
    let mut cache = Mnist::zeroed_cache::<32>();
    let _ = model.forward_train(&x, &mut cache);
}
