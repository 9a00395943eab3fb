staticnn::model! {
    #[model(scalar = f64, precision = high)]
    pub struct Mnist {
        input(784),
        dense(10),
    }
}

fn main() {}
