//! Numerically stable neural-network functions: log-sum-exp, softmax and log-softmax along an
//! axis, softmax cross-entropy, binary cross-entropy on logits, and one-hot encoding.
//!
//! They live apart from the plain elementwise and reduction kernels because each is arranged to
//! avoid overflow: the log-sum-exp family subtracts the maximum before exponentiating, and binary
//! cross-entropy only ever exponentiates `-|x|`. Logits of ±1000 give finite results in `f32`.

use super::layout::{max_or_nan, normalize_axis};
use super::reduce::reduced_shape;
use super::{Shape, Tensor};
use crate::Float;

impl<T: Float> Tensor<T> {
    /// `ln Σ exp(x)` along `axis`, computed as `m + ln Σ exp(x − m)` with `m` the maximum, so it
    /// never overflows. A slice that is all `-∞` (or empty) gives `-∞`; `keepdim` as for
    /// [`Tensor::sum_axis`]. Like `torch.logsumexp`.
    ///
    /// ```
    /// use chainrule_autodiff::Tensor;
    /// let t = Tensor::from_vec(vec![1000.0f32, 1000.0], &[2]);
    /// let lse = t.logsumexp(0, false).item();
    /// assert!((lse - (1000.0 + 2f32.ln())).abs() < 1e-3);
    /// ```
    #[track_caller]
    pub fn logsumexp(&self, axis: isize, keepdim: bool) -> Tensor<T> {
        let ax = normalize_axis(axis, self.rank(), "logsumexp");
        if let Some(lse) = self.logsumexp_of_rows(ax) {
            return Tensor::from_parts(lse, reduced_shape(self.shape(), ax, keepdim));
        }
        let max = self.fold_axis(ax, true, T::neg_infinity(), max_or_nan);
        // A slice whose maximum is ±∞ or NaN has that as its answer; contributing e^−∞ = 0 to
        // the sum keeps ∞ − ∞ from turning it into NaN.
        let mut shifted = self.zip_map(&max, "logsumexp", |x, m| {
            if m.is_finite() {
                x - m
            } else {
                T::neg_infinity()
            }
        });
        T::exp_in_place(shifted.data_mut());
        let sum = shifted.fold_axis(ax, true, T::zero(), |a, b| a + b);
        let lse = max.zip_map(&sum, "logsumexp", |m, s| {
            if m.is_finite() {
                m + s.ln()
            } else {
                m
            }
        });
        if keepdim {
            lse
        } else {
            let mut shape = Shape::from_slice(self.shape());
            shape.remove(ax);
            lse.reshape(&shape)
        }
    }

    /// `exp(x) / Σ exp(x)` along `axis`: each slice becomes a probability distribution. Computed
    /// as `exp(x − logsumexp(x))`, so it never overflows. Like `torch.softmax`.
    ///
    /// ```
    /// use chainrule_autodiff::Tensor;
    /// let p = Tensor::from_vec(vec![0.0f64, 0.0, 1000.0, 1000.0], &[2, 2]).softmax(-1);
    /// assert!(p.as_slice().iter().all(|&v| (v - 0.5).abs() < 1e-12));
    /// ```
    #[track_caller]
    pub fn softmax(&self, axis: isize) -> Tensor<T> {
        let ax = normalize_axis(axis, self.rank(), "softmax");
        if let Some(lse) = self.logsumexp_of_rows(ax) {
            let row = self.shape()[ax];
            let mut p = Vec::with_capacity(self.numel());
            for (xs, &l) in self.as_slice().chunks_exact(row).zip(&lse) {
                p.extend(xs.iter().map(|&x| x - l));
            }
            T::exp_in_place(&mut p);
            return Tensor::from_parts(p, Shape::from_slice(self.shape()));
        }
        let lse = self.logsumexp(axis, true);
        let mut p = self.zip_map(&lse, "softmax", |x, l| x - l);
        T::exp_in_place(p.data_mut());
        p
    }

