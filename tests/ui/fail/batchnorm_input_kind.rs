// `batchnorm1d` normalises the features of a flat input and `batchnorm2d` the channels of
// an image, as PyTorch's classes do; a stated channel count must be the input's.
staticnn::model! {
    pub struct TwoDOnFlat {
        input(8),
        dense(4), batchnorm2d,
        dense(2),
    }
}

staticnn::model! {
    pub struct OneDOnImage {
        input(1, 6, 6),
        conv2d(4, 3), batchnorm1d,
        flatten, dense(2),
    }
}

staticnn::model! {
    pub struct WrongChannels {
        input(1, 6, 6),
        conv2d(4, 3), batchnorm2d(8), relu,
        flatten, dense(2),
    }
}

staticnn::model! {
    pub struct WrongFeatures {
        input(8),
        dense(4), batchnorm1d(16),
        dense(2),
    }
}

staticnn::model! {
    // After `flatten`, a batch norm normalises each of the 64 values, not the 4 channels.
    pub struct AfterFlatten {
        input(1, 6, 6),
        conv2d(4, 3), flatten, batchnorm(4),
        dense(2),
    }
}

fn main() {}
