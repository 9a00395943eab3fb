// 401 920 + 33 024 bytes of parameters cross 420 KiB (430 080 bytes) at the second
// `dense`; a named layer is reported by name, nested layers count too.
staticnn::model! {
    #[model(budget(flash = "420 KiB", ram = "16K"))]
    pub struct Deeper {
        input(784),
        dense(128), relu,
        hidden: dense(64), relu,
        residual { dense(64), relu },
        dense(10),
    }
}

// The same bound in bytes, in `f64`: the first layer's 803 840 bytes are already over.
staticnn::model! {
    #[model(scalar = f64, budget(flash = 430080))]
    pub struct Wide {
        input(784),
        dense(128), relu,
        dense(10),
    }
}

fn main() {}
