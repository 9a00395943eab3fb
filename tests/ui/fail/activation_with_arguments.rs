staticnn::model! {
    pub struct Mnist {
        input(784),
        dense(128), relu(3),
        dense(10),
    }
}

fn main() {}
