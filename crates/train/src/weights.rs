//! Weight files: a [`ParamStore`] saved as, and loaded from, a safetensors file — the format
//! PyTorch (`safetensors.torch.load_file`), candle and burn read.
//!
//! Each parameter is one tensor under its own name, `F32` or `F64` as the store's float type,
//! little-endian, row-major, with its shape. The file's `__metadata__` string map holds the
//! caller's entries (the architecture, say) and, under keys starting `chainrule.`, the order of
//! the parameters and whether each is a weight or a bias (`"chainrule.param.0": "weight
//! dense1.weight"`), since the format itself keeps neither.
//!
//! Saving is atomic ([`crate::write_atomically`]). Loading checks everything before it hands
//! anything back, and a missing, truncated or foreign file, a tensor of another float type or
//! a shape that differs from the store's is an error naming the file and the tensor.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use chainrule_autodiff::{Float, ParamKind, ParamStore, Tensor};
use safetensors::tensor::{Metadata as Header, TensorView};
use safetensors::{Dtype, SafeTensors};
use thiserror::Error;

/// The prefix of the metadata keys this crate writes; callers' keys may not use it.
const RESERVED_PREFIX: &str = "chainrule.";

/// The key of the `i`-th parameter's entry: its kind and name.
fn param_key(index: usize) -> String {
    format!("{RESERVED_PREFIX}param.{index}")
}

/// A weight file that cannot be written or read, naming the file and, where there is one, the
/// tensor.
#[derive(Debug, Error)]
pub enum WeightsError {
    /// The file could not be read (it is missing, say).
    #[error("{}: cannot read the weight file: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
    /// The file could not be written; an existing file at the path is unchanged.
    #[error("{}: cannot write the weight file: {source}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
    /// The file ends before the header or the data it announces.
    #[error("{}: the weight file is truncated: {detail}", path.display())]
    Truncated {
        /// The file.
        path: PathBuf,
        /// The first tensor whose data is cut off, if the header is whole.
        tensor: Option<String>,
        /// What is missing.
        detail: String,
    },
    /// The file is not a safetensors file, or a damaged one.
    #[error("{}: not a valid safetensors file: {reason}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A tensor's element type is not the store's float type.
    #[error(
        "{}: tensor {tensor:?} holds {found}, but the parameter store holds {expected}",
        path.display()
    )]
    WrongDtype {
        /// The file.
        path: PathBuf,
        /// The tensor.
        tensor: String,
        /// The file's dtype, as safetensors names it (`F64`, `BF16`, …).
        found: String,
        /// The store's dtype (`F32` or `F64`).
        expected: &'static str,
    },
    /// A tensor's shape differs from the parameter it should fill.
    #[error(
        "{}: tensor {tensor:?} has shape {found:?}, but the parameter has shape {expected:?}",
        path.display()
    )]
    ShapeMismatch {
        /// The file.
        path: PathBuf,
        /// The tensor.
        tensor: String,
        /// Its shape in the file.
        found: Vec<usize>,
        /// The parameter's shape.
        expected: Vec<usize>,
    },
    /// A tensor's kind (weight or bias) in the file differs from the parameter's.
    #[error(
        "{}: tensor {tensor:?} is a {} in the file, but the parameter is a {}",
        path.display(),
        found.as_str(),
        expected.as_str()
    )]
    KindMismatch {
        /// The file.
        path: PathBuf,
        /// The tensor.
        tensor: String,
        /// Its kind in the file.
        found: ParamKind,
        /// The parameter's kind.
        expected: ParamKind,
    },
    /// A parameter (or a tensor the metadata lists) is not in the file.
    #[error(
        "{}: no tensor named {tensor:?}; the file holds {}",
        path.display(),
        if available.is_empty() { "none".to_string() } else { available.join(", ") }
    )]
    MissingTensor {
        /// The file.
        path: PathBuf,
        /// The tensor looked for.
        tensor: String,
        /// The tensors the file does hold.
        available: Vec<String>,
    },
    /// The file holds a tensor that is not a parameter of the store (or not in its metadata).
    #[error("{}: tensor {tensor:?} is not a parameter of the store", path.display())]
    UnexpectedTensor {
        /// The file.
        path: PathBuf,
        /// The tensor.
        tensor: String,
    },
    /// A metadata entry cannot be written, or this crate's entries in a file are malformed.
    #[error("{}: metadata key {key:?}: {reason}", path.display())]
    BadMetadata {
        /// The file.
        path: PathBuf,
        /// The key.
        key: String,
        /// What is wrong.
        reason: String,
    },
    /// A parameter's name cannot be a tensor name in a safetensors file.
    #[error("{}: parameter {name:?} cannot be saved: {reason}", path.display())]
    BadName {
        /// The file.
        path: PathBuf,
        /// The name.
        name: String,
        /// Why.
        reason: &'static str,
    },
}

