// Budgets that hold, and the memory figures as constants usable in `const` items.
use staticnn::prelude::*;

staticnn::model! {
    /// The MNIST MLP on a part with 512 KiB of flash and 16 KiB of RAM.
    #[model(budget(flash = "512K", ram = "16 KiB"))]
    pub struct Mnist {
        input(784),
        dense(128), relu,
        dense(10),
    }
}

staticnn::model! {
    #[model(scalar = f64, budget(flash = 1048576))]
    pub struct Cnn {
        input(1, 12, 12),
        conv2d(4, 3, padding = 1), relu,
        residual { conv2d(4, 3, padding = 1), relu },
        maxpool(2),
        flatten,
        dense(10),
    }
}

const _: () = assert!(Mnist::PARAM_BYTES <= 512 * 1024);
const _: () = assert!(Mnist::PARAM_BYTES == core::mem::size_of::<Mnist>());
const _: () = assert!(Mnist::ACTIVATION_BYTES + 256 <= 16 * 1024);
const _: () = assert!(Mnist::FORWARD_STACK_BYTES < Mnist::ACTIVATION_BYTES);
const _: () = assert!(Mnist::MACS == 784 * 128 + 128 * 10);
const _: () = assert!(Cnn::PARAM_BYTES == core::mem::size_of::<Cnn>());

static TABLE: [usize; 4] = [Cnn::PARAM_BYTES, Cnn::MACS, Cnn::ACTIVATION_BYTES, Cnn::FORWARD_STACK_BYTES];

fn main() {
    let model = Mnist::new_boxed(Init::HeUniform, 1);
    let _: MnistOutput = model.forward(&MnistInput::zeros());
    assert!(TABLE.iter().all(|&n| n > 0));
}
