//! The eight workloads, each as WORKLOADS.md defines it, returning the line to print.

use std::time::Instant;

use chainrule_autodiff::{Conv2dOptions, Graph, ParamStore, Pool2dOptions, Tensor};
use chainrule_layers::{
    losses::mean_squared_error, Activation, Conv2d, Dense, Flatten, Lstm, MaxPool2d, Module,
    Sequential, Unflatten,
};
use chainrule_material::micrograd;
use chainrule_optim::{Adam, AdamConfig, Optimizer};
use chainrule_train::{
    accuracy, batches, load_assignment, load_csv, predict, split_by_assignment, Task,
};
use rand::{rngs::StdRng, SeedableRng};

/// The median of some measurements.
pub fn median(values: &[f64]) -> f64 {
    micrograd::median(values)
}

/// Runs `f` once to warm up, then `runs` times, returning each run's seconds.
fn timed(runs: usize, f: impl FnMut()) -> Vec<f64> {
    timed_after(1, runs, f)
}

/// Runs `f` `warm_ups` times, then `runs` times, returning each timed run's seconds.
fn timed_after(warm_ups: usize, runs: usize, mut f: impl FnMut()) -> Vec<f64> {
    for _ in 0..warm_ups {
        f();
    }
    (0..runs)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed().as_secs_f64()
        })
        .collect()
}

fn show(name: &str, values: &[f64], unit: &str) {
    let rounded: Vec<String> = values.iter().map(|v| format!("{v:.1}")).collect();
    eprintln!("{name}: runs [{}] {unit}", rounded.join(", "));
}

/// `scalar-mlp`: ms per step of micrograd's demo, every scalar a graph node.
pub fn scalar_mlp(runs: usize) -> Result<String, String> {
    let (points, labels) = micrograd::parse_moons(micrograd::MOONS_CSV)?;
    let mut medians = Vec::new();
    let mut accuracy = 0.0;
    timed(runs, || {
        let run = micrograd::train(&points, &labels, 100, 1337);
        medians.push(median(&run.step_ms));
        accuracy = run.accuracy;
    });
    let per_run = &medians[1..];
    show("scalar-mlp", per_run, "ms/step (median step of 100)");
    eprintln!("scalar-mlp: training accuracy {accuracy:.2}");
    Ok(format!(
        "scalar-mlp chainrule {:.2} ms/step",
        median(per_run)
    ))
}

/// `op-overhead`: ns per op of 20,000 small tensor–scalar ops and their backward.
///
/// One run takes a few milliseconds, so it runs at least 30 times after 10 warm-ups (the first
/// runs of a process pay for growing its heap); PyTorch's peer warms up once on runs a hundred
/// times longer.
pub fn op_overhead(runs: usize) -> Result<String, String> {
    let mut rng = StdRng::seed_from_u64(0);
    let x0 = Tensor::<f32>::rand_normal(&[16], 0.0, 1.0, &mut rng);
    let seconds = timed_after(10, runs.max(30), || {
        let g = Graph::with_capacity(20_003);
        let x = g.param(x0.clone());
        let mut y = x;
        for _ in 0..10_000 {
            y = y * 1.0001 + 0.0001;
        }
        let grads = y.sum().backward();
        std::hint::black_box(grads[x].as_slice()[0]);
    });
    let ns: Vec<f64> = seconds.iter().map(|s| s / 20_000.0 * 1e9).collect();
    show("op-overhead", &ns, "ns/op");
    Ok(format!("op-overhead chainrule {:.1} ns/op", median(&ns)))
}

/// `mlp-digits`: training samples per second of the digits MLP, with its test accuracy.
pub fn mlp_digits(runs: usize) -> Result<String, String> {
    train_on_digits("mlp-digits", runs, 32, |params, rng| {
        Sequential::new()
            .with(Dense::new(params, "dense1", 64, 128, Activation::Relu, rng))
            .with(Dense::new(
                params,
                "dense2",
                128,
                128,
                Activation::Relu,
                rng,
            ))
            .with(Dense::new(
                params,
                "output",
                128,
                10,
                Activation::Linear,
                rng,
            ))
    })
}

/// `mlp-wide`: ms per training step of a user's own wide MLP, 10→512→512→1 with ReLU, MSE
/// against random targets at batch 256, Adam at 1e-3: the graph built, forward, backward and
/// the update, as PyTorch's `zero_grad`, forward, `backward`, `step`.
///
/// A step is a few milliseconds; each is timed on its own, 50 of them after 5 warm-ups (the
/// first steps of a process grow its heap and fill Adam's moments).
pub fn mlp_wide(runs: usize) -> Result<String, String> {
    let seconds = timed_after(5, runs.max(50), wide_mlp_step(512));
    let ms: Vec<f64> = seconds.iter().map(|s| s * 1e3).collect();
    show("mlp-wide", &ms, "ms/step");
    Ok(format!("mlp-wide chainrule {:.3} ms/step", median(&ms)))
}

