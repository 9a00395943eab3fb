staticnn::model! {
    pub struct Mnist {
        input(784),
        desne(128), relu,
        dense(10),
    }
}

fn main() {}
