staticnn::model! {
    pub struct Cnn {
        input(3, 15, 16),
        conv2d(8, 3, stride = 2, padding = 1, exact = true),
        maxpool(2, exact = true),
        conv2d(8, (3, 2), stride = 3, exact = true),
        flatten,
        dense(10),
    }
}

fn main() {}
