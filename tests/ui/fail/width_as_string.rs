staticnn::model! {
    pub struct Mnist {
        input(784),
        dense("128"),
    }
}

fn main() {}
