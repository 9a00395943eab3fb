// `fold_batchnorm` folds each batch norm into the dense or convolution layer right before
// it, from the baked weight file: it needs the file, and a layer with weights before each
// batch norm.
staticnn::model! {
    #[model(fold_batchnorm)]
    pub struct NoWeights {
        input(20),
        dense(16), batchnorm1d(16), relu, dropout(0.2),
        dense(4),
    }
}

staticnn::model! {
    #[model(weights = "../../fixtures/pytorch/mlp.safetensors", fold_batchnorm)]
    pub struct AfterActivation {
        input(20),
        dense(16), relu, batchnorm1d(16), dropout(0.2),
        dense(4),
    }
}

staticnn::model! {
    #[model(weights = "../../fixtures/pytorch/mlp.safetensors", fold_batchnorm)]
    pub struct First {
        input(20),
        batchnorm, dense(16), relu,
        dense(4),
    }
}

fn main() {}
