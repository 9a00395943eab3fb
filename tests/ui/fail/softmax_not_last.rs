staticnn::model! {
    pub struct Mnist {
        input(784),
        dense(128), softmax,
        dense(10),
    }
}

fn main() {}
