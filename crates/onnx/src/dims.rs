//! Which axes of each traced value are dynamic.
//!
//! A traced graph has every size baked in: the batch it ran with is in every shape. The
//! exported model must run with another batch, so the exporter follows each declared dynamic
//! axis through the graph: a [`Dim`] is either fixed, or a multiple of one symbol (`batch`,
//! `2·batch` after a reshape merges it with a fixed axis). Ops whose ONNX form needs a shape
//! (`Reshape`, `Expand`) write the dynamic entries so that they hold for any size (`0` to copy
//! an axis, `-1` to infer one, or the size read at run time with `Shape`); an op that ties a
//! dynamic axis to its traced size is refused ([`ExportError::DynamicShape`]).

use crate::ExportError;

/// One axis of a value: a fixed size, or `factor` times a dynamic symbol.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dim {
    /// The same size for every run.
    Fixed(usize),
    /// `factor · symbol`, where the symbol is a declared dynamic axis (by index).
    Dynamic {
        /// The symbol, an index into [`Symbols`].
        symbol: usize,
        /// The multiple.
        factor: usize,
    },
}

impl Dim {
    /// Whether the axis changes with a dynamic size.
    pub fn is_dynamic(self) -> bool {
        matches!(self, Dim::Dynamic { .. })
    }
}

/// The declared dynamic axes: a name (`batch`) and the size it had when traced.
#[derive(Clone, Debug, Default)]
pub struct Symbols {
    names: Vec<String>,
    traced: Vec<usize>,
}

impl Symbols {
    /// The symbol called `name`, added with its traced size if new. A name used again must
    /// have had the same size when traced.
    pub fn intern(&mut self, name: &str, traced: usize) -> Result<usize, ExportError> {
        if let Some(i) = self.names.iter().position(|n| n == name) {
            if self.traced[i] != traced {
                return Err(ExportError::Spec(format!(
                    "dynamic axis `{name}` has size {} in one input and {traced} in another",
                    self.traced[i]
                )));
            }
            return Ok(i);
        }
        self.names.push(name.to_owned());
        self.traced.push(traced);
        Ok(self.names.len() - 1)
    }

    /// The symbol's name.
    pub fn name(&self, symbol: usize) -> &str {
        &self.names[symbol]
    }

    /// The size the symbol had when traced.
    pub fn traced(&self, symbol: usize) -> usize {
        self.traced[symbol]
    }

    /// The symbols whose traced size is `size`.
    pub fn with_traced_size(&self, size: usize) -> impl Iterator<Item = usize> + '_ {
        (0..self.names.len()).filter(move |&i| self.traced[i] == size)
    }

    /// The name an ONNX file gives the axis: `batch`, or `batch*3` for a multiple.
    pub fn dim_param(&self, dim: Dim) -> Option<String> {
        match dim {
            Dim::Fixed(_) => None,
            Dim::Dynamic { symbol, factor: 1 } => Some(self.names[symbol].clone()),
            Dim::Dynamic { symbol, factor } => Some(format!("{}*{factor}", self.names[symbol])),
        }
    }
}

/// Fixed dims for a traced shape with no dynamic axis.
pub fn fixed(shape: &[usize]) -> Vec<Dim> {
    shape.iter().map(|&n| Dim::Fixed(n)).collect()
}

/// The dims of an elementwise result whose inputs broadcast (NumPy rules, aligned on the
/// right) to the traced shape `out`. An axis is dynamic where an input's is; an input whose
/// axis is fixed at a size other than 1 against another input's dynamic one ties the dynamic
/// axis to its traced size, which is refused.
pub fn broadcast(inputs: &[&[Dim]], out: &[usize]) -> Result<Vec<Dim>, String> {
    let rank = out.len();
    let mut dims = fixed(out);
    for (k, dim) in dims.iter_mut().enumerate() {
        let mut dynamic = None;
        let mut fixed_wide = false;
        for input in inputs {
            let Some(i) = (k + input.len()).checked_sub(rank) else {
                continue;
            };
            match input[i] {
                d @ Dim::Dynamic { .. } => {
                    if dynamic.is_some_and(|seen| seen != d) {
                        return Err(format!(
                            "axis {k} is dynamic in two inputs with different sizes"
                        ));
                    }
                    dynamic = Some(d);
                }
                Dim::Fixed(n) => fixed_wide |= n != 1,
            }
        }
        if let Some(d) = dynamic {
            if fixed_wide {
                return Err(format!(
                    "axis {k} is dynamic in one input but fixed at its traced size {} in another \
                     (a value made with the traced batch size baked in)",
                    out[k]
                ));
            }
            *dim = d;
        }
    }
    Ok(dims)
}

/// How to write the target of an ONNX `Reshape` of a value with dims `input` to the traced
/// shape `target`, and the result's dims.
pub struct ReshapePlan {
    /// The result's dims.
    pub dims: Vec<Dim>,
    /// One entry per target axis.
    pub entries: Vec<ShapeEntry>,
}

/// One entry of a shape tensor built for `Reshape` or `Expand`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ShapeEntry {
    /// A fixed size (or ONNX's `0`: copy the input's axis at the same index, `-1`: infer).
    Literal(i64),
    /// The input's size along this axis, read at run time.
    InputAxis(usize),
}

