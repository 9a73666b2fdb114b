//! `Embedding`: a learned vector per token id, looked up by row from a `[vocab, dim]` table.
//!
//! The lookup is the engine's `index_select`, whose backward adds each row's gradient back into
//! the rows that were picked (`index_add`) — a token used twice gets the sum of both gradients,
//! and rows not picked get zero. Multiplying a one-hot matrix by the table gives the same
//! numbers at `vocab` times the cost.

use chainrule_autodiff::{Float, Graph, ParamId, ParamKind, ParamStore, Var};
use rand::Rng;

use crate::shapes::Layer;
use crate::{Init, Module};

/// A table `[vocab, dim]` of learned vectors, `"{name}.weight"` ([`ParamKind::Weight`],
/// initialised `N(0, 1)` as in PyTorch).
///
/// ```
/// use chainrule_autodiff::{Graph, ParamStore};
/// use chainrule_layers::Embedding;
/// use rand::SeedableRng;
/// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
/// let mut params = ParamStore::<f64>::new();
/// let embed = Embedding::new(&mut params, "embed", 10, 4, &mut rng);
/// let g = Graph::new();
/// let vectors = embed.lookup(&g, &params, &[3, 1, 3]);
/// assert_eq!(vectors.shape().as_slice(), &[3, 4]);
/// ```
#[derive(Clone, Debug)]
pub struct Embedding {
    name: String,
    table: ParamId,
    vocab: usize,
    dim: usize,
}

impl Embedding {
    /// Creates the table in `params`, each entry drawn from `N(0, 1)`.
    ///
    /// ```
    /// use chainrule_autodiff::ParamStore;
    /// use chainrule_layers::Embedding;
    /// use rand::SeedableRng;
    /// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    /// let mut params = ParamStore::<f32>::new();
    /// let embed = Embedding::new(&mut params, "embed", 100, 8, &mut rng);
    /// assert_eq!(params.value(embed.table()).shape(), &[100, 8]);
    /// ```
    #[track_caller]
    pub fn new<T: Float, R: Rng + ?Sized>(
        params: &mut ParamStore<T>,
        name: &str,
        vocab: usize,
        dim: usize,
        rng: &mut R,
    ) -> Embedding {
        let init = Init::Normal {
            mean: 0.0,
            std: 1.0,
        };
        let table = params.insert(
            format!("{name}.weight"),
            init.tensor(&[vocab, dim], vocab, dim, rng),
            ParamKind::Weight,
        );
        Embedding {
            name: name.to_owned(),
            table,
            vocab,
            dim,
        }
    }

    /// The rows for `ids`: `[ids.len(), dim]`.
    ///
    /// # Panics
    /// When an id is `≥ vocab`.
    #[track_caller]
    pub fn lookup<'g, T: Float>(
        &self,
        g: &'g Graph<T>,
        params: &ParamStore<T>,
        ids: &[usize],
    ) -> Var<'g, T> {
        if let Some(&bad) = ids.iter().find(|&&id| id >= self.vocab) {
            layer_panic!(
                "{}: id {bad} is out of range for a vocabulary of {}",
                self.layer(),
                self.vocab
            );
        }
        params.bind(g, self.table).index_select(0, ids)
    }

    /// The rows for ids laid out in `shape` (row-major), e.g. `[batch, seq]`: output
    /// `[…shape, dim]`.
    ///
    /// # Panics
    /// When `ids.len()` is not the product of `shape`, or an id is `≥ vocab`.
    ///
    /// ```
    /// use chainrule_autodiff::{Graph, ParamStore};
    /// use chainrule_layers::Embedding;
    /// use rand::SeedableRng;
    /// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    /// let mut params = ParamStore::<f64>::new();
    /// let embed = Embedding::new(&mut params, "embed", 10, 4, &mut rng);
    /// let g = Graph::new();
    /// let batch = embed.lookup_shaped(&g, &params, &[1, 2, 3, 4, 5, 6], &[2, 3]);
    /// assert_eq!(batch.shape().as_slice(), &[2, 3, 4]);
    /// ```
    #[track_caller]
    pub fn lookup_shaped<'g, T: Float>(
        &self,
        g: &'g Graph<T>,
        params: &ParamStore<T>,
        ids: &[usize],
        shape: &[usize],
    ) -> Var<'g, T> {
        let count: usize = shape.iter().product();
        if count != ids.len() {
            layer_panic!(
                "{}: {} ids cannot be laid out in shape {shape:?} ({count} positions)",
                self.layer(),
                ids.len()
            );
        }
        let mut out_shape = shape.to_vec();
        out_shape.push(self.dim);
        self.lookup(g, params, ids).reshape(&out_shape)
    }

    /// The id of the table, shape `[vocab, dim]`.
    pub fn table(&self) -> ParamId {
        self.table
    }

    /// The number of rows: ids run from 0 to `vocab − 1`.
    pub fn vocab(&self) -> usize {
        self.vocab
    }

    /// The length of each vector.
    pub fn dim(&self) -> usize {
        self.dim
    }

    fn layer(&self) -> Layer<'_> {
        Layer {
            kind: "Embedding",
            name: &self.name,
        }
    }
}

/// As a layer, the input holds token ids stored as floats (`[batch, seq]`, say) and the output
/// is `[…input shape, dim]`, so an embedding can open a [`Sequential`](crate::Sequential). The
/// ids are data: no gradient flows back to them.
///
/// ```
/// use chainrule_autodiff::{Graph, ParamStore, Tensor};
/// use chainrule_layers::{Embedding, Module};
/// use rand::SeedableRng;
/// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
/// let mut params = ParamStore::<f64>::new();
/// let embed = Embedding::new(&mut params, "embed", 5, 3, &mut rng);
/// let g = Graph::new();
/// let ids = g.input(Tensor::from_vec(vec![0.0, 4.0, 2.0, 2.0], &[2, 2]));
/// assert_eq!(embed.forward(&g, &params, ids).shape().as_slice(), &[2, 2, 3]);
/// ```
impl<T: Float> Module<T> for Embedding {
    /// # Panics
    /// When an element of `x` is not a whole number in `0..vocab`.
    #[track_caller]
    fn forward<'g>(&self, g: &'g Graph<T>, params: &ParamStore<T>, x: Var<'g, T>) -> Var<'g, T> {
        let value = x.value();
        let mut ids = Vec::with_capacity(value.numel());
        for &v in value.as_slice() {
            match v.to_usize() {
                Some(id) if T::of(id as f64) == v => ids.push(id),
                _ => layer_panic!(
                    "{}: expected token ids (whole numbers ≥ 0), got {v}",
                    self.layer()
                ),
            }
        }
        self.lookup_shaped(g, params, &ids, value.shape())
    }
}
