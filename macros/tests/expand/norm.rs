staticnn::model! {
    /// Batch normalisation after a dense layer, and dropout: the layers that train
    /// differently, with their inference pass and running statistics.
    pub struct Norm {
        input(4),
        dense(8), batchnorm1d(momentum = 0.01), relu,
        dropout(0.5),
        dense(2),
    }
}
