// The int8 file of a 784 → 128 → 10 MLP baked into a model of another shape: every tensor
// that does not fit is named, at the file.
staticnn::model! {
    #[model(int8 = "../../fixtures/int8/mlp_int8.safetensors")]
    pub struct Narrow {
        input(784),
        dense(64), relu,
        dense(10),
    }
}

fn main() {
    // No further error: the stand-in `forward_int8` exists.
    let _ = Narrow::forward_int8(&[0; 784]);
}
