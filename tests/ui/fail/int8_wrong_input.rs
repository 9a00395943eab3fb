// The baked int8 forward pass takes exactly the model's input width.
staticnn::model! {
    #[model(int8 = "../../fixtures/int8/mlp_int8.safetensors")]
    pub struct Mlp { input(784), dense(128), relu, dense(10) }
}

fn main() {
    let image = [0i8; 28 * 29];
    let _ = Mlp::forward_int8(&image);
    let _: [i8; 2] = Mlp::forward_int8(&[0; 784]);
}
