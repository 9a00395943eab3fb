staticnn::model! {
    #[model(budget(flash = "1M"), budget(ram = "16K"))]
    pub struct Twice { input(4), dense(2) }
}

staticnn::model! {
    #[model(budget(ram = "16K", ram = "32K"))]
    pub struct KeyTwice { input(4), dense(2) }
}

staticnn::model! {
    #[model(budget(flash = FLASH_SIZE))]
    pub struct Constant { input(4), dense(2) }
}

staticnn::model! {
    #[model(budget = "1M")]
    pub struct NotAList { input(4), dense(2) }
}

fn main() {}