/// What a weight file holds: the parameters, in their saved order with their kinds, and the
/// caller's metadata.
pub struct WeightFile<T> {
    /// The parameters.
    pub params: ParamStore<T>,
    /// The caller's metadata entries (this crate's own `chainrule.` entries left out).
    pub metadata: BTreeMap<String, String>,
}

impl<T: Float> std::fmt::Debug for WeightFile<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WeightFile")
            .field("params", &self.params)
            .field("metadata", &self.metadata)
            .finish()
    }
}

/// Saves every parameter of `params` and the caller's `metadata` (keys must not start with
/// `chainrule.`) to a safetensors file at `path`, atomically: a failed save leaves any existing
/// file as it was and no temporary file behind.
///
/// # Errors
/// [`WeightsError::BadMetadata`] for a reserved key, [`WeightsError::BadName`] for a parameter
/// named `__metadata__` or with an empty name, [`WeightsError::Write`] when writing fails.
///
/// ```
/// use std::collections::BTreeMap;
/// use chainrule_autodiff::{ParamKind, ParamStore, Tensor};
/// use chainrule_train::{load_weights, save_weights};
/// let mut params = ParamStore::new();
/// params.insert("dense.weight", Tensor::from_vec(vec![0.5f32, -1.0], &[2, 1]), ParamKind::Weight);
/// params.insert("dense.bias", Tensor::from_vec(vec![0.25f32], &[1]), ParamKind::Bias);
/// let metadata = BTreeMap::from([("architecture".to_string(), "2→1".to_string())]);
/// let path = std::env::temp_dir().join("chainrule-doc-weights.safetensors");
/// save_weights(&path, &params, &metadata).unwrap();
///
/// let file = load_weights::<f32>(&path).unwrap();
/// assert_eq!(file.metadata, metadata);
/// let id = file.params.id("dense.bias").unwrap();
/// assert_eq!(file.params.kind(id), ParamKind::Bias);
/// assert_eq!(file.params.value(id).to_vec(), vec![0.25]);
/// # std::fs::remove_file(&path).unwrap();
/// ```
pub fn save_weights<T: Float>(
    path: impl AsRef<Path>,
    params: &ParamStore<T>,
    metadata: &BTreeMap<String, String>,
) -> Result<(), WeightsError> {
    let path = path.as_ref();
    let bytes = encode_weights(path, params, metadata)?;
    crate::write_atomically(path, &bytes).map_err(|source| WeightsError::Write {
        path: path.to_path_buf(),
        source,
    })
}