/// `mlp-wide`'s training step with hidden width `width` (10→width→width→1 at batch 256), as a
/// closure that runs one step each call on its own model, data and optimizer — `mlp-wide` at
/// 512, and the `scaling` curve's MLP at every width.
pub fn wide_mlp_step(width: usize) -> impl FnMut() {
    let (batch, inputs) = (256, 10);
    let mut rng = StdRng::seed_from_u64(0);
    let mut params = ParamStore::new();
    let model = Sequential::new()
        .with(Dense::new(
            &mut params,
            "dense1",
            inputs,
            width,
            Activation::Relu,
            &mut rng,
        ))
        .with(Dense::new(
            &mut params,
            "dense2",
            width,
            width,
            Activation::Relu,
            &mut rng,
        ))
        .with(Dense::new(
            &mut params,
            "output",
            width,
            1,
            Activation::Linear,
            &mut rng,
        ));
    let x0 = Tensor::<f32>::rand_normal(&[batch, inputs], 0.0, 1.0, &mut rng);
    let target0 = Tensor::<f32>::rand_normal(&[batch, 1], 0.0, 1.0, &mut rng);
    let mut adam = Adam::new(AdamConfig {
        learning_rate: 1e-3,
        ..AdamConfig::default()
    });
    move || {
        let grads = {
            let g = Graph::new();
            let (x, target) = (g.input(x0.clone()), g.input(target0.clone()));
            let loss = mean_squared_error(model.forward(&g, &params, x), target);
            params.collect_grads(&loss.backward())
        };
        adam.apply(&mut params, &grads);
    }
}

/// Trains a fresh model from `build` on the digits (the fixed split, pixels scaled to 0–1)
/// with Adam at 1e-3 for 20 epochs of batches of `batch_size`, a warm-up run and `runs` timed
/// ones: the median training samples per second, and the last run's test accuracy.
fn train_on_digits(
    name: &str,
    runs: usize,
    batch_size: usize,
    build: impl Fn(&mut ParamStore<f32>, &mut StdRng) -> Sequential<f32>,
) -> Result<String, String> {
    let data = |name: &str| chainrule_material::data_path(name);
    let all = load_csv::<f32>(data("digits.csv"), "target", Task::Classification)
        .map_err(|e| e.to_string())?;
    let assignment = load_assignment(data("digits_split.csv")).map_err(|e| e.to_string())?;
    let parts = split_by_assignment(&all, &assignment).map_err(|e| e.to_string())?;
    let scale =
        |d: &chainrule_train::Dataset<f32>| d.with_features(d.features().mul_scalar(1.0 / 16.0));
    let (train, test) = (scale(&parts.train), scale(&parts.test));
    let labels = train.classes().expect("classes").to_vec();
    let epochs = 20;
    let mut throughput = Vec::new();
    let mut last_accuracy = 0.0;
    for run in 0..=runs {
        let mut rng = StdRng::seed_from_u64(0);
        let mut params = ParamStore::new();
        let mut model = build(&mut params, &mut rng);
        let mut adam = Adam::new(AdamConfig {
            learning_rate: 1e-3,
            ..AdamConfig::default()
        });
        let start = Instant::now();
        for _ in 0..epochs {
            for batch in batches(&train, batch_size, Some(&mut rng)) {
                let grads = {
                    let g = Graph::new();
                    let x = g.input(batch.features.clone());
                    let picked: Vec<usize> = batch.rows.iter().map(|&r| labels[r]).collect();
                    let loss = model.forward(&g, &params, x).softmax_cross_entropy(&picked);
                    params.collect_grads(&loss.backward())
                };
                adam.apply(&mut params, &grads);
            }
        }
        let seconds = start.elapsed().as_secs_f64();
        let logits = predict(&mut model, &params, test.features(), 256);
        last_accuracy = accuracy(&logits, test.classes().expect("classes"));
        if run > 0 {
            throughput.push((train.len() * epochs) as f64 / seconds);
        }
    }
    show(name, &throughput, "samples/s");
    Ok(format!(
        "{name} chainrule {:.0} samples/s acc={last_accuracy:.3}",
        median(&throughput)
    ))
}

/// `matmul-1024`: GFLOP/s of C = A·B, sum, and backward (three products of 1024³).
///
/// A run takes about 40 ms, so it runs at least 15 times after 3 warm-ups: with 5 runs the
/// median moved by 20% from one invocation to the next on a shared machine.
pub fn matmul_1024(runs: usize) -> Result<String, String> {
    let mut rng = StdRng::seed_from_u64(0);
    let a0 = Tensor::<f32>::rand_normal(&[1024, 1024], 0.0, 1.0, &mut rng);
    let b0 = Tensor::<f32>::rand_normal(&[1024, 1024], 0.0, 1.0, &mut rng);
    let seconds = timed_after(3, runs.max(15), || {
        let g = Graph::new();
        let (a, b) = (g.param(a0.clone()), g.param(b0.clone()));
        let grads = a.matmul(b).sum().backward();
        std::hint::black_box(grads[a].as_slice()[0]);
    });
    let gflops: Vec<f64> = seconds
        .iter()
        .map(|s| 3.0 * 2.0 * 1024f64.powi(3) / s / 1e9)
        .collect();
    show("matmul-1024", &gflops, "GFLOP/s");
    Ok(format!(
        "matmul-1024 chainrule {:.1} GFLOP/s",
        median(&gflops)
    ))
}

