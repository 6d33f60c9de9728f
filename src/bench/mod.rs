//! Timings of parts of the model (benchmarks, not tests), for `atlop bench`.

pub mod head;