/// The bytes [`save_weights`] writes, without writing them: for a caller that writes several
/// files all or none ([`crate::write_all_or_none`]). `path` only names the file in errors.
///
/// # Errors
/// As [`save_weights`], except [`WeightsError::Write`].
pub fn encode_weights<T: Float>(
    path: &Path,
    params: &ParamStore<T>,
    metadata: &BTreeMap<String, String>,
) -> Result<Vec<u8>, WeightsError> {
    let mut header: HashMap<String, String> = HashMap::new();
    for (key, value) in metadata {
        if key.starts_with(RESERVED_PREFIX) {
            return Err(WeightsError::BadMetadata {
                path: path.to_path_buf(),
                key: key.clone(),
                reason: format!(
                    "keys starting with {RESERVED_PREFIX:?} are reserved for chainrule"
                ),
            });
        }
        header.insert(key.clone(), value.clone());
    }

    let dtype = dtype_of::<T>();
    let mut encoded: Vec<(&str, Vec<u8>)> = Vec::with_capacity(params.len());
    for (id, name, parameter) in params.iter() {
        if name.is_empty() || name == "__metadata__" {
            return Err(WeightsError::BadName {
                path: path.to_path_buf(),
                name: name.to_string(),
                reason: "safetensors reserves \"__metadata__\" and needs a non-empty name",
            });
        }
        header.insert(
            param_key(id.0),
            format!("{} {name}", parameter.kind.as_str()),
        );
        encoded.push((name, encode(&parameter.value)));
    }
    let views: Vec<(&str, TensorView<'_>)> = encoded
        .iter()
        .zip(params.iter())
        .map(|((name, bytes), (_, _, parameter))| {
            let view = TensorView::new(dtype, parameter.value.shape().to_vec(), bytes)
                .expect("the bytes were encoded from this shape and dtype");
            (*name, view)
        })
        .collect();
    let header = (!header.is_empty()).then_some(header);
    safetensors::serialize(views, header).map_err(|e| WeightsError::Invalid {
        path: path.to_path_buf(),
        reason: format!("cannot encode the parameters: {e}"),
    })
}

/// Loads a weight file into a fresh store: the same names, order, kinds and values as were
/// saved, and the caller's metadata.
///
/// A safetensors file written elsewhere (by PyTorch, say) loads too: without chainrule's
/// entries its tensors come in file order, and a tensor whose name ends in `bias` is taken for
/// a bias, any other for a weight.
///
/// # Errors
/// A [`WeightsError`] naming the file — and the tensor, where one is at fault — for a missing
/// or unreadable file, a truncated file, a file that is not safetensors, a tensor whose dtype
/// is not `T`'s (`F32` for `f32`, `F64` for `f64`), or malformed chainrule metadata.
pub fn load_weights<T: Float>(path: impl AsRef<Path>) -> Result<WeightFile<T>, WeightsError> {
    read_file(path.as_ref()).map(|(file, _)| file)
}

/// Loads a weight file into an existing store (a freshly built model's): the file must hold
/// exactly the store's parameters, by name, with the same shapes (and kinds, when the file
/// records them). Nothing is changed unless everything matches. Returns the caller's metadata.
///
/// # Errors
/// As [`load_weights`], and [`WeightsError::MissingTensor`], [`WeightsError::UnexpectedTensor`],
/// [`WeightsError::ShapeMismatch`] or [`WeightsError::KindMismatch`] naming the tensor.
///
/// ```
/// use std::collections::BTreeMap;
/// use chainrule_autodiff::{ParamKind, ParamStore, Tensor};
/// use chainrule_train::{load_weights_into, save_weights, WeightsError};
/// let mut trained = ParamStore::new();
/// trained.insert("w", Tensor::from_vec(vec![1.5f64, 2.5], &[2]), ParamKind::Weight);
/// let path = std::env::temp_dir().join("chainrule-doc-weights-into.safetensors");
/// save_weights(&path, &trained, &BTreeMap::new()).unwrap();
///
/// let mut fresh = ParamStore::new();
/// let w = fresh.insert("w", Tensor::<f64>::zeros(&[2]), ParamKind::Weight);
/// load_weights_into(&path, &mut fresh).unwrap();
/// assert_eq!(fresh.value(w).to_vec(), vec![1.5, 2.5]);
///
/// let mut other = ParamStore::new();
/// other.insert("w", Tensor::<f64>::zeros(&[3]), ParamKind::Weight);
/// let err = load_weights_into(&path, &mut other).unwrap_err();
/// assert!(matches!(err, WeightsError::ShapeMismatch { .. }));
/// # std::fs::remove_file(&path).unwrap();
/// ```
pub fn load_weights_into<T: Float>(
    path: impl AsRef<Path>,
    params: &mut ParamStore<T>,
) -> Result<BTreeMap<String, String>, WeightsError> {
    let path = path.as_ref();
    let (file, kinds_recorded) = read_file::<T>(path)?;
    let available = || {
        file.params
            .iter()
            .map(|(_, name, _)| name.to_string())
            .collect()
    };
    let mut values = Vec::with_capacity(params.len());
    for (id, name, expected) in params.iter() {
        let Some(found_id) = file.params.id(name) else {
            return Err(WeightsError::MissingTensor {
                path: path.to_path_buf(),
                tensor: name.to_string(),
                available: available(),
            });
        };
        let found = file.params.value(found_id);
        if found.shape() != expected.value.shape() {
            return Err(WeightsError::ShapeMismatch {
                path: path.to_path_buf(),
                tensor: name.to_string(),
                found: found.shape().to_vec(),
                expected: expected.value.shape().to_vec(),
            });
        }
        let found_kind = file.params.kind(found_id);
        if kinds_recorded && found_kind != expected.kind {
            return Err(WeightsError::KindMismatch {
                path: path.to_path_buf(),
                tensor: name.to_string(),
                found: found_kind,
                expected: expected.kind,
            });
        }
        values.push((id, found.clone()));
    }
    if let Some((_, extra, _)) = file.params.iter().find(|(_, n, _)| params.id(n).is_none()) {
        return Err(WeightsError::UnexpectedTensor {
            path: path.to_path_buf(),
            tensor: extra.to_string(),
        });
    }
    for (id, value) in values {
        params.set_value(id, value);
    }
    Ok(file.metadata)
}

/// The safetensors dtype of the store's float type.
fn dtype_of<T: Float>() -> Dtype {
    match T::NAME {
        "f32" => Dtype::F32,
        "f64" => Dtype::F64,
        other => panic!("weight files hold f32 or f64 parameters, not {other}"),
    }
}

/// The tensor's elements as little-endian bytes of the store's float type.
fn encode<T: Float>(value: &Tensor<T>) -> Vec<u8> {
    let values = value.as_slice();
    match dtype_of::<T>() {
        Dtype::F32 => values
            .iter()
            // Exact: T is f32 here.
            .flat_map(|v| (v.to_f64_exact() as f32).to_le_bytes())
            .collect(),
        _ => values
            .iter()
            .flat_map(|v| v.to_f64_exact().to_le_bytes())
            .collect(),
    }
}

/// Little-endian bytes of the store's float type back into values.
fn decode<T: Float>(bytes: &[u8]) -> Vec<T> {
    match dtype_of::<T>() {
        Dtype::F32 => bytes
            .chunks_exact(4)
            .map(|b| T::of(f64::from(f32::from_le_bytes([b[0], b[1], b[2], b[3]]))))
            .collect(),
        _ => bytes
            .chunks_exact(8)
            .map(|b| {
                T::of(f64::from_le_bytes([
                    b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7],
                ]))
            })
            .collect(),
    }
}

