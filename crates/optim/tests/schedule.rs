//! Learning-rate schedules against their closed forms: StepLR's `base·γ^⌊epoch/step⌋` and
//! CosineAnnealingLR's `η_min + (base − η_min)(1 + cos(π·epoch/T_max))/2`.

use chainrule_optim::{
    set_learning_rate_for_epoch, Adam, AdamConfig, CosineAnnealing, LearningRateSchedule,
    Optimizer, StepDecay,
};

#[test]
fn step_decay_matches_steplr() {
    let schedule = StepDecay::new(3, 0.5f64);
    // Epochs 0–2: 0.8; 3–5: 0.4; 6–8: 0.2; 9: 0.1.
    let expected = [0.8, 0.8, 0.8, 0.4, 0.4, 0.4, 0.2, 0.2, 0.2, 0.1];
    for (epoch, &rate) in expected.iter().enumerate() {
        let actual = schedule.learning_rate(0.8, epoch);
        assert!(
            (actual - rate).abs() < 1e-15,
            "epoch {epoch}: {actual} vs {rate}"
        );
    }
    // PyTorch's default gamma, 0.1, over 100 epochs with step 30: epoch 95 is 3 decays in.
    let steplr = StepDecay::new(30, 0.1f64);
    assert!((steplr.learning_rate(1.0, 95) - 1e-3).abs() < 1e-15);
}

#[test]
fn cosine_annealing_matches_its_closed_form() {
    let (base, eta_min, t_max) = (0.1, 0.01, 8);
    let schedule = CosineAnnealing::new(t_max, eta_min);
    // cos(π·e/8) at e = 0, 2, 4, 6, 8 is 1, √2/2, 0, −√2/2, −1.
    let half_root_two = 2f64.sqrt() / 2.0;
    let expected = [
        (0, base),
        (2, eta_min + (base - eta_min) * (1.0 + half_root_two) / 2.0),
        (4, eta_min + (base - eta_min) / 2.0), // 0.055
        (6, eta_min + (base - eta_min) * (1.0 - half_root_two) / 2.0),
        (8, eta_min),
        // Past T_max the closed form climbs back, as PyTorch's does.
        (12, eta_min + (base - eta_min) / 2.0),
        (16, base),
    ];
    for (epoch, rate) in expected {
        let actual = schedule.learning_rate(base, epoch);
        assert!(
            (actual - rate).abs() < 1e-15,
            "epoch {epoch}: {actual} vs {rate}"
        );
    }
    assert!((schedule.learning_rate(base, 4) - 0.055).abs() < 1e-15);
}

#[test]
fn cosine_annealing_decreases_monotonically_to_t_max() {
    let schedule = CosineAnnealing::new(20, 0.0);
    let rates: Vec<f64> = (0..=20).map(|e| schedule.learning_rate(1.0, e)).collect();
    assert!(rates.windows(2).all(|w| w[1] < w[0]));
    assert!(rates[20].abs() < 1e-15);
}

#[test]
fn setting_the_rate_for_each_epoch() {
    let base = 0.01;
    let mut optimizer: Box<dyn Optimizer<f64>> = Box::new(Adam::new(AdamConfig {
        learning_rate: base,
        ..AdamConfig::default()
    }));
    let schedule = StepDecay::new(2, 0.1);
    let mut seen = Vec::new();
    for epoch in 0..6 {
        let rate = set_learning_rate_for_epoch(&mut optimizer, &schedule, base, epoch);
        assert_eq!(rate, optimizer.learning_rate());
        seen.push(rate);
    }
    let expected = [0.01, 0.01, 0.001, 0.001, 0.0001, 0.0001];
    for (rate, want) in seen.iter().zip(expected) {
        assert!((rate - want).abs() < 1e-17, "{seen:?}");
    }
}

#[test]
fn a_closure_is_a_schedule() {
    let linear_warmup = |base: f32, epoch: usize| base * (epoch as f32 + 1.0).min(4.0) / 4.0;
    let mut optimizer = Adam::<f32>::default();
    set_learning_rate_for_epoch(&mut optimizer, &linear_warmup, 0.4, 1);
    assert!((optimizer.learning_rate() - 0.2).abs() < 1e-7);
}

#[test]
#[should_panic(expected = "StepDecay: step_size must be at least 1")]
fn zero_step_size_is_refused() {
    StepDecay::new(0, 0.1f64);
}
