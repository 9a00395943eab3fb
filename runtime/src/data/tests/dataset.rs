//! Tests of [`Dataset`]: its loading checks (input width, counts, label range), the MNIST
//! file names, in-memory datasets, subsets, batches, shuffled epochs, and the real MNIST
//! files.

use std::boxed::Box;
use std::path::Path;
use std::vec::Vec;

use rand::SeedableRng;
use rand::rngs::StdRng;

use super::*;

#[test]
fn dimensions_disagreeing_with_the_input_width() {
    let dir = TempDir::new("width");
    let images = dir.write("images", &idx(0x08, &[2, 20, 20], &[0; 800]));
    let labels = dir.write("labels", &idx(0x08, &[2], &[0, 1]));
    let e = err(Dataset::from_idx_files(&images, &labels, 784, 10));
    let message = names(&e, &images);
    assert!(message.contains("[20, 20] = 400 values") && message.contains("784"), "{message}");
    assert!(
        matches!(e, DataError::InputWidth { input_width: 784, ref item_dims, .. } if item_dims == &[20, 20])
    );
    assert!(matches!(Dataset::from_idx_files(&images, &labels, 0, 10), Err(DataError::ZeroFeatures)));
}

#[test]
fn count_mismatch_names_both_files() {
    let dir = TempDir::new("count");
    let images = dir.write("images", &u8_images());
    let labels = dir.write("labels", &idx(0x08, &[2], &[0, 1]));
    let e = err(load(&images, &labels));
    let message = names(&e, &images);
    names(&e, &labels);
    assert!(message.contains("3 images") && message.contains("2 labels"), "{message}");
    assert!(matches!(e, DataError::CountMismatch { image_count: 3, label_count: 2, .. }));
}

#[test]
fn label_outside_the_classes() {
    let dir = TempDir::new("label_range");
    let images = dir.write("images", &u8_images());
    let labels = dir.write("labels", &idx(0x08, &[3], &[0, 1, 7]));
    let e = err(load(&images, &labels));
    let message = names(&e, &labels);
    assert!(message.contains("sample 2 has label 7") && message.contains("3 classes"), "{message}");
    assert!(matches!(
        e,
        DataError::LabelOutOfRange { index: 2, label: 7, classes: 3, origin: DataSource::File(_) }
    ));
}

#[test]
fn mnist_lists_the_names_it_tried() {
    let dir = TempDir::new("mnist_missing");
    dir.write("t10k-images-idx3-ubyte", &u8_images());
    let e = err(Dataset::mnist(&dir.0, Split::Test));
    let message = e.to_string();
    match &e {
        DataError::MnistNotFound { split: Split::Test, tried, .. } => {
            // Only the labels are missing.
            assert_eq!(tried.len(), 4);
            for path in tried {
                assert!(message.contains(&path.display().to_string()), "{message}");
            }
            assert!(tried[1].ends_with("t10k-labels-idx1-ubyte.gz"));
        }
        other => panic!("{other:?}"),
    }
    dir.write("t10k-labels.idx1-ubyte.gz", &gzip(&u8_labels()));
    let test = Dataset::mnist(&dir.0, Split::Test).expect("MNIST files");
    assert_eq!(test.labels(), &LABELS);
    let e = err(Dataset::mnist(&dir.0, Split::Train));
    assert!(matches!(e, DataError::MnistNotFound { ref tried, .. } if tried.len() == 8));
}

#[test]
fn from_vecs_is_validated() {
    let images = vec![0.0f32; 12];
    assert!(Dataset::from_vecs(images.clone(), LABELS.to_vec(), 4, 3).is_ok());
    assert!(matches!(
        Dataset::from_vecs(images.clone(), LABELS.to_vec(), 5, 3),
        Err(DataError::InvalidShape { images_len: 12, labels_len: 3, features: 5 })
    ));
    assert!(matches!(Dataset::from_vecs(Vec::new(), Vec::new(), 0, 3), Err(DataError::ZeroFeatures)));
    let e = err(Dataset::from_vecs(images.clone(), LABELS.to_vec(), 4, 2));
    assert!(e.to_string().starts_with("in-memory dataset: sample 0 has label 2"), "{e}");
    assert!(matches!(
        e,
        DataError::LabelOutOfRange { origin: DataSource::Vecs, index: 0, label: 2, classes: 2 }
    ));
    let mut infinite = images;
    infinite[5] = f32::INFINITY;
    assert!(matches!(
        Dataset::from_vecs(infinite, LABELS.to_vec(), 4, 3),
        Err(DataError::NonFinite { origin: DataSource::Vecs, sample: 1, feature: 1, .. })
    ));
}

/// `n` samples of 3 features: sample `i` is `[i, i + 0.25, i + 0.5]`, label `i % 4`.
fn counting(n: usize) -> Dataset {
    let images = (0..n).flat_map(|i| [i as f32, i as f32 + 0.25, i as f32 + 0.5]).collect();
    let labels = (0..n).map(|i| (i % 4) as u8).collect();
    Dataset::from_vecs(images, labels, 3, 4).expect("consistent vectors")
}

#[test]
fn subset_and_class_counts() {
    let ds = counting(10);
    assert_eq!(ds.class_counts(), vec![3, 3, 2, 2]);
    let head = ds.subset(..4);
    assert_eq!((head.len(), head.features(), head.classes()), (4, 3, 4));
    assert_eq!(head.image(3), ds.image(3));
    let middle = ds.subset(2..=5);
    assert_eq!(middle.len(), 4);
    assert_eq!(middle.image(0), ds.image(2));
    assert_eq!(middle.labels(), &[2, 3, 0, 1]);
    assert_eq!(ds.subset(..1000).len(), 10);
    let (start, end) = (8, 3);
    assert!(ds.subset(start..end).is_empty());
    assert!(ds.subset(20..).is_empty());
}

