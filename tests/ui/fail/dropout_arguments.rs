// `dropout` takes the fraction of values it zeroes, in [0, 1).
staticnn::model! {
    pub struct NoRate {
        input(8),
        dense(4), dropout,
        dense(2),
    }
}

staticnn::model! {
    pub struct RateOne {
        input(8),
        dense(4), dropout(1.0),
        dense(2),
    }
}

staticnn::model! {
    pub struct NegativeRate {
        input(8),
        dense(4), dropout(-0.5),
        dense(2),
    }
}

staticnn::model! {
    pub struct KeepProbability {
        input(8),
        dense(4), dropout(keep = 0.5),
        dense(2),
    }
}

staticnn::model! {
    pub struct NotANumber {
        input(8),
        dense(4), dropout("half"),
        dense(2),
    }
}

fn main() {}
