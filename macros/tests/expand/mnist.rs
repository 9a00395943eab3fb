staticnn::model! {
    /// The reference MNIST classifier.
    pub struct Mnist {
        input(784),
        dense(128), relu,
        dense(10),
    }
}
