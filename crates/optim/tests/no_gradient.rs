//! A parameter without a gradient (it took no part in the step) is left untouched, and its
//! state is neither created nor advanced — for every optimizer.

mod common;

use chainrule_optim::{
    Adam, AdamConfig, AdamW, AdamWConfig, GradientDescent, GradientDescentConfig, Optimizer,
    RmsProp, RmsPropConfig, Sgd, SgdConfig,
};
use common::*;

/// Every optimizer, with settings that would move any parameter they touch (momentum, decay).
fn every_optimizer() -> Vec<(&'static str, Box<dyn Optimizer<f64>>)> {
    vec![
        (
            "GradientDescent",
            Box::new(GradientDescent::new(GradientDescentConfig {
                learning_rate: 0.1,
            })),
        ),
        (
            "Sgd",
            Box::new(Sgd::new(SgdConfig {
                learning_rate: 0.1,
                momentum: 0.9,
                nesterov: true,
                weight_decay: 0.1,
                ..SgdConfig::default()
            })),
        ),
        (
            "RmsProp",
            Box::new(RmsProp::new(RmsPropConfig {
                momentum: 0.9,
                centered: true,
                weight_decay: 0.1,
                ..RmsPropConfig::default()
            })),
        ),
        (
            "Adam",
            Box::new(Adam::new(AdamConfig {
                weight_decay: 0.1,
                ..AdamConfig::default()
            })),
        ),
        (
            "AdamW",
            Box::new(AdamW::new(AdamWConfig {
                weight_decay: 0.5,
                ..AdamWConfig::default()
            })),
        ),
    ]
}

#[test]
fn a_parameter_without_a_gradient_is_untouched() {
    for (name, mut optimizer) in every_optimizer() {
        let (mut params, w, b) = weight_and_bias(&[1.0, -2.0], &[0.5, 0.25]);
        let b_before = params.value(b).clone();
        let w_before = params.value(w).to_vec();
        for _ in 0..3 {
            optimizer.apply(&mut params, &grads(&[(w, &[0.5, -1.0])]));
        }
        assert_ne!(params.value(w).to_vec(), w_before, "{name} did not move w");
        assert_eq!(params.value(b).to_vec(), vec![0.5, 0.25], "{name} moved b");
        // Not even rewritten: the bias still shares storage with the copy taken before.
        assert!(params.value(b).shares_storage(&b_before), "{name} wrote b");
    }
}

#[test]
fn no_state_is_created_for_a_parameter_without_a_gradient() {
    let (mut params, w, b) = weight_and_bias(&[1.0], &[1.0]);
    let only_w = grads(&[(w, &[0.5])]);

    let mut sgd = Sgd::new(SgdConfig {
        momentum: 0.9,
        ..SgdConfig::default()
    });
    let mut rmsprop = RmsProp::<f64>::default();
    let mut adam = Adam::<f64>::default();
    let mut adamw = AdamW::<f64>::default();
    sgd.apply(&mut params, &only_w);
    rmsprop.apply(&mut params, &only_w);
    adam.apply(&mut params, &only_w);
    adamw.apply(&mut params, &only_w);

    assert!(sgd.state(w).is_some() && sgd.state(b).is_none());
    assert!(rmsprop.state(w).is_some() && rmsprop.state(b).is_none());
    assert!(adam.state(w).is_some() && adam.state(b).is_none());
    assert!(adamw.state(w).is_some() && adamw.state(b).is_none());
}

#[test]
fn skipping_a_step_does_not_advance_the_state() {
    let (mut params, w, b) = weight_and_bias(&[1.0], &[1.0]);
    let mut adamw = AdamW::<f64>::default();
    adamw.apply(&mut params, &grads(&[(w, &[0.5]), (b, &[0.5])]));
    let moments = adamw.state(b).unwrap().clone();
    adamw.apply(&mut params, &grads(&[(w, &[0.5])]));
    assert_eq!(adamw.state(b).unwrap(), &moments);
    assert_eq!(adamw.state(w).unwrap().step, 2);

    let mut rmsprop = RmsProp::new(RmsPropConfig {
        momentum: 0.5,
        ..RmsPropConfig::default()
    });
    rmsprop.apply(&mut params, &grads(&[(w, &[0.5]), (b, &[0.5])]));
    let state = rmsprop.state(b).unwrap().clone();
    rmsprop.apply(&mut params, &grads(&[(w, &[0.5])]));
    assert_eq!(rmsprop.state(b).unwrap(), &state);
}
