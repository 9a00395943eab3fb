// A layer with no int8 kernel: the error is at the layer.
staticnn::model! {
    #[model(int8 = "../../fixtures/int8/mlp_int8.safetensors")]
    pub struct Mlp {
        input(784),
        dense(128), sigmoid,
        dense(10),
    }
}

fn main() {
    let _ = Mlp::forward_int8(&[0; 784]);
}
