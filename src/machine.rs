//! What machine a number was measured on: the CPU model and the vector extensions the fast
//! paths dispatch on, recorded beside every trained model and benchmark.

/// `"<model name> (AVX2, AVX-512, AMX)"` from `/proc/cpuinfo`, or the architecture where that
/// file does not exist.
pub fn cpu_description() -> String {
    let Ok(info) = std::fs::read_to_string("/proc/cpuinfo") else {
        return std::env::consts::ARCH.to_string();
    };
    describe(&info)
}

fn describe(cpuinfo: &str) -> String {
    let field = |name: &str| {
        cpuinfo.lines().find_map(|l| {
            let (key, value) = l.split_once(':')?;
            (key.trim() == name).then(|| value.trim().to_string())
        })
    };
    let model = field("model name").unwrap_or_else(|| std::env::consts::ARCH.to_string());
    let flags = field("flags").unwrap_or_default();
    let has = |f: &str| flags.split_whitespace().any(|x| x == f);
    let extensions: Vec<&str> = [
        ("avx2", "AVX2"),
        ("avx512f", "AVX-512"),
        ("avx512_bf16", "AVX-512 BF16"),
        ("amx_tile", "AMX"),
    ]
    .into_iter()
    .filter(|(flag, _)| has(flag))
    .map(|(_, name)| name)
    .collect();
    if extensions.is_empty() {
        model
    } else {
        format!("{model} ({})", extensions.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_model_and_its_vector_extensions() {
        let info = "processor\t: 0\nmodel name\t: AMD EPYC 7B13\nflags\t\t: fpu sse2 avx2 fma\n";
        assert_eq!(describe(info), "AMD EPYC 7B13 (AVX2)");
        let info = "model name : Intel Xeon\nflags : avx2 avx512f amx_tile\n";
        assert_eq!(describe(info), "Intel Xeon (AVX2, AVX-512, AMX)");
    }
}
