staticnn::model! {
    pub struct Probabilities {
        input(10),
        softmax,
    }
}

fn main() {}