/// The longest JSON header read: larger ones are taken for a foreign or damaged file (the
/// header of a model with a million parameters is a few kilobytes).
const MAX_HEADER: u64 = 100_000_000;

/// Reads and checks a whole weight file; also says whether the kinds came from the file's
/// metadata (rather than from the names).
fn read_file<T: Float>(path: &Path) -> Result<(WeightFile<T>, bool), WeightsError> {
    let bytes = read_framed(path)?;
    let invalid = |e: safetensors::SafeTensorError| WeightsError::Invalid {
        path: path.to_path_buf(),
        reason: e.to_string(),
    };
    let (_, header) = SafeTensors::read_metadata(&bytes).map_err(invalid)?;
    let tensors = SafeTensors::deserialize(&bytes).map_err(invalid)?;
    let (caller, listed) = split_metadata(path, &header)?;
    let kinds_recorded = !listed.is_empty();
    let order: Vec<(ParamKind, String)> = if kinds_recorded {
        listed
    } else {
        header
            .offset_keys()
            .into_iter()
            .map(|name| {
                let kind = if name.ends_with("bias") {
                    ParamKind::Bias
                } else {
                    ParamKind::Weight
                };
                (kind, name)
            })
            .collect()
    };

    let names: Vec<String> = tensors.names().iter().map(|n| n.to_string()).collect();
    let expected = dtype_of::<T>();
    let mut params = ParamStore::new();
    for (kind, name) in &order {
        let view = tensors
            .tensor(name)
            .map_err(|_| WeightsError::MissingTensor {
                path: path.to_path_buf(),
                tensor: name.clone(),
                available: names.clone(),
            })?;
        if view.dtype() != expected {
            return Err(WeightsError::WrongDtype {
                path: path.to_path_buf(),
                tensor: name.clone(),
                found: format!("{:?}", view.dtype()),
                expected: if expected == Dtype::F32 { "F32" } else { "F64" },
            });
        }
        let value = Tensor::from_vec(decode(view.data()), view.shape());
        params.insert(name.clone(), value, *kind);
    }
    if let Some(extra) = names.iter().find(|n| params.id(n).is_none()) {
        return Err(WeightsError::UnexpectedTensor {
            path: path.to_path_buf(),
            tensor: extra.clone(),
        });
    }
    Ok((
        WeightFile {
            params,
            metadata: caller,
        },
        kinds_recorded,
    ))
}

