staticnn::model! {
    pub struct TwoSlopes {
        input(4),
        dense(8), leaky_relu(1, 2),
        dense(2),
    }
}

staticnn::model! {
    pub struct KeyedSlope {
        input(4),
        dense(8), leaky_relu(x = 1),
        dense(2),
    }
}

staticnn::model! {
    pub struct NamedSlope {
        input(4),
        dense(8), leaky_relu(alpha),
        dense(2),
    }
}

fn main() {}
