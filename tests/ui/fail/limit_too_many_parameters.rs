// Every layer is within the per-tensor limit, but together they exceed the model's limit
// of 2^26 parameters: the layer that takes the total over it is blamed.
staticnn::model! {
    pub struct Deep {
        input(4096),
        dense(4096), relu,
        dense(4096), relu,
        dense(4096), relu,
        dense(4096), relu,
        dense(10),
    }
}

fn main() {}
