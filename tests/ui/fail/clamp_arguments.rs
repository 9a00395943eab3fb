// `clamp(min, max)` needs both ends of a non-empty range, as numbers.
staticnn::model! {
    pub struct NoRange {
        input(4),
        dense(4), clamp,
        dense(2),
    }
}

staticnn::model! {
    pub struct OneEnd {
        input(4),
        dense(4), clamp(1),
        dense(2),
    }
}

staticnn::model! {
    pub struct Empty {
        input(4),
        dense(4), clamp(1, -1),
        dense(2),
    }
}

staticnn::model! {
    pub struct Named {
        input(4),
        dense(4), clamp(min = -1, 1),
        dense(2),
    }
}

staticnn::model! {
    pub struct NotANumber {
        input(4),
        dense(4), clamp(low, 1),
        dense(2),
    }
}

fn main() {}