/// Reads the file's bytes, checking its framing as it goes, so that no more is read (or
/// allocated) than the header announces: the 8-byte header length, a header of at most
/// [`MAX_HEADER`] bytes, then exactly the tensor data the header describes. A device or pipe
/// that never ends (`/dev/zero`) is refused after its first bytes, and a truncated file is told
/// apart from a foreign one, with the first tensor cut off named.
fn read_framed(path: &Path) -> Result<Vec<u8>, WeightsError> {
    let read_error = |source: std::io::Error| WeightsError::Read {
        path: path.to_path_buf(),
        source,
    };
    let truncated = |tensor: Option<String>, detail: String| WeightsError::Truncated {
        path: path.to_path_buf(),
        tensor,
        detail,
    };
    let invalid = |reason: String| WeightsError::Invalid {
        path: path.to_path_buf(),
        reason,
    };
    let mut file = std::fs::File::open(path).map_err(read_error)?;
    if file.metadata().map_err(read_error)?.is_dir() {
        return Err(read_error(std::io::Error::new(
            std::io::ErrorKind::IsADirectory,
            "it is a directory",
        )));
    }
    let mut bytes = Vec::new();
    read_up_to(&mut file, 8, &mut bytes).map_err(read_error)?;
    if bytes.len() < 8 {
        return Err(truncated(
            None,
            format!(
                "it has {} bytes, fewer than the 8 that give the header's length",
                bytes.len()
            ),
        ));
    }
    let length = u64::from_le_bytes(bytes[..8].try_into().expect("8 bytes"));
    if length > MAX_HEADER {
        return Err(invalid(
            "it does not start with a header length followed by a JSON header".to_string(),
        ));
    }
    read_up_to(&mut file, length, &mut bytes).map_err(read_error)?;
    let rest = &bytes[8..];
    if rest.first().is_some_and(|&b| b != b'{') {
        return Err(invalid(
            "it does not start with a header length followed by a JSON header".to_string(),
        ));
    }
    if (rest.len() as u64) < length {
        return Err(truncated(
            None,
            format!(
                "the header should be {length} bytes long, but the file ends after {}",
                rest.len()
            ),
        ));
    }
    let header: Header = serde_json::from_slice(rest)
        .map_err(|e| invalid(format!("the header is not valid: {e}")))?;
    let needed = header.data_len();
    // One byte more than announced, to tell a file with trailing bytes from an exact one.
    let start = bytes.len();
    read_up_to(&mut file, needed as u64 + 1, &mut bytes).map_err(read_error)?;
    let data = bytes.len() - start;
    if data < needed {
        let cut = header
            .offset_keys()
            .into_iter()
            .find(|name| header.info(name).is_some_and(|i| i.data_offsets.1 > data));
        let detail = match &cut {
            Some(name) => {
                let (start, end) = header.info(name).map_or((0, 0), |i| i.data_offsets);
                format!(
                    "tensor {name:?} needs bytes {start}..{end} of the data, but the data ends \
                     after {data} of the {needed} bytes the header announces"
                )
            }
            None => format!("the data has {data} of the {needed} bytes the header announces"),
        };
        return Err(truncated(cut, detail));
    }
    if data > needed {
        let after = file
            .metadata()
            .map_or(0, |m| m.len())
            .saturating_sub(bytes.len() as u64 - 1);
        return Err(invalid(if after > 0 {
            format!("{after} bytes follow the last tensor's data")
        } else {
            "more bytes follow the last tensor's data".to_string()
        }));
    }
    Ok(bytes)
}