    /// [`Tensor::logsumexp`] of each row, when `axis` is the last one and its rows are not
    /// empty: the same arithmetic in the same order as the general path (so the same bits),
    /// without the broadcasting passes and intermediate tensors. A classifier's `[N, C]` logits
    /// take this path twice a step (the loss, and the softmax of its gradient); through the
    /// general path, with rows of 10, it cost as much as the whole output layer's product.
    fn logsumexp_of_rows(&self, axis: usize) -> Option<Vec<T>> {
        let row = *self.shape().get(axis)?;
        if axis + 1 != self.rank() || row == 0 {
            return None;
        }
        let data = self.as_slice();
        let maxima: Vec<T> = data
            .chunks_exact(row)
            .map(|xs| xs.iter().fold(T::neg_infinity(), |m, &x| max_or_nan(m, x)))
            .collect();
        // As in `logsumexp`: a row whose maximum is ±∞ or NaN has that as its answer.
        let mut shifted = Vec::with_capacity(data.len());
        for (xs, &m) in data.chunks_exact(row).zip(&maxima) {
            if m.is_finite() {
                shifted.extend(xs.iter().map(|&x| x - m));
            } else {
                shifted.extend(xs.iter().map(|_| T::neg_infinity()));
            }
        }
        T::exp_in_place(&mut shifted);
        let lse = shifted
            .chunks_exact(row)
            .zip(maxima)
            .map(|(es, m)| {
                let sum = es.iter().fold(T::zero(), |s, &e| s + e);
                if m.is_finite() {
                    m + sum.ln()
                } else {
                    m
                }
            })
            .collect();
        Some(lse)
    }

    /// `x − logsumexp(x)` along `axis`: the logarithm of [`Tensor::softmax`], without computing
    /// the softmax first. Like `torch.log_softmax`.
    ///
    /// ```
    /// use chainrule_autodiff::Tensor;
    /// let l = Tensor::from_vec(vec![0.0f64, 0.0], &[2]).log_softmax(0);
    /// assert_eq!(l.to_vec(), vec![-(2f64.ln()), -(2f64.ln())]);
    /// ```
    #[track_caller]
    pub fn log_softmax(&self, axis: isize) -> Tensor<T> {
        let lse = self.logsumexp(axis, true);
        self.zip_map(&lse, "log_softmax", |x, l| x - l)
    }

    /// The mean cross-entropy between the softmax of each row of logits `[N, C]` and the class in
    /// `labels[row]`: the 0-d mean over rows of `logsumexp(row) − row[label]`. Like
    /// `torch.nn.functional.cross_entropy` with integer targets.
    ///
    /// # Panics
    /// When `self` is not 2-D, `labels.len()` is not `N`, or a label is not below `C`.
    ///
    /// ```
    /// use chainrule_autodiff::Tensor;
    /// let logits = Tensor::from_vec(vec![0.0f64, 0.0, 1000.0, -1000.0], &[2, 2]);
    /// let loss = logits.softmax_cross_entropy(&[1, 0]).item();
    /// // Row 0 is a coin flip (ln 2); row 1 is certain and right (0).
    /// assert!((loss - 2f64.ln() / 2.0).abs() < 1e-12);
    /// ```
    #[track_caller]
    pub fn softmax_cross_entropy(&self, labels: &[usize]) -> Tensor<T> {
        let [rows, classes] = *self.shape() else {
            shape_panic!(
                "softmax_cross_entropy: logits must be 2-D [N, C], got shape {:?}",
                self.shape()
            )
        };
        shape_assert!(
            labels.len() == rows,
            "softmax_cross_entropy: {} labels given for logits of shape {:?}",
            labels.len(),
            self.shape()
        );
        for &label in labels {
            shape_assert!(
                label < classes,
                "softmax_cross_entropy: label {label} is out of range for logits of shape {:?} \
                 ({classes} classes)",
                self.shape()
            );
        }
        let lse = self.logsumexp(-1, false);
        let logits = self.as_slice();
        let total: T = lse
            .as_slice()
            .iter()
            .zip(labels)
            .enumerate()
            .map(|(row, (&l, &label))| l - logits[row * classes + label])
            .sum();
        Tensor::scalar(total / T::of(rows as f64))
    }

    /// The mean binary cross-entropy between `sigmoid(self)` and `targets` in `[0, 1]`: the 0-d
    /// mean of `max(x, 0) − x·y + ln(1 + exp(−|x|))`, which equals
    /// `−y·ln σ(x) − (1 − y)·ln(1 − σ(x))` without overflowing. Like
    /// `torch.nn.functional.binary_cross_entropy_with_logits`.
    ///
    /// # Panics
    /// When the shapes differ.
    ///
    /// ```
    /// use chainrule_autodiff::Tensor;
    /// let logits = Tensor::from_vec(vec![0.0f64], &[1]);
    /// let targets = Tensor::from_vec(vec![1.0f64], &[1]);
    /// let loss = logits.binary_cross_entropy_with_logits(&targets).item();
    /// assert!((loss - 2f64.ln()).abs() < 1e-12);
    /// ```
    #[track_caller]
    pub fn binary_cross_entropy_with_logits(&self, targets: &Tensor<T>) -> Tensor<T> {
        shape_assert!(
            self.shape() == targets.shape(),
            "binary_cross_entropy_with_logits: shapes {:?} and {:?} differ",
            self.shape(),
            targets.shape()
        );
        let total: T = self
            .as_slice()
            .iter()
            .zip(targets.as_slice())
            .map(|(&x, &y)| x.max(T::zero()) - x * y + (-x.abs()).exp().ln_1p())
            .sum();
        Tensor::scalar(total / T::of(self.numel() as f64))
    }

