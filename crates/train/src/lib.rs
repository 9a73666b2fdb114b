//! Training: data sets, splits, mini-batches, metrics, the fit loop and weight files.

#![warn(missing_docs)]
