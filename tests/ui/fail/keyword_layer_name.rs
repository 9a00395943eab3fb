staticnn::model! {
    pub struct Mnist {
        input(784),
        type: dense(128),
        dense(10),
    }
}

fn main() {}
