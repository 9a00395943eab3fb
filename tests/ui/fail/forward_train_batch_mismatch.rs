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
    let x = SMatrix::<f32, 784, 32>::zeros();
    let mut cache: Box<MnistCache<16>> = Mnist::zeroed_cache();
    let _ = model.forward_train(&x, &mut cache);
}
