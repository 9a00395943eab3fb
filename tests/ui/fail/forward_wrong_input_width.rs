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
    let _ = model.forward(&SVector::<f32, 100>::zeros());
}
