//! Weight files: a save→load round trip is bit-exact, bad files are errors naming the file and
//! the tensor, and saving is atomic.

mod common;

use std::collections::BTreeMap;

use chainrule_autodiff::{Float, ParamKind, ParamStore, Tensor};
use chainrule_train::{load_weights, load_weights_into, predict, save_weights, WeightsError};
use common::{Scratch, TwoLayer};

fn metadata() -> BTreeMap<String, String> {
    BTreeMap::from([
        ("architecture".to_string(), "3→5→2, tanh".to_string()),
        ("epochs".to_string(), "12".to_string()),
    ])
}

fn bits<T: Float>(t: &Tensor<T>) -> Vec<u64> {
    t.as_slice()
        .iter()
        .map(|v| v.to_f64_exact().to_bits())
        .collect()
}

fn assert_same_store<T: Float>(a: &ParamStore<T>, b: &ParamStore<T>) {
    let describe = |s: &ParamStore<T>| {
        s.iter()
            .map(|(_, name, p)| {
                (
                    name.to_string(),
                    p.kind,
                    p.value.shape().to_vec(),
                    bits(&p.value),
                )
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(describe(a), describe(b));
}

fn round_trip<T: Float>(name: &str) {
    let dir = Scratch::new(name);
    let mut params = ParamStore::<T>::new();
    let mut model = TwoLayer::new(&mut params, 3, 5, 2, 9);
    // Awkward values survive too.
    let w = params.id("output.bias").unwrap();
    params.set_value(
        w,
        Tensor::from_vec(vec![T::of(-0.0), T::min_positive_value()], &[2]),
    );

    let path = dir.path("model.safetensors");
    save_weights(&path, &params, &metadata()).unwrap();
    let file = load_weights::<T>(&path).unwrap();
    assert_same_store(&params, &file.params);
    assert_eq!(file.metadata, metadata());
    let names: Vec<&str> = file.params.iter().map(|(_, n, _)| n).collect();
    assert_eq!(
        names,
        [
            "hidden.weight",
            "hidden.bias",
            "output.weight",
            "output.bias"
        ]
    );

    // A model built fresh (other random weights) and loaded predicts bit for bit the same.
    let x = Tensor::from_vec(
        (0..21).map(|i| T::of((i as f64 * 0.7).cos())).collect(),
        &[7, 3],
    );
    let before = predict(&mut model, &params, &x, 4);
    let mut fresh = ParamStore::<T>::new();
    let mut rebuilt = TwoLayer::new(&mut fresh, 3, 5, 2, 1234);
    assert_ne!(bits(&predict(&mut rebuilt, &fresh, &x, 4)), bits(&before));
    let loaded_metadata = load_weights_into(&path, &mut fresh).unwrap();
    assert_eq!(loaded_metadata, metadata());
    assert_eq!(bits(&predict(&mut rebuilt, &fresh, &x, 4)), bits(&before));
    assert_eq!(
        bits(&predict(&mut model, &file.params, &x, 4)),
        bits(&before)
    );
}

#[test]
fn f32_round_trip_is_bit_exact() {
    round_trip::<f32>("weights-f32");
}

#[test]
fn f64_round_trip_is_bit_exact() {
    round_trip::<f64>("weights-f64");
}

/// The header as JSON, read by hand as any other reader would.
fn header(bytes: &[u8]) -> serde_json::Value {
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    serde_json::from_slice(&bytes[8..8 + n]).unwrap()
}

#[test]
fn the_file_is_standard_safetensors() {
    let dir = Scratch::new("weights-format");
    let mut params = ParamStore::<f32>::new();
    params.insert(
        "fc.weight",
        Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]),
        ParamKind::Weight,
    );
    params.insert(
        "fc.bias",
        Tensor::from_vec(vec![0.5, -0.5], &[2]),
        ParamKind::Bias,
    );
    let path = dir.path("std.safetensors");
    save_weights(&path, &params, &metadata()).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let h = header(&bytes);
    assert_eq!(h["fc.weight"]["dtype"], "F32");
    assert_eq!(h["fc.weight"]["shape"], serde_json::json!([2, 3]));
    assert_eq!(h["fc.bias"]["shape"], serde_json::json!([2]));
    assert_eq!(h["__metadata__"]["architecture"], "3→5→2, tanh");
    assert_eq!(h["__metadata__"]["chainrule.param.0"], "weight fc.weight");
    assert_eq!(h["__metadata__"]["chainrule.param.1"], "bias fc.bias");
    // The data is little-endian f32, row-major, where the offsets say.
    let start = 8 + u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let [a, b] = [0, 1].map(|i| h["fc.weight"]["data_offsets"][i].as_u64().unwrap() as usize);
    let values: Vec<f32> = bytes[start + a..start + b]
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
        .collect();
    assert_eq!(values, [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
}

#[test]
fn a_file_written_elsewhere_loads_with_kinds_from_names() {
    let dir = Scratch::new("weights-foreign-ok");
    let w: Vec<u8> = [1.0f64, 2.0].iter().flat_map(|v| v.to_le_bytes()).collect();
    let b: Vec<u8> = 3.0f64.to_le_bytes().to_vec();
    let views = vec![
        (
            "layer.weight",
            safetensors::tensor::TensorView::new(safetensors::Dtype::F64, vec![1, 2], &w).unwrap(),
        ),
        (
            "layer.bias",
            safetensors::tensor::TensorView::new(safetensors::Dtype::F64, vec![1], &b).unwrap(),
        ),
    ];
    let bytes = safetensors::serialize(views, None).unwrap();
    let path = dir.write("torch.safetensors", bytes);
    let file = load_weights::<f64>(&path).unwrap();
    let bias = file.params.id("layer.bias").unwrap();
    let weight = file.params.id("layer.weight").unwrap();
    assert_eq!(file.params.kind(bias), ParamKind::Bias);
    assert_eq!(file.params.kind(weight), ParamKind::Weight);
    assert_eq!(file.params.value(weight).to_vec(), vec![1.0, 2.0]);
    assert!(file.metadata.is_empty());
}

fn saved_store(dir: &Scratch) -> (std::path::PathBuf, ParamStore<f64>) {
    let mut params = ParamStore::<f64>::new();
    TwoLayer::new(&mut params, 4, 6, 3, 5);
    let path = dir.path("model.safetensors");
    save_weights(&path, &params, &metadata()).unwrap();
    (path, params)
}

fn names_file(err: &WeightsError, path: &std::path::Path) {
    assert!(
        err.to_string().starts_with(&path.display().to_string()),
        "{err}"
    );
}

#[test]
fn a_missing_file_names_the_file() {
    let dir = Scratch::new("weights-missing");
    let path = dir.path("absent.safetensors");
    let err = load_weights::<f32>(&path).unwrap_err();
    assert!(matches!(err, WeightsError::Read { .. }));
    names_file(&err, &path);
}

#[test]
fn a_truncated_file_names_the_file_and_the_tensor_cut_off() {
    let dir = Scratch::new("weights-truncated");
    let (path, _) = saved_store(&dir);
    let bytes = std::fs::read(&path).unwrap();

    // Cut inside the data: the last tensor in the file (by offset) is the one cut.
    let h = header(&bytes);
    let last = h
        .as_object()
        .unwrap()
        .iter()
        .filter(|(k, _)| *k != "__metadata__")
        .max_by_key(|(_, v)| v["data_offsets"][1].as_u64().unwrap())
        .map(|(k, _)| k.clone())
        .unwrap();
    let cut = dir.write("cut.safetensors", &bytes[..bytes.len() - 10]);
    let err = load_weights::<f64>(&cut).unwrap_err();
    match &err {
        WeightsError::Truncated { tensor, .. } => {
            assert_eq!(tensor.as_deref(), Some(last.as_str()))
        }
        other => panic!("expected Truncated, got {other:?}"),
    }
    names_file(&err, &cut);
    assert!(err.to_string().contains(&format!("{last:?}")), "{err}");

    // Cut inside the header, and before the header's length.
    for keep in [40, 5, 0] {
        let cut = dir.write("short.safetensors", &bytes[..keep]);
        let err = load_weights::<f64>(&cut).unwrap_err();
        assert!(
            matches!(err, WeightsError::Truncated { tensor: None, .. }),
            "{keep}: {err:?}"
        );
        names_file(&err, &cut);
    }
}

#[test]
fn a_foreign_file_is_not_safetensors() {
    let dir = Scratch::new("weights-foreign");
    let cases: [(&str, Vec<u8>); 3] = [
        ("text.safetensors", b"row,split\n0,train\n1,test\n".to_vec()),
        ("json.safetensors", {
            let body = b"{\"a\": [1, 2, 3]}".to_vec();
            let mut bytes = (body.len() as u64).to_le_bytes().to_vec();
            bytes.extend(body);
            bytes
        }),
        ("trailing.safetensors", {
            let mut params = ParamStore::<f32>::new();
            params.insert("w", Tensor::zeros(&[2]), ParamKind::Weight);
            let path = dir.path("tmp.safetensors");
            save_weights(&path, &params, &BTreeMap::new()).unwrap();
            let mut bytes = std::fs::read(&path).unwrap();
            bytes.extend([0u8; 4]);
            bytes
        }),
    ];
    for (name, bytes) in cases {
        let path = dir.write(name, bytes);
        let err = load_weights::<f32>(&path).unwrap_err();
        assert!(
            matches!(err, WeightsError::Invalid { .. }),
            "{name}: {err:?}"
        );
        names_file(&err, &path);
    }
}

#[test]
fn another_float_type_is_an_error_naming_the_tensor() {
    let dir = Scratch::new("weights-dtype");
    let (path, _) = saved_store(&dir);
    let err = load_weights::<f32>(&path).unwrap_err();
    match &err {
        WeightsError::WrongDtype {
            tensor,
            found,
            expected,
            ..
        } => {
            assert_eq!(tensor, "hidden.weight");
            assert_eq!((found.as_str(), *expected), ("F64", "F32"));
        }
        other => panic!("expected WrongDtype, got {other:?}"),
    }
    names_file(&err, &path);
    assert!(err.to_string().contains("\"hidden.weight\""));
}

#[test]
fn a_store_of_another_shape_or_layout_is_an_error_and_is_left_alone() {
    let dir = Scratch::new("weights-shape");
    let (path, _) = saved_store(&dir);

    let mut wider = ParamStore::<f64>::new();
    TwoLayer::new(&mut wider, 4, 7, 3, 0);
    let before = wider.clone();
    let err = load_weights_into(&path, &mut wider).unwrap_err();
    match &err {
        WeightsError::ShapeMismatch {
            tensor,
            found,
            expected,
            ..
        } => {
            assert_eq!(tensor, "hidden.weight");
            assert_eq!(
                (found.as_slice(), expected.as_slice()),
                (&[4, 6][..], &[4, 7][..])
            );
        }
        other => panic!("expected ShapeMismatch, got {other:?}"),
    }
    names_file(&err, &path);
    assert_same_store(&before, &wider);

    let mut fewer = ParamStore::<f64>::new();
    common::Linear::new(&mut fewer, "hidden", 4, 6, 0);
    let err = load_weights_into(&path, &mut fewer).unwrap_err();
    assert!(
        matches!(&err, WeightsError::UnexpectedTensor { tensor, .. } if tensor == "output.weight"),
        "{err:?}"
    );

    let mut more = ParamStore::<f64>::new();
    TwoLayer::new(&mut more, 4, 6, 3, 0);
    more.insert("extra", Tensor::zeros(&[1]), ParamKind::Weight);
    let err = load_weights_into(&path, &mut more).unwrap_err();
    assert!(
        matches!(err, WeightsError::MissingTensor { ref tensor, .. } if tensor == "extra"),
        "{err:?}"
    );

    let mut swapped = ParamStore::<f64>::new();
    swapped.insert("hidden.weight", Tensor::zeros(&[4, 6]), ParamKind::Weight);
    swapped.insert("hidden.bias", Tensor::zeros(&[6]), ParamKind::Weight);
    swapped.insert("output.weight", Tensor::zeros(&[6, 3]), ParamKind::Weight);
    swapped.insert("output.bias", Tensor::zeros(&[3]), ParamKind::Bias);
    let err = load_weights_into(&path, &mut swapped).unwrap_err();
    assert!(
        matches!(err, WeightsError::KindMismatch { ref tensor, .. } if tensor == "hidden.bias"),
        "{err:?}"
    );
}

#[test]
fn saving_leaves_no_temporary_file_and_a_failed_save_clobbers_nothing() {
    let dir = Scratch::new("weights-atomic");
    let (path, params) = saved_store(&dir);
    assert_eq!(dir.listing(), ["model.safetensors"]);
    // Saving again over the file replaces it, still without leftovers.
    save_weights(&path, &params, &BTreeMap::new()).unwrap();
    assert_eq!(dir.listing(), ["model.safetensors"]);
    let good = std::fs::read(&path).unwrap();

    // Refused before writing: a reserved metadata key.
    let reserved = BTreeMap::from([("chainrule.param.0".to_string(), "x".to_string())]);
    let err = save_weights(&path, &params, &reserved).unwrap_err();
    assert!(matches!(err, WeightsError::BadMetadata { .. }));
    names_file(&err, &path);
    assert_eq!(std::fs::read(&path).unwrap(), good);

    // Failing while writing: the target is a directory, so the rename fails after the
    // temporary file was written; it is removed and the directory is untouched.
    let blocked = dir.path("blocked.safetensors");
    std::fs::create_dir(&blocked).unwrap();
    std::fs::write(blocked.join("keep"), "x").unwrap();
    let err = save_weights(&blocked, &params, &metadata()).unwrap_err();
    assert!(matches!(err, WeightsError::Write { .. }), "{err:?}");
    names_file(&err, &blocked);
    assert_eq!(dir.listing(), ["blocked.safetensors", "model.safetensors"]);
    assert_eq!(std::fs::read(blocked.join("keep")).unwrap(), b"x");
    assert_eq!(std::fs::read(&path).unwrap(), good);

    // A directory that does not exist: nothing is created.
    let nowhere = dir.path("no/such/dir/model.safetensors");
    let err = save_weights(&nowhere, &params, &metadata()).unwrap_err();
    assert!(matches!(err, WeightsError::Write { .. }));
    assert_eq!(dir.listing(), ["blocked.safetensors", "model.safetensors"]);
}

#[test]
fn an_empty_store_round_trips() {
    let dir = Scratch::new("weights-empty");
    let path = dir.path("empty.safetensors");
    save_weights(&path, &ParamStore::<f32>::new(), &BTreeMap::new()).unwrap();
    let file = load_weights::<f32>(&path).unwrap();
    assert!(file.params.is_empty() && file.metadata.is_empty());
}
