staticnn::model! {
    pub struct Conv {
        input(784),
        convolution(3),
        dense(10),
    }
}

fn main() {}
