staticnn::model! {
    pub struct Mnist {
        input(784),
        dense(12.5),
    }
}

fn main() {}
