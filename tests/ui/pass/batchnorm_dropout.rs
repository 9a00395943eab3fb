// Batch norm and dropout in every position they may take: after dense and convolution
// layers, in a residual block and its shortcut; the model trains and runs for inference.
use staticnn::prelude::*;

staticnn::model! {
    pub struct Net {
        input(2, 6, 6),
        conv2d(4, 3, padding = same), batchnorm2d(4), relu6,
        residual {
            depthwise_conv2d(3, padding = same), batchnorm, relu,
        } shortcut {
            batchnorm(momentum = 0.01, eps = 1e-3),
        },
        flatten,
        dropout(0.5),
        dense(8), batchnorm1d(8), relu,
        dropout(rate = 0.1),
        dense(3),
    }
}

fn main() {
    let mut net = Net::new_boxed(Init::HeUniform, 0);
    let mut trainer = Net::trainer::<4>();
    trainer.set_seed(7);
    let mut adam = Adam::new(AdamConfig::default());
    let x = SMatrix::<f32, 72, 4>::from_fn(|i, b| ((i * 7 + b * 3) % 11) as f32 / 11.0);
    let loss = trainer.step(&mut *net, &mut adam, &SoftmaxCrossEntropy, &x, &[0, 1, 2, 1], 3).unwrap();
    assert!(loss.is_finite());
    assert!(net.layer1.running_mean.iter().any(|&m| m != 0.0));
    let y = net.forward(&x.column(0).into_owned());
    assert!(y.iter().all(|v| v.is_finite()));
}
