// The fixture holds F32 tensors; an f64 model needs F64.
staticnn::model! {
    #[model(scalar = f64, weights = "../../fixtures/mlp_f32.safetensors")]
    pub struct Mnist {
        input(784),
        dense(128), relu,
        dense(10),
    }
}

fn main() {}