/// `lstm-seq`: ms per batch of an LSTM over 50 steps, forward and backward through time.
pub fn lstm_seq(runs: usize) -> Result<String, String> {
    let (input, hidden, steps, batch) = (32, 128, 50, 32);
    let mut rng = StdRng::seed_from_u64(0);
    let mut params = ParamStore::new();
    let lstm = Lstm::new(&mut params, "lstm", input, hidden, &mut rng);
    let x0 = Tensor::<f32>::rand_normal(&[batch, steps, input], 0.0, 1.0, &mut rng);
    let target0 = Tensor::<f32>::rand_normal(&[batch, hidden], 0.0, 1.0, &mut rng);
    // As its peer in bench/torch_workloads.py times it: 3 warm-up batches, then at least 20.
    // With one warm-up, the first two timed batches (still committing the allocator's memory
    // and waking the helper threads, twice the steady time at 2 threads) were a fifth of ten.
    let seconds = timed_after(3, runs.max(20), || {
        let g = Graph::new();
        let x = g.input(x0.clone());
        let target = g.input(target0.clone());
        let last = lstm.last_hidden(&g, &params, x);
        let diff = last - target;
        let grads = (diff * diff).mean().backward();
        std::hint::black_box(grads.by_id(0).is_some());
    });
    let ms: Vec<f64> = seconds.iter().map(|s| s * 1e3).collect();
    show("lstm-seq", &ms, "ms/batch");
    Ok(format!("lstm-seq chainrule {:.2} ms/batch", median(&ms)))
}

/// `conv-digits`: training samples per second of a small CNN on the digits as 1×8×8 images,
/// with its test accuracy. Same data, split and scaling as `mlp-digits`; the rows of 64 pixels
/// become images inside the model (`Unflatten`), so the batches are the same tensors.
pub fn conv_digits(runs: usize) -> Result<String, String> {
    let same = Conv2dOptions::new().padding(1);
    train_on_digits("conv-digits", runs, 64, |params, rng| {
        Sequential::new()
            .with(Unflatten::new(1, &[1, 8, 8]))
            .with(Conv2d::new(params, "conv1", 1, 16, 3, same, rng))
            .with(Activation::Relu)
            .with(MaxPool2d::new(Pool2dOptions::new(2)))
            .with(Conv2d::new(params, "conv2", 16, 32, 3, same, rng))
            .with(Activation::Relu)
            .with(MaxPool2d::new(Pool2dOptions::new(2)))
            .with(Flatten::default())
            .with(Dense::new(
                params,
                "output",
                128,
                10,
                Activation::Linear,
                rng,
            ))
    })
}

/// `conv-32`: GFLOP/s of a 3×3 convolution 64→64 over [32, 64, 32, 32] with bias, sum, and
/// backward to the input, the filters and the bias: three passes of 2·N·O·C·H·W·9 FLOP (the
/// bias and the sum are not counted).
///
/// A run is 7.2 GFLOP, a few hundred milliseconds here; as for `matmul-1024` it runs at least 15
/// times after 3 warm-ups and the median is reported, the single runs moving by tens of percent
/// on a shared machine.
pub fn conv_32(runs: usize) -> Result<String, String> {
    let (n, c, o, h, w) = (32, 64, 64, 32, 32);
    let mut rng = StdRng::seed_from_u64(0);
    let x0 = Tensor::<f32>::rand_normal(&[n, c, h, w], 0.0, 1.0, &mut rng);
    let mut params = ParamStore::new();
    let conv = Conv2d::new(
        &mut params,
        "conv",
        c,
        o,
        3,
        Conv2dOptions::new().padding(1),
        &mut rng,
    );
    let seconds = timed_after(3, runs.max(15), || {
        let g = Graph::new();
        let x = g.param(x0.clone());
        let y = conv.forward(&g, &params, x);
        let grads = y.sum().backward();
        std::hint::black_box(grads[x].as_slice()[0]);
        std::hint::black_box(params.grad(&grads, conv.weight()).is_some());
    });
    let flop = 3.0 * 2.0 * (n * o * c * h * w * 9) as f64;
    let gflops: Vec<f64> = seconds.iter().map(|s| flop / s / 1e9).collect();
    show("conv-32", &gflops, "GFLOP/s");
    Ok(format!("conv-32 chainrule {:.1} GFLOP/s", median(&gflops)))
}
