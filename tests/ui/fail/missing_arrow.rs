staticnn::model! {
    pub struct Mnist {
        input(784),
        dense(784 128),
        dense(10),
    }
}

fn main() {}
