staticnn::model! {
    #[model(budget(flash = "1M", rom = "1M"))]
    pub struct Rom { input(4), dense(2) }
}

staticnn::model! {
    #[model(budget())]
    pub struct Nothing { input(4), dense(2) }
}

fn main() {}
