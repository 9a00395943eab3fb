staticnn::model! {
    pub struct Mnist {
        input(784),
        hidden: dense(128), relu,
        hidden: dense(64), relu,
        dense(10),
    }
}

fn main() {}