    /// The rows of the `classes × classes` identity picked by `labels`: shape
    /// `[labels.len(), classes]`, with a 1 at `(row, labels[row])`. Like
    /// `torch.nn.functional.one_hot`.
    ///
    /// # Panics
    /// When a label is not below `classes`.
    ///
    /// ```
    /// use chainrule_autodiff::Tensor;
    /// let t = Tensor::<f32>::one_hot(&[2, 0], 3);
    /// assert_eq!(t.to_vec(), vec![0.0, 0.0, 1.0, 1.0, 0.0, 0.0]);
    /// ```
    #[track_caller]
    pub fn one_hot(labels: &[usize], classes: usize) -> Tensor<T> {
        let mut data = vec![T::zero(); labels.len() * classes];
        for (row, &label) in labels.iter().enumerate() {
            shape_assert!(
                label < classes,
                "one_hot: label {label} is out of range for {classes} classes"
            );
            data[row * classes + label] = T::one();
        }
        Tensor::from_parts(data, Shape::from_slice(&[labels.len(), classes]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(data: &[f64], shape: &[usize]) -> Tensor<f64> {
        Tensor::from_vec(data.to_vec(), shape)
    }

    #[test]
    fn rows_along_the_last_axis_give_the_general_paths_bits() {
        // The same values reduced along the last axis (the row path) and, transposed, along
        // the first (the general path): every bit equal, ±∞ and NaN rows included, in f32
        // (the vectorised exponential) and f64.
        let inf = f64::INFINITY;
        let values = [
            0.3,
            -1.7,
            2.5,
            0.0,
            11.0,
            -inf,
            -inf,
            -inf,
            -inf,
            -inf,
            4.0,
            inf,
            -2.0,
            1.0,
            0.5,
            f64::NAN,
            3.0,
            1.0,
            88.0,
            -88.0,
            1000.0,
            999.0,
            -1000.0,
            0.25,
            7.5,
        ];
        let rows = t(&values, &[5, 5]);
        let columns = rows.transpose(0, 1);
        let bits = |t: &Tensor<f64>| t.to_vec().iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(
            bits(&rows.logsumexp(-1, false)),
            bits(&columns.logsumexp(0, false))
        );
        assert_eq!(
            bits(&rows.softmax(-1)),
            bits(&columns.softmax(0).transpose(0, 1))
        );
        let (rows32, columns32) = (rows.cast::<f32>(), columns.cast::<f32>());
        let bits32 = |t: &Tensor<f32>| t.to_vec().iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(
            bits32(&rows32.logsumexp(-1, true)),
            bits32(&columns32.logsumexp(0, true).transpose(0, 1))
        );
        assert_eq!(
            bits32(&rows32.softmax(-1)),
            bits32(&columns32.softmax(0).transpose(0, 1))
        );
    }

    fn assert_close(actual: &[f64], expected: &[f64], tol: f64) {
        assert_eq!(actual.len(), expected.len(), "{actual:?} vs {expected:?}");
        for (x, y) in actual.iter().zip(expected) {
            assert!((x - y).abs() <= tol, "{actual:?} != {expected:?}");
        }
    }

    /// `ln Σ exp` straight from the definition, fine for moderate values.
    fn naive_lse(xs: &[f64]) -> f64 {
        xs.iter().map(|x| x.exp()).sum::<f64>().ln()
    }

    #[test]
    fn logsumexp_along_each_axis() {
        let x = t(&[1.0, 2.0, 3.0, -1.0, 0.5, 0.0], &[2, 3]);
        let rows = x.logsumexp(1, false);
        assert_eq!(rows.shape(), &[2]);
        assert_close(
            rows.as_slice(),
            &[naive_lse(&[1.0, 2.0, 3.0]), naive_lse(&[-1.0, 0.5, 0.0])],
            1e-12,
        );
        let cols = x.logsumexp(0, true);
        assert_eq!(cols.shape(), &[1, 3]);
        assert_close(
            cols.as_slice(),
            &[
                naive_lse(&[1.0, -1.0]),
                naive_lse(&[2.0, 0.5]),
                naive_lse(&[3.0, 0.0]),
            ],
            1e-12,
        );
    }

    #[test]
    fn logsumexp_extremes() {
        let big = Tensor::from_vec(vec![1000.0f32, 1000.0, -1000.0, -1000.0], &[2, 2]);
        let lse = big.logsumexp(-1, false);
        assert!(lse.all_finite());
        assert!((lse.as_slice()[0] - (1000.0 + 2f32.ln())).abs() < 1e-3);
        assert!((lse.as_slice()[1] - (-1000.0 + 2f32.ln())).abs() < 1e-3);

        let inf = f64::INFINITY;
        let x = t(&[-inf, -inf, -inf, 0.0, inf, 1.0], &[3, 2]);
        assert_eq!(x.logsumexp(1, false).to_vec(), vec![-inf, 0.0, inf]);
        assert_eq!(
            Tensor::<f64>::zeros(&[2, 0]).logsumexp(1, false).to_vec(),
            vec![-inf; 2]
        );
    }

    #[test]
    fn softmax_rows_sum_to_one() {
        let x = t(
            &[1.0, 2.0, 3.0, 1000.0, -1000.0, 0.0, 5.0, 5.0, 5.0],
            &[3, 3],
        );
        let p = x.softmax(-1);
        assert!(p.all_finite());
        for row in p.as_slice().chunks(3) {
            assert!((row.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        }
        let e: Vec<f64> = [1.0f64, 2.0, 3.0].iter().map(|v| v.exp()).collect();
        let z: f64 = e.iter().sum();
        assert_close(&p.as_slice()[..3], &[e[0] / z, e[1] / z, e[2] / z], 1e-12);
        assert_close(&p.as_slice()[3..6], &[1.0, 0.0, 0.0], 0.0);

        let q = x.softmax(0);
        for j in 0..3 {
            let column: f64 = (0..3).map(|i| q.get(&[i, j])).sum();
            assert!((column - 1.0).abs() < 1e-12);
        }
    }

    #[test]
    fn f32_softmax_and_logsumexp_agree_with_f64() {
        // f32 takes the vectorised exponential: values as close to the f64 ones as f32
        // arithmetic allows (the shifted arguments, up to 60 here, are rounded to f32 before
        // the exponential sees them), and the same infinities, zeros and NaN at the extremes.
        let inf = f64::INFINITY;
        let wide: Vec<f64> = (0..40).map(|i| (i as f64 * 2.7).sin() * 30.0).collect();
        let cases = [
            (wide.clone(), vec![4, 10]),
            (vec![-inf, -inf, -inf, 0.0, inf, 1.0, 3.0, -inf], vec![4, 2]),
            (
                vec![f64::NAN, 1.0, 1000.0, -1000.0, -100.0, 0.0],
                vec![3, 2],
            ),
        ];
        for (values, shape) in cases {
            // Both from the same f32 numbers, so that only the arithmetic differs.
            let values: Vec<f32> = values.iter().map(|&v| v as f32).collect();
            let x64 = Tensor::from_vec(values.iter().map(|&v| f64::from(v)).collect(), &shape);
            let x32 = Tensor::from_vec(values.clone(), &shape);
            let pairs = [
                (x64.softmax(-1), x32.softmax(-1)),
                (x64.logsumexp(-1, false), x32.logsumexp(-1, false)),
            ];
            let subnormal_step = f64::from(f32::from_bits(1));
            for (exact, fast) in pairs {
                for (&e, &f) in exact.as_slice().iter().zip(fast.as_slice()) {
                    let f = f64::from(f);
                    let same = (e.is_nan() && f.is_nan())
                        || e == f
                        || (e - f).abs() <= 1e-5 * e.abs() + 2.0 * subnormal_step;
                    assert!(same, "{values:?}: f64 {e}, f32 {f}");
                }
            }
        }
    }

    #[test]
    fn log_softmax_is_log_of_softmax() {
        let x = t(&[0.3, -1.2, 2.5, 0.0, 4.0, -3.0], &[3, 2]);
        for axis in [0, 1] {
            let expected: Vec<f64> = x.softmax(axis).as_slice().iter().map(|p| p.ln()).collect();
            assert_close(x.log_softmax(axis).as_slice(), &expected, 1e-12);
        }
        let extreme = Tensor::from_vec(vec![1000.0f32, -1000.0], &[1, 2]).log_softmax(1);
        assert_eq!(extreme.to_vec(), vec![0.0, -2000.0]);
    }

    #[test]
    fn cross_entropy_by_hand() {
        let x = t(&[1.0, 2.0, 3.0, 0.5, -0.5, 0.0], &[2, 3]);
        let expected =
            ((naive_lse(&[1.0, 2.0, 3.0]) - 1.0) + (naive_lse(&[0.5, -0.5, 0.0]) - 0.0)) / 2.0;
        let loss = x.softmax_cross_entropy(&[0, 2]);
        assert_eq!(loss.rank(), 0);
        assert!((loss.item() - expected).abs() < 1e-12);
    }

    #[test]
    fn cross_entropy_of_extreme_logits_is_finite_and_right() {
        let x = Tensor::from_vec(vec![1000.0f32, -1000.0, -1000.0, 1000.0], &[2, 2]);
        // Both rows confidently right: loss 0.
        assert_eq!(x.softmax_cross_entropy(&[0, 1]).item(), 0.0);
        // Both confidently wrong by a margin of 2000.
        let wrong = x.softmax_cross_entropy(&[1, 0]).item();
        assert!(wrong.is_finite());
        assert!((wrong - 2000.0).abs() < 1e-3);
    }

    #[test]
    #[should_panic(
        expected = "softmax_cross_entropy: label 3 is out of range for logits of shape [1, 3]"
    )]
    fn cross_entropy_label_out_of_range_panics() {
        t(&[0.0, 0.0, 0.0], &[1, 3]).softmax_cross_entropy(&[3]);
    }

    #[test]
    #[should_panic(expected = "softmax_cross_entropy: logits must be 2-D [N, C], got shape [3]")]
    fn cross_entropy_wrong_rank_panics() {
        t(&[0.0, 0.0, 0.0], &[3]).softmax_cross_entropy(&[0]);
    }

    #[test]
    #[should_panic(expected = "softmax_cross_entropy: 2 labels given for logits of shape [1, 3]")]
    fn cross_entropy_label_count_panics() {
        t(&[0.0, 0.0, 0.0], &[1, 3]).softmax_cross_entropy(&[0, 1]);
    }

    #[test]
    fn bce_matches_naive_formula() {
        let x = t(&[-3.0, -0.5, 0.0, 0.7, 2.5, 4.0], &[2, 3]);
        let y = t(&[0.0, 1.0, 0.5, 1.0, 0.0, 1.0], &[2, 3]);
        let sigmoid = |v: f64| 1.0 / (1.0 + (-v).exp());
        let naive: f64 = x
            .as_slice()
            .iter()
            .zip(y.as_slice())
            .map(|(&x, &y)| -y * sigmoid(x).ln() - (1.0 - y) * (1.0 - sigmoid(x)).ln())
            .sum::<f64>()
            / 6.0;
        let loss = x.binary_cross_entropy_with_logits(&y);
        assert_eq!(loss.rank(), 0);
        assert!((loss.item() - naive).abs() < 1e-12);
    }

    #[test]
    fn bce_of_extreme_logits_is_finite() {
        let x = Tensor::from_vec(vec![1000.0f32, -1000.0], &[2]);
        let right = Tensor::from_vec(vec![1.0f32, 0.0], &[2]);
        let wrong = Tensor::from_vec(vec![0.0f32, 1.0], &[2]);
        assert_eq!(x.binary_cross_entropy_with_logits(&right).item(), 0.0);
        assert_eq!(x.binary_cross_entropy_with_logits(&wrong).item(), 1000.0);
    }

    #[test]
    #[should_panic(expected = "binary_cross_entropy_with_logits: shapes [2] and [1, 2] differ")]
    fn bce_shape_mismatch_panics() {
        t(&[0.0, 0.0], &[2]).binary_cross_entropy_with_logits(&t(&[0.0, 0.0], &[1, 2]));
    }

    #[test]
    fn one_hot_rows() {
        let t = Tensor::<f64>::one_hot(&[1, 0, 1], 2);
        assert_eq!(t.shape(), &[3, 2]);
        assert_eq!(t.to_vec(), vec![0.0, 1.0, 1.0, 0.0, 0.0, 1.0]);
        assert_eq!(Tensor::<f64>::one_hot(&[], 4).shape(), &[0, 4]);
    }

    #[test]
    #[should_panic(expected = "one_hot: label 3 is out of range for 3 classes")]
    fn one_hot_out_of_range_panics() {
        Tensor::<f64>::one_hot(&[3], 3);
    }
}
