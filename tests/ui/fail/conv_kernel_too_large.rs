staticnn::model! {
    pub struct Cnn {
        input(1, 28, 28),
        conv2d(8, 5), relu,
        maxpool(4),
        conv2d(16, kernel = 9, padding = 1),
        flatten,
        dense(10),
    }
}

fn main() {}
