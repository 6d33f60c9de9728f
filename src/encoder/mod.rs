//! Pre-trained encoders written in burn: BERT (and SciBERT) and RoBERTa, loading Hugging Face
//! checkpoints unchanged, with the two-window procedure for documents over 512 positions.
