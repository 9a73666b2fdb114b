//! The optimizers example, checked from outside: all six optimizers report a loss after the same
//! number of updates, each below the common starting loss, and the adaptive ones (RMSProp, Adam,
//! AdamW) end below plain gradient descent.

use chainrule_material::optimizers;

#[test]
fn every_optimizer_lowers_the_loss_and_the_adaptive_ones_beat_gradient_descent() {
    let outcome = optimizers::run(&mut std::io::sink()).unwrap();
    assert!(outcome.passed, "{}", outcome.check);
    let json = &outcome.json;
    for key in ["steps", "initial_loss", "final_loss"] {
        assert!(json.get(key).is_some(), "missing key {key}");
    }
    assert_eq!(json["steps"].as_u64().unwrap() as usize, optimizers::STEPS);
    let initial = json["initial_loss"].as_f64().unwrap();
    assert!(
        initial.is_finite() && initial > 0.0,
        "initial loss {initial}"
    );

    let final_loss = json["final_loss"].as_object().unwrap();
    let names = ["gd", "sgd", "momentum", "rmsprop", "adam", "adamw"];
    assert_eq!(final_loss.len(), names.len());
    let loss = |name: &str| final_loss[name].as_f64().unwrap();
    for name in names {
        let after = loss(name);
        assert!(
            after.is_finite() && after > 0.0 && after < initial,
            "{name}: {initial} → {after}"
        );
    }
    for name in ["rmsprop", "adam", "adamw"] {
        assert!(
            loss(name) < loss("gd"),
            "{name} {} vs gd {}",
            loss(name),
            loss("gd")
        );
    }

    // Every curve starts at the same initial loss (same initial weights) and ends at the
    // reported final loss.
    let curves = json["loss_at_checkpoints"].as_object().unwrap();
    for name in names {
        let curve: Vec<f64> = serde_json::from_value(curves[name].clone()).unwrap();
        assert_eq!(curve[0], initial, "{name}");
        assert_eq!(*curve.last().unwrap(), loss(name), "{name}");
    }
}
