staticnn::model! {
    #[model(budget(flash = "128X"))]
    pub struct UnknownUnit { input(4), dense(2) }
}

staticnn::model! {
    #[model(budget(flash = "16KB"))]
    pub struct Ambiguous { input(4), dense(2) }
}

staticnn::model! {
    #[model(budget(ram = "1.5M"))]
    pub struct Fraction { input(4), dense(2) }
}

staticnn::model! {
    #[model(budget(ram = "KiB"))]
    pub struct NoNumber { input(4), dense(2) }
}

fn main() {}
