//! The runner's template engine, compiled from `src/run/` unchanged.

#[path = "../../../src/run/template.rs"]
pub(crate) mod template;
