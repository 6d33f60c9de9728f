//! The DocRED-sized head benchmark (ignored by default: it measures, it does not check).
//! `cargo test --release --test it head_bench -- --ignored --nocapture`

use atlop::bench::head::{bench_head, HeadBenchConfig};
use atlop::model::BilinearLayout;

#[test]
#[ignore = "benchmark; run with --ignored --nocapture"]
fn docred_sized_head_forward_backward() {
    for layout in [BilinearLayout::OuterProduct, BilinearLayout::Factored] {
        let report = bench_head(HeadBenchConfig::new().with_bilinear_layout(layout)).unwrap();
        println!("{report}");
        assert_eq!(report.pairs, 342);
    }
}
