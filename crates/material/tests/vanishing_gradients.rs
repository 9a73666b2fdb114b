//! The vanishing-gradients example, re-checked from what it reports: the plain sigmoid net's
//! first-layer gradient is many orders of magnitude below the residual net's, the plain net's
//! gradients shrink layer by layer on the way down, and the nets with skip connections end at a
//! lower training loss than the plain one.

use chainrule_material::vanishing_gradients;

fn norms(json: &serde_json::Value, key: &str) -> Vec<f64> {
    json[key]
        .as_array()
        .unwrap_or_else(|| panic!("{key} is not an array"))
        .iter()
        .map(|v| v.as_f64().expect("a number"))
        .collect()
}

#[test]
fn skip_connections_keep_the_gradient_and_train_lower() {
    let outcome = vanishing_gradients::run(&mut std::io::sink()).expect("the example runs");
    assert!(outcome.passed, "{}: {}", outcome.learned, outcome.check);
    let json = &outcome.json;

    let depth = json["depth"].as_u64().expect("depth") as usize;
    assert!(depth >= 20, "the networks must be deep: depth {depth}");
    let plain = norms(json, "plain_gradient_norms");
    let residual = norms(json, "residual_gradient_norms");
    let highway = norms(json, "highway_gradient_norms");
    // One norm per sigmoid layer, plus the readout.
    for list in [&plain, &residual, &highway] {
        assert_eq!(list.len(), depth + 1);
        assert!(list.iter().all(|v| v.is_finite() && *v >= 0.0), "{list:?}");
    }

    // Six orders of magnitude between the first layers (measured: about 1e12).
    let ratio = residual[0] / plain[0];
    assert!(
        ratio >= 1e6,
        "residual/plain layer-1 gradient ratio {ratio:e}"
    );
    // With σ' ≤ 1/4 the plain net's gradient shrinks on the way down: layer 1 gets far less
    // than the last sigmoid layer, by at least a factor 2 per layer on average.
    let plain_decay = plain[depth - 1] / plain[0];
    assert!(
        plain_decay >= 2f64.powi(depth as i32 - 1),
        "plain net: layer {depth} / layer 1 gradient {plain_decay:e}"
    );
    // Through the skip paths the first layer keeps a usable gradient.
    assert!(
        residual[0] > 1e-3 && highway[0] > 1e-3,
        "{residual:?} {highway:?}"
    );

    let plain_loss = json["plain_loss"].as_f64().expect("plain_loss");
    let residual_loss = json["residual_loss"].as_f64().expect("residual_loss");
    let highway_loss = json["highway_loss"].as_f64().expect("highway_loss");
    // Lower by a wide margin, not by rounding: both reach at least a straight boundary's loss
    // (logistic regression: 0.264) while the plain net stays at ln 2 = 0.693.
    assert!(
        residual_loss < plain_loss - 0.3,
        "{residual_loss} vs {plain_loss}"
    );
    assert!(
        highway_loss < plain_loss - 0.3,
        "{highway_loss} vs {plain_loss}"
    );
    // The plain net learns nothing: it stays at the coin-toss loss ln 2 (balanced classes).
    assert!(
        (plain_loss - std::f64::consts::LN_2).abs() < 0.01,
        "plain loss {plain_loss}"
    );
}
