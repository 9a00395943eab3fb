staticnn::model! {
    pub struct Cnn {
        input(1, 28),
        conv2d(16, kernal = 3),
        conv2d(0, (3, 3, 3), stride = 0),
        maxpool((2, 2)),
        avgpool(2, padding = 1),
        flatten(2),
        residual,
        global_avgpool,
        dense(10),
    }
}

fn main() {}
