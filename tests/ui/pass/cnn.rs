// Every image layer, checked for shapes, numbers and tensor names.
use staticnn::prelude::*;

staticnn::model! {
    /// 1×12×12 → 4×12×12 → 4×6×6 → 8×3×4 (residual) → 8×1×2 → 16 → 3.
    pub struct Cnn {
        input(1, 12, 12),
        conv2d(4, 3, padding = 1), relu,
        maxpool(2, exact = true),
        conv2d(8, kernel = (3, 2), stride = 2, padding = 1),
        block: residual {
            conv2d(8, 3, padding = 1), relu,
            residual { conv2d(8, 1), tanh },
        },
        avgpool(3, stride = 1),
        flatten,
        dense(16 -> 3),
    }
}

staticnn::model! {
    pub struct Gap {
        input(3, 5, 4),
        conv2d(6, 3), leaky_relu,
        global_avgpool,
        dense(6 -> 2), softmax,
    }
}

fn main() {
    assert_eq!(Cnn::INPUT, 144);
    assert_eq!(Cnn::OUTPUT, 3);
    let model = Cnn::new_boxed(Init::HeUniform, 1);
    let _: SVector<f32, 3> = model.forward(&SVector::zeros());
    let mut names = Vec::new();
    model.visit(&mut |t| names.push(format!("{} {}", t.name, t.shape)));
    assert_eq!(
        names,
        [
            "0.weight [4, 1, 3, 3]",
            "0.bias [4]",
            "3.weight [8, 4, 3, 2]",
            "3.bias [8]",
            "block.0.weight [8, 8, 3, 3]",
            "block.0.bias [8]",
            "block.2.0.weight [8, 8, 1, 1]",
            "block.2.0.bias [8]",
            "7.weight [3, 16]",
            "7.bias [3]",
        ]
    );
    let mut cache = Gap::zeroed_cache::<2>();
    let gap = Gap::new_boxed(Init::PyTorch, 2);
    let probabilities = gap.forward_batch(&SMatrix::from_element(0.5), &mut cache);
    assert!((probabilities.column(0).sum() - 1.0).abs() < 1e-6);
}
