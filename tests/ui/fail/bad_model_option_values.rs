staticnn::model! {
    #[model(scalar = "f64")]
    pub struct Quoted { input(4), dense(2) }
}

staticnn::model! {
    #[model(crate = "not a path")]
    pub struct BadCrate { input(4), dense(2) }
}

staticnn::model! {
    #[model(scalar)]
    pub struct NoValue { input(4), dense(2) }
}

staticnn::model! {
    #[model]
    pub struct NoOptions { input(4), dense(2) }
}

fn main() {}
