staticnn::model! {
    pub struct Mnist {
        input(784),
        dense(128),
        input(128),
        dense(10),
    }
}

fn main() {}
