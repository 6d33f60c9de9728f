//! Decisions on a whole evaluation set's scores: adaptive thresholding, a global threshold,
//! per-class thresholds (the paper's Table 6).
