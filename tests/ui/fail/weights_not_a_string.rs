staticnn::model! {
    #[model(weights = mnist.safetensors)]
    pub struct Mnist {
        input(784),
        dense(10),
    }
}

fn main() {}
