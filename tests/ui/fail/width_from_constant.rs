const HIDDEN: usize = 128;

staticnn::model! {
    pub struct Mnist {
        input(784),
        dense(HIDDEN), relu,
        dense(10),
    }
}

fn main() {}
