staticnn::model! {
    pub struct Mnist {
        input(784),
        dense(128), relu,
        dense(100 -> 10),
    }
}

fn main() {}
