//! The ATLOP head: logsumexp pooling, localized context pooling, group bilinear classifier,
//! and the losses (adaptive-thresholding and BCE).
