//! Features -> padded tensors for one batch of documents.
