staticnn::model! {
    #[model(weights = "no_such_file.safetensors")]
    pub struct Mnist {
        input(784),
        dense(128), relu,
        dense(10),
    }
}

// No further error here: `TRAINED` still exists.
static MODEL: Mnist = Mnist::TRAINED;

fn main() {
    let _ = &MODEL;
}
