//! The value range an axis shows, shared by the training dashboard (`train::dashboard`) and the
//! experiment figures (`experiment::figures`), which must not import each other.

/// The smallest and largest finite value of `values`, widened on both sides by `share` of their
/// spread and at least `min_pad`; `(0, 1)` when there is no finite value.
pub fn padded_range(values: impl Iterator<Item = f64>, share: f64, min_pad: f64) -> (f64, f64) {
    let (lo, hi) = values
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    let pad = ((hi - lo) * share).max(min_pad);
    (lo - pad, hi + pad)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widens_by_a_share_of_the_spread_or_the_minimum_and_skips_non_finite_values() {
        assert_eq!(padded_range([1.0, 3.0].into_iter(), 0.25, 0.1), (0.5, 3.5));
        assert_eq!(
            padded_range([2.0, f64::NAN].into_iter(), 0.25, 0.1),
            (1.9, 2.1)
        );
        assert_eq!(
            padded_range([f64::INFINITY].into_iter(), 0.1, 0.1),
            (0.0, 1.0)
        );
        assert_eq!(padded_range(std::iter::empty(), 0.1, 0.1), (0.0, 1.0));
    }
}
