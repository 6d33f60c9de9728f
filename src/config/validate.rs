//! The range checks of a run configuration that serde cannot express: every one names its key,
//! and all run before a run folder is created.

use super::RunConfig;
use crate::error::{AtlopError, Result};

impl RunConfig {
    /// Range checks serde cannot express.
    pub fn validate(&self, source_name: &str) -> Result<()> {
        let bad = |key: &str, message: &str| {
            Err(AtlopError::Config {
                source_name: source_name.into(),
                key: key.into(),
                message: message.into(),
            })
        };
        let t = &self.training;
        for (key, v) in [
            ("training.epochs", t.epochs),
            ("training.batch_size", t.batch_size),
            ("training.grad_accumulation", t.grad_accumulation),
            ("training.eval_batch_size", t.eval_batch_size),
            ("training.log_every", t.log_every),
            ("data.max_len", self.data.max_len),
        ] {
            if v == 0 {
                return bad(key, "must be at least 1");
            }
        }
        if let Some(p) = t.dropout.filter(|p| !(0.0..1.0).contains(p)) {
            return bad("training.dropout", &format!("{p} is not in [0, 1)"));
        }
        for (key, slice) in [
            ("data.train_docs", self.data.train_docs),
            ("data.dev_docs", self.data.dev_docs),
            ("data.test_docs", self.data.test_docs),
        ] {
            if slice.is_some_and(|s| s.start >= s.end) {
                return bad(key, "start must be below end");
            }
        }
        if self.name.is_empty() || self.name.contains(['/', '\\']) || self.name.starts_with('.') {
            return bad(
                "name",
                "must be a plain folder name (no path separators, not starting with '.'): \
                 runs go to runs/<name>-<time>/; use --out for another place",
            );
        }
        let o = &self.optimizer;
        for (key, rate) in [
            ("optimizer.encoder_lr", o.encoder_lr),
            ("optimizer.head_lr", o.head_lr),
            ("optimizer.max_grad_norm", o.max_grad_norm),
        ] {
            if !(rate.is_finite() && rate >= 0.0) {
                return bad(key, &format!("{rate} is not a finite number >= 0"));
            }
        }
        if !(0.0..=1.0).contains(&o.warmup_ratio) {
            return bad(
                "optimizer.warmup_ratio",
                &format!("{} is not in [0, 1]", o.warmup_ratio),
            );
        }
        if !(o.eps.is_finite() && o.eps >= 0.0) {
            return bad(
                "optimizer.eps",
                &format!("{} is not a finite number >= 0", o.eps),
            );
        }
        let m = &self.model;
        if m.block_size == 0 || m.emb_size == 0 || !m.emb_size.is_multiple_of(m.block_size) {
            return bad(
                "model.block_size",
                &format!(
                    "{} must divide model.emb_size ({}) into groups (Eq. 5)",
                    m.block_size, m.emb_size
                ),
            );
        }
        if self.data.max_len < 3 {
            return bad(
                "data.max_len",
                "needs room for two special tokens and a word",
            );
        }
        Ok(())
    }
}
