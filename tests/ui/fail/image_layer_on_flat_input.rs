staticnn::model! {
    pub struct Mlp {
        input(784),
        conv2d(16, 3),
        dense(128), relu,
        maxpool(2),
        flatten,
        dense(10),
    }
}

fn main() {}
