// Brackets nested beyond 32 deep are rejected before syn parses them (its recursive token
// buffer would overflow the stack on thousands of levels).
staticnn::model! {
    pub struct Deep {
        input(2),
        residual { residual { residual { residual { residual { residual { residual { residual { residual { residual { residual { residual { residual { residual { residual { residual { residual { residual { residual { residual { residual { residual { residual { residual { residual { residual { residual { residual { residual { residual { residual { dense(2) } } } } } } } } } } } } } } } } } } } } } } } } } } } } } } },
        dense(2),
    }
}

fn main() {}
