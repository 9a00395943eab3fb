staticnn::model! {
    pub struct Mnist {
        input(784)
        dense(10),
    }
}

fn main() {}
