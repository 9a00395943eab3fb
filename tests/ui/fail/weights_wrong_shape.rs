// The fixture holds 784 → 128 → 10; this model takes 700 inputs.
staticnn::model! {
    #[model(weights = "../../fixtures/mlp_f32.safetensors")]
    pub struct Mnist {
        input(700),
        dense(128), relu,
        dense(10),
    }
}

fn main() {}
