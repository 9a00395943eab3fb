// `batchnorm` takes an optional channel count and the keys `eps` and `momentum`: each
// mistake is reported on the offending argument, in PyTorch's conventions.
staticnn::model! {
    pub struct NegativeEps {
        input(8),
        dense(4), batchnorm(eps = -1e-5),
        dense(2),
    }
}

staticnn::model! {
    pub struct KerasMomentum {
        input(8),
        dense(4), batchnorm(momentum = 1.5),
        dense(2),
    }
}

staticnn::model! {
    pub struct UnknownKey {
        input(8),
        dense(4), batchnorm(epsilon = 1e-3),
        dense(2),
    }
}

staticnn::model! {
    pub struct TwoPositional {
        input(8),
        dense(4), batchnorm(4, 1e-3),
        dense(2),
    }
}

fn main() {}
