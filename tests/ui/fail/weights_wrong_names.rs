// The fixture's tensors are `0.weight`, `0.bias`, `2.weight`, `2.bias`.
staticnn::model! {
    #[model(weights = "../../fixtures/mlp_f32.safetensors")]
    pub struct Mnist {
        input(784),
        hidden: dense(128), relu,
        dense(10),
    }
}

fn main() {}
