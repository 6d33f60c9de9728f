//! The ATLOP head: logsumexp pooling, localized context pooling, group bilinear classifier,
//! and the losses (adaptive-thresholding and BCE).

pub mod atlop;
pub mod bilinear;
pub mod head;
pub mod localized_context;
pub mod loss;
pub mod pooling;

pub use bilinear::{BilinearKind, BilinearLayout, GroupBilinear};
pub use head::{AtlopHead, AtlopHeadConfig, HeadOutput};
pub use localized_context::{localized_context, LocalizedContext};
pub use loss::{at_loss, bce_loss, LossKind};
pub use pooling::{entity_attention, entity_embeddings, EntityPooling};