/// Appends at most `limit` bytes of `file` to `bytes` (fewer at its end). Memory grows with
/// what is actually read, never with what a header merely announces.
fn read_up_to(file: &mut std::fs::File, limit: u64, bytes: &mut Vec<u8>) -> std::io::Result<()> {
    use std::io::Read;
    file.take(limit).read_to_end(bytes).map(|_| ())
}

/// Separates the caller's metadata from this crate's parameter entries, which it parses into
/// (kind, name) in saved order.
#[allow(clippy::type_complexity)]
fn split_metadata(
    path: &Path,
    header: &Header,
) -> Result<(BTreeMap<String, String>, Vec<(ParamKind, String)>), WeightsError> {
    let mut caller = BTreeMap::new();
    let mut entries = BTreeMap::new();
    for (key, value) in header.metadata().iter().flatten() {
        if key.starts_with(RESERVED_PREFIX) {
            entries.insert(key.clone(), value.clone());
        } else {
            caller.insert(key.clone(), value.clone());
        }
    }
    let bad = |key: &str, reason: String| WeightsError::BadMetadata {
        path: path.to_path_buf(),
        key: key.to_string(),
        reason,
    };
    let count = entries.len();
    let mut listed = Vec::with_capacity(count);
    let mut seen = std::collections::HashSet::new();
    for index in 0..count {
        let key = param_key(index);
        let Some(entry) = entries.remove(&key) else {
            // Entries are numbered 0, 1, …: a gap means an entry is missing or misnamed.
            let other = entries.keys().next().cloned().unwrap_or_default();
            return Err(bad(
                &other,
                format!(
                    "chainrule's entries must be {RESERVED_PREFIX}param.0 to .{}, but .{index} \
                     is missing",
                    count - 1
                ),
            ));
        };
        let parsed = entry
            .split_once(' ')
            .and_then(|(kind, name)| Some((ParamKind::parse(kind)?, name.to_string())));
        match parsed {
            Some((_, name)) if !seen.insert(name.clone()) => {
                return Err(bad(
                    &key,
                    format!("the parameter {name:?} is listed a second time"),
                ))
            }
            Some(pair) => listed.push(pair),
            None => {
                return Err(bad(
                    &key,
                    format!("expected \"weight NAME\" or \"bias NAME\", found {entry:?}"),
                ))
            }
        }
    }
    Ok((caller, listed))
}
