staticnn::model! {
    pub struct Mnist {
        input(784),
        dense, relu,
        dense(10, 20),
    }
}

fn main() {}
