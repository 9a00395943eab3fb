// The MNIST MLP's first layer alone (401 920 bytes) is over a 128 KiB flash budget.
staticnn::model! {
    #[model(budget(flash = "128K"))]
    pub struct Mnist {
        input(784),
        dense(128), relu,
        dense(10),
    }
}

fn main() {}
