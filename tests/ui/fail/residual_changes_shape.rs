staticnn::model! {
    pub struct Cnn {
        input(1, 28, 28),
        conv2d(16, 3, padding = 1), relu,
        residual {
            conv2d(32, 3, padding = 1), relu,
            maxpool(2),
        },
        flatten,
        dense(10),
    }
}

fn main() {}
