//! The four MLPerf Tiny reference networks as `model!` declarations: exactly what the
//! TensorFlow Lite importer prints for the float files in `data/mlperf-tiny/`
//! (`cargo run --example tflite_import -- data/mlperf-tiny/FILE.tflite --name NAME`;
//! `tests/mlperf_tiny.rs` checks that it still does).
//!
//! - `Ad`: anomaly detection, the dense autoencoder (batch norm folded into the dense layers).
//! - `Ic`: image classification, ResNet-8 with strided 1×1 shortcuts.
//! - `Kws`: keyword spotting, DS-CNN (TensorFlow's asymmetric "same" padding in its first
//!   convolution: 4 rows above, 5 below).
//! - `Vww`: visual wake words, MobileNetV1 α = 0.25 on 96 × 96.
#![allow(dead_code)]

staticnn::model! {
    pub struct Ad {
        input(640),
        dense(128), relu,
        dense(128), relu,
        dense(128), relu,
        dense(128), relu,
        dense(8), relu,
        dense(128), relu,
        dense(128), relu,
        dense(128), relu,
        dense(128), relu,
        dense(640),
    }
}

staticnn::model! {
    pub struct Ic {
        input(3, 32, 32),
        conv2d(16, 3, padding = same), relu,
        residual {
            conv2d(16, 3, padding = same), relu,
            conv2d(16, 3, padding = same),
        },
        relu,
        residual {
            conv2d(32, 3, stride = 2, padding = same), relu,
            conv2d(32, 3, padding = same),
        } shortcut {
            conv2d(32, 1, stride = 2),
        },
        relu,
        residual {
            conv2d(64, 3, stride = 2, padding = same), relu,
            conv2d(64, 3, padding = same),
        } shortcut {
            conv2d(64, 1, stride = 2),
        },
        relu,
        avgpool(8),
        flatten,
        dense(10),
        softmax,
    }
}

staticnn::model! {
    pub struct Kws {
        input(1, 49, 10),
        conv2d(64, (10, 4), stride = 2, padding = same), relu,
        depthwise_conv2d(3, padding = same), relu,
        conv2d(64, 1), relu,
        depthwise_conv2d(3, padding = same), relu,
        conv2d(64, 1), relu,
        depthwise_conv2d(3, padding = same), relu,
        conv2d(64, 1), relu,
        depthwise_conv2d(3, padding = same), relu,
        conv2d(64, 1), relu,
        avgpool((25, 5)),
        flatten,
        dense(12),
        softmax,
    }
}

staticnn::model! {
    pub struct Vww {
        input(3, 96, 96),
        conv2d(8, 3, stride = 2, padding = same), relu,
        depthwise_conv2d(3, padding = same), relu,
        conv2d(16, 1), relu,
        depthwise_conv2d(3, stride = 2, padding = same), relu,
        conv2d(32, 1), relu,
        depthwise_conv2d(3, padding = same), relu,
        conv2d(32, 1), relu,
        depthwise_conv2d(3, stride = 2, padding = same), relu,
        conv2d(64, 1), relu,
        depthwise_conv2d(3, padding = same), relu,
        conv2d(64, 1), relu,
        depthwise_conv2d(3, stride = 2, padding = same), relu,
        conv2d(128, 1), relu,
        depthwise_conv2d(3, padding = same), relu,
        conv2d(128, 1), relu,
        depthwise_conv2d(3, padding = same), relu,
        conv2d(128, 1), relu,
        depthwise_conv2d(3, padding = same), relu,
        conv2d(128, 1), relu,
        depthwise_conv2d(3, padding = same), relu,
        conv2d(128, 1), relu,
        depthwise_conv2d(3, padding = same), relu,
        conv2d(128, 1), relu,
        depthwise_conv2d(3, stride = 2, padding = same), relu,
        conv2d(256, 1), relu,
        depthwise_conv2d(3, padding = same), relu,
        conv2d(256, 1), relu,
        avgpool(3),
        flatten,
        dense(2),
        softmax,
    }
}
