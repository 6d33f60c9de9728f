//! Official metrics: DocRED F1 / Ign F1 (and intra/inter-sentence, by entity count), CodaLab
//! `result.json`, and the positive-class F1 of CDR/GDA.
