// A convolution composed by hand, without the macro: 28×28 with a 3×3 kernel and no
// padding gives 26×26, not 28×28.
use staticnn::nalgebra::SMatrix;
use staticnn::{Conv2d, Conv2dScratch, Layer};

type Conv = Conv2d<f32, 1, 28, 28, 16, 3, 3, 1, 1, 0, 0, 28, 28, 784, 12544, 9, 784>;

fn main() {
    let conv = Box::new(Conv::ZERO);
    let x = staticnn::zeroed_box::<SMatrix<f32, 784, 2>>();
    let mut y = staticnn::zeroed_box::<SMatrix<f32, 12544, 2>>();
    let mut scratch = staticnn::zeroed_box::<Conv2dScratch<f32, 784, 9, 16>>();
    conv.forward(&*x, &mut *y, &mut *scratch);
}
