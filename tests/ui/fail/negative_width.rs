staticnn::model! {
    pub struct Mnist {
        input(784),
        dense(-3),
    }
}

fn main() {}
