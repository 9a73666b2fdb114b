//! Per-parameter optimizer state, kept by [`ParamId`] and created the first time a parameter
//! gets a gradient — so a parameter that never takes part in a step costs nothing, and one that
//! skips a step does not advance.

use chainrule_autodiff::ParamId;

/// One optional state per parameter, indexed by the parameter's position in its store.
#[derive(Clone, Debug)]
pub(crate) struct PerParam<S> {
    slots: Vec<Option<S>>,
}

impl<S> Default for PerParam<S> {
    fn default() -> Self {
        PerParam { slots: Vec::new() }
    }
}

impl<S> PerParam<S> {
    /// The state of one parameter, if it has been created.
    pub(crate) fn get(&self, id: ParamId) -> Option<&S> {
        self.slots.get(id.0).and_then(Option::as_ref)
    }

    /// The state of one parameter, created by `init` the first time.
    pub(crate) fn get_or_insert_with(&mut self, id: ParamId, init: impl FnOnce() -> S) -> &mut S {
        if self.slots.len() <= id.0 {
            self.slots.resize_with(id.0 + 1, || None);
        }
        self.slots[id.0].get_or_insert_with(init)
    }
}