#[test]
fn full_and_partial_batches() {
    let ds = counting(10);
    let mut batch = Batch::<f64, 3, 4>::zeroed_box();
    // Dirty the batch so that the zero padding is visible.
    batch.x.fill(9.0);
    batch.labels = [9; 4];
    ds.fill_batch(&[7, 0, 3, 9], &mut batch).expect("the indices fit the batch");
    assert_eq!(batch.len, 4);
    assert_eq!(batch.sample(0), &[7.0, 7.25, 7.5]);
    assert_eq!(batch.sample(3), &[9.0, 9.25, 9.5]);
    assert_eq!(batch.x[(1, 0)], 7.25, "samples are columns");
    assert_eq!(batch.labels, [3, 0, 3, 1]);

    ds.fill_batch(&[5, 2], &mut batch).expect("the indices fit the batch");
    assert_eq!(batch.len, 2);
    assert_eq!(&batch.x.as_slice()[..6], &[5.0, 5.25, 5.5, 2.0, 2.25, 2.5]);
    assert!(batch.x.as_slice()[6..].iter().all(|&v| v == 0.0));
    assert_eq!(batch.labels, [1, 2, 0, 0]);

    ds.fill_batch(&[], &mut batch).expect("the indices fit the batch");
    assert_eq!(batch.len, 0);
    assert!(batch.x.iter().all(|&v| v == 0.0));
}

#[test]
fn bad_batches_are_errors_and_leave_the_batch_alone() {
    let ds = counting(10);
    let mut wide = Batch::<f32, 4, 2>::zeroed_box();
    assert!(matches!(
        ds.fill_batch(&[0], &mut wide),
        Err(DataError::BatchWidth { batch_rows: 4, features: 3 })
    ));
    let mut batch = Batch::<f32, 3, 2>::zeroed_box();
    ds.fill_batch(&[1, 2], &mut batch).expect("the indices fit the batch");
    assert!(matches!(
        ds.fill_batch(&[0, 1, 2], &mut batch),
        Err(DataError::BatchOverflow { indices: 3, batch_size: 2 })
    ));
    assert!(matches!(
        ds.fill_batch(&[0, 10], &mut batch),
        Err(DataError::IndexOutOfRange { index: 10, len: 10 })
    ));
    assert_eq!((batch.len, batch.labels), (2, [1, 2]));
    assert_eq!(batch.sample(0), &[1.0, 1.25, 1.5]);
}

#[test]
fn seeded_shuffles_are_reproducible_permutations() {
    let ds = counting(100);
    let a = ds.shuffled_indices(&mut StdRng::seed_from_u64(7));
    let b = ds.shuffled_indices(&mut StdRng::seed_from_u64(7));
    let c = ds.shuffled_indices(&mut StdRng::seed_from_u64(8));
    assert_eq!(a, b);
    assert_ne!(a, c);
    assert_ne!(a, (0..100).collect::<Vec<_>>());
    let mut sorted = a.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, (0..100).collect::<Vec<_>>());
    // Successive epochs from one generator differ.
    let mut rng = StdRng::seed_from_u64(7);
    let first = ds.shuffled_indices(&mut rng);
    assert_eq!(first, a);
    assert_ne!(ds.shuffled_indices(&mut rng), first);
}

#[test]
fn an_epoch_covers_every_sample_once() {
    let ds = counting(10);
    let order = ds.shuffled_indices(&mut StdRng::seed_from_u64(1));
    let chunks: Vec<&[usize]> = ds.batches::<4>(&order).collect();
    assert_eq!(chunks.iter().map(|c| c.len()).collect::<Vec<_>>(), [4, 4, 2]);
    let mut batch: Box<Batch<f32, 3, 4>> = Batch::zeroed_box();
    let mut seen = Vec::new();
    for indices in ds.batches::<4>(&order) {
        ds.fill_batch(indices, &mut batch).expect("the indices fit the batch");
        for b in 0..batch.len {
            seen.push(batch.sample(b)[0] as usize);
            assert_eq!(batch.labels[b], (batch.sample(b)[0] as u32) % 4);
        }
    }
    assert_eq!(seen, order);
}

#[test]
fn real_mnist() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/mnist");
    let start = std::time::Instant::now();
    let train = Dataset::mnist(&dir, Split::Train).expect("MNIST files");
    let test = Dataset::mnist(&dir, Split::Test).expect("MNIST files");
    std::eprintln!("loaded MNIST in {:?}", start.elapsed());
    assert_eq!((train.len(), test.len()), (60_000, 10_000));
    assert_eq!((train.features(), test.features()), (784, 784));
    assert_eq!(train.class_counts(), [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]);
    assert_eq!(test.class_counts().iter().sum::<usize>(), 10_000);
    let (mut sum, mut in_range) = (0.0f64, true);
    for &v in train.images() {
        sum += f64::from(v);
        in_range &= (0.0..=1.0).contains(&v);
    }
    let mean = sum / train.images().len() as f64;
    assert!((mean - 33.32 / 255.0).abs() < 1e-3, "mean pixel {mean}");
    assert!(in_range, "a pixel is outside [0, 1]");
    // The first training image is a 5.
    assert_eq!(train.label(0), 5);
}
