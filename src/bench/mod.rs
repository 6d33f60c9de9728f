//! Speed and memory measurements of the pipeline's stages, so that backend and batching choices
//! rest on numbers from this machine.

pub mod encoder;
pub mod head;