/// Plans a reshape: groups the input and target axes into runs of equal traced products. A
/// run with no dynamic axis gives fixed sizes. A run with one dynamic axis gives one dynamic
/// target axis, the first whose traced size is a multiple of the symbol's: `0` where it sits
/// at the same index with the same size as the input's, the input's axis read at run time
/// where it has the size of another input axis, and `-1` for at most one that is neither.
pub fn plan_reshape(
    input: &[Dim],
    input_traced: &[usize],
    target: &[usize],
    symbols: &Symbols,
) -> Result<ReshapePlan, String> {
    let mut dims = fixed(target);
    let (mut i, mut j) = (0, 0);
    while i < input.len() || j < target.len() {
        // One run: one axis from each side, then more from the smaller side until the
        // products agree.
        let (i0, j0) = (i, j);
        let (mut p, mut q) = (1usize, 1usize);
        if i < input.len() {
            p *= input_traced[i];
            i += 1;
        }
        if j < target.len() {
            q *= target[j];
            j += 1;
        }
        while p != q {
            if (p < q || j == target.len()) && i < input.len() {
                p *= input_traced[i];
                i += 1;
            } else if j < target.len() {
                q *= target[j];
                j += 1;
            } else {
                return Err(format!("{input_traced:?} cannot be reshaped to {target:?}"));
            }
        }
        let dynamic: Vec<Dim> = input[i0..i]
            .iter()
            .copied()
            .filter(|d| d.is_dynamic())
            .collect();
        match dynamic.as_slice() {
            [] => {}
            [Dim::Dynamic { symbol, factor }] => {
                let _ = factor;
                let unit = symbols.traced(*symbol);
                let Some(k) = (j0..j).find(|&k| unit > 0 && target[k].is_multiple_of(unit)) else {
                    return Err(format!(
                        "cannot tell which axis of {target:?} holds the dynamic `{}`",
                        symbols.name(*symbol)
                    ));
                };
                dims[k] = Dim::Dynamic {
                    symbol: *symbol,
                    factor: target[k] / unit,
                };
            }
            _ => {
                return Err(format!(
                    "a reshape of {input_traced:?} to {target:?} merges two dynamic axes"
                ))
            }
        }
    }
    let mut entries = Vec::with_capacity(target.len());
    let mut inferred = false;
    for (k, &dim) in dims.iter().enumerate() {
        let entry = match dim {
            Dim::Fixed(n) => ShapeEntry::Literal(n as i64),
            d if input.get(k) == Some(&d) => ShapeEntry::Literal(0),
            d => match input.iter().position(|&e| e == d) {
                Some(axis) => ShapeEntry::InputAxis(axis),
                None if !inferred => {
                    inferred = true;
                    ShapeEntry::Literal(-1)
                }
                None => {
                    return Err(format!(
                        "a reshape of {input_traced:?} to {target:?} has two new dynamic axes"
                    ))
                }
            },
        };
        entries.push(entry);
    }
    Ok(ReshapePlan { dims, entries })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(symbols: &mut Symbols, traced: usize) -> Dim {
        let symbol = symbols.intern("batch", traced).unwrap();
        Dim::Dynamic { symbol, factor: 1 }
    }

    #[test]
    fn flatten_keeps_the_batch_with_a_zero() {
        let mut symbols = Symbols::default();
        let b = batch(&mut symbols, 3);
        let input = [b, Dim::Fixed(4), Dim::Fixed(2), Dim::Fixed(2)];
        let plan = plan_reshape(&input, &[3, 4, 2, 2], &[3, 16], &symbols).unwrap();
        assert_eq!(plan.dims, vec![b, Dim::Fixed(16)]);
        assert_eq!(
            plan.entries,
            vec![ShapeEntry::Literal(0), ShapeEntry::Literal(16)]
        );
    }

    #[test]
    fn a_merged_batch_is_split_back_with_minus_one() {
        let mut symbols = Symbols::default();
        let b = batch(&mut symbols, 2);
        let merged = Dim::Dynamic {
            symbol: 0,
            factor: 3,
        };
        let plan = plan_reshape(&[merged, Dim::Fixed(4)], &[6, 4], &[2, 3, 4], &symbols).unwrap();
        assert_eq!(plan.dims, vec![b, Dim::Fixed(3), Dim::Fixed(4)]);
        assert_eq!(plan.entries[0], ShapeEntry::Literal(-1));
        let back = plan_reshape(&plan.dims, &[2, 3, 4], &[6, 4], &symbols).unwrap();
        assert_eq!(back.dims, vec![merged, Dim::Fixed(4)]);
    }

    #[test]
    fn a_moved_batch_is_read_at_run_time() {
        let mut symbols = Symbols::default();
        let b = batch(&mut symbols, 5);
        let plan = plan_reshape(&[Dim::Fixed(1), b], &[1, 5], &[5, 1], &symbols).unwrap();
        assert_eq!(plan.dims, vec![b, Dim::Fixed(1)]);
        assert_eq!(plan.entries[0], ShapeEntry::InputAxis(1));
    }

    #[test]
    fn broadcasting_a_batch_sized_constant_against_the_batch_is_refused() {
        let mut symbols = Symbols::default();
        let b = batch(&mut symbols, 3);
        let x = [b, Dim::Fixed(4)];
        assert_eq!(
            broadcast(&[&x, &[Dim::Fixed(4)]], &[3, 4]).unwrap(),
            x.to_vec()
        );
        assert!(broadcast(&[&x, &fixed(&[3, 4])], &[3, 4]).is_err());
    }
}
