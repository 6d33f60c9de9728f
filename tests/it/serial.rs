//! Locks for tests that must not overlap inside the one test process.

use std::sync::{Mutex, MutexGuard};

/// Training reseeds the backend's one RNG (dropout, initialisation) per epoch, so two runs in
/// parallel threads would draw each other's numbers and a resume comparison would differ: every
/// test that trains in-process holds this lock.
pub static TRAINING: Mutex<()> = Mutex::new(());

/// Takes [`TRAINING`], also after a test that held it panicked.
pub fn training() -> MutexGuard<'static, ()> {
    TRAINING.lock().unwrap_or_else(|e| e.into_inner())
}
