// This source file is not a safetensors file.
staticnn::model! {
    #[model(weights = "weights_not_safetensors.rs")]
    pub struct Mnist {
        input(784),
        dense(10),
    }
}

fn main() {}
