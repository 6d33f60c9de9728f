#[test]
#[ignore]
fn gemm_speed() {
    rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build_global()
        .ok();
    for &(m, k, n, lt, rt) in &[
        (1042usize, 384usize, 1536usize, false, false),
        (1042, 1536, 384, false, false),
        (1042, 384, 384, false, false),
        (2494, 24576, 97, false, false),
        (24576, 2494, 97, true, false),
        (2494, 97, 24576, false, true),
        (384, 1042, 1536, true, false),
        (1042, 1536, 384, false, true),
    ] {
        let a = vec![0.5f32; m * k];
        let b = vec![0.25f32; k * n];
        let mut c = vec![0f32; m * n];
        let run = |c: &mut [f32]| unsafe {
            // a: m x k (row-major, or stored k x m if lt), b: k x n (or n x k if rt)
            let (a_rs, a_cs) = if lt { (1, m as isize) } else { (k as isize, 1) };
            let (b_rs, b_cs) = if rt { (1, k as isize) } else { (n as isize, 1) };
            gemm::gemm(
                m,
                n,
                k,
                c.as_mut_ptr(),
                1,
                n as isize,
                false,
                a.as_ptr(),
                a_cs,
                a_rs,
                b.as_ptr(),
                b_cs,
                b_rs,
                0.0,
                1.0,
                false,
                false,
                false,
                gemm::Parallelism::Rayon(2),
            );
        };
        for _ in 0..2 {
            run(&mut c);
        }
        let t = std::time::Instant::now();
        let r = 5;
        for _ in 0..r {
            run(&mut c);
        }
        let dt = t.elapsed().as_secs_f64() / r as f64;
        println!(
            "{m}x{k}x{n} lt={lt} rt={rt}: {:.0} GFLOP/s ({:.1} ms)",
            2.0 * (m * k * n) as f64 / dt / 1e9,
            dt * 1e3
        );
    }
}
