staticnn::model! {
    #[model(budget(flash = -4096))]
    pub struct Negative { input(4), dense(2) }
}

staticnn::model! {
    #[model(budget(ram = 0))]
    pub struct Zero { input(4), dense(2) }
}

staticnn::model! {
    #[model(budget(flash = ""))]
    pub struct Empty { input(4), dense(2) }
}

staticnn::model! {
    #[model(budget(ram = "99999999999999999999M"))]
    pub struct Huge { input(4), dense(2) }
}

fn main() {}
