// Every mistake in a spec is reported at once, each at its own token.
staticnn::model! {
    pub struct Mnist {
        input(784),
        dense(128), rleu,
        dense(100 -> 64), relu,
        dense(0),
        softmax,
        dense(10),
    }
}

fn main() {}
