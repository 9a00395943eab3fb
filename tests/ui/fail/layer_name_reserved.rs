// Unnamed layers are stored in fields `layer0`, `layer1`, …; a name may not take one of those.
staticnn::model! {
    pub struct NameTakesLaterField {
        input(4),
        layer1: dense(8),
        dense(2),
    }
}

staticnn::model! {
    pub struct NameTakesEarlierField {
        input(4),
        dense(8),
        layer0: dense(2),
    }
}

fn main() {}
