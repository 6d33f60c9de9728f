//! Speed and memory measurements of the pipeline's stages (benchmarks, not tests), for
//! `atlop bench`, so that backend and batching choices rest on numbers from this machine.

pub mod encoder;
pub mod head;
pub mod inference;
pub mod step;
