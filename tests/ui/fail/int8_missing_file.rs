staticnn::model! {
    #[model(int8 = "no_such_file.safetensors")]
    pub struct Mlp { input(784), dense(128), relu, dense(10) }
}

fn main() {
    let _ = Mlp::forward_int8(&[0; 784]);
}
