staticnn::model! {
    /// Small enough that the single-sample pass is unrolled.
    #[model(scalar = f64)]
    struct Xor {
        input(2),
        dense(4), tanh,
        dense(1), sigmoid,
    }
}
