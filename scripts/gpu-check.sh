#!/usr/bin/env bash
# The one prepared check for a lent GPU machine (an NVIDIA H200 here, 15 minutes of device time
# in all, each command at most 10; the machine has no Rust toolchain and nothing outside it can
# be reached, so everything is built and staged here first).
#
#   bash scripts/gpu-check.sh --prepare   here: build the CUDA binaries (`--features cuda`) and
#                                         stage gpu/ (binaries, fixtures, MiniLM's config and
#                                         tokenizer, the data); ~20 min on 2 cores
#   bash scripts/gpu-check.sh             there: every step below, results in $OUT (else gpu/out)
#   bash scripts/gpu-check.sh --dry-run   here, no GPU: the same steps with the CPU build and
#                                         tiny sizes, proving the plumbing up to the GPU
#
# With the device tool: run(command="bash scripts/gpu-check.sh", carry=["gpu"], timeout_s=580)
# (measured: the stripped, xz-compressed test binary is 14 MiB; with the CLI's, the fixtures'
# 18 MiB and the data's ~9 MiB the stage is ~55 MiB). The steps, each under its own time limit, inside GPU_CHECK_SECONDS (default
# 540 s):
#   1. the device: nvidia-smi's name, memory, driver
#   2. parity on CUDA: the integration tests of tests/it/cubecl_path.rs (RoBERTa encoder and
#      head fixtures, AT-loss gradient, bf16 products; with MiniLM's weights also BERT and a
#      CPU-checkpoint resume), built with `--features cuda`
#   3. `atlop bench step` (MiniLM, the 4-document bench batch) in f32 and bf16: step time,
#      tokens/s, peak GPU memory
#   4. `atlop bench encoder --random bert-base` (4 x 512 tokens) in f32 and bf16
#   5. the local campaign (`experiment all --profile local --seeds 1 --train`) for the time left,
#      records under $OUT/local/: only with models/all-MiniLM-L6-v2/model.safetensors present
#      (87 MB: over the device tool's 64 MiB carry, so not staged; step 5 says so and skips)
# $OUT gets gpu-check.md (the summary table), gpu-check.log (every step's output) and the
# campaign's records (local/<dataset>/<model>.json): the tool brings back 8 files, 2 folders deep.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
mode=${1:-run}
stage=$root/gpu

case "$mode" in
  --prepare)
    set -e
    mkdir -p "$stage/bin" "$stage/fixtures" "$stage/minilm"
    export CARGO_TARGET_DIR=$root/target/cuda
    echo "gpu-check: building the CUDA binaries in $CARGO_TARGET_DIR"
    cargo build --release --features cuda
    it=$(cargo test --release --features cuda --test it --no-run --message-format=json \
      | python3 -c 'import json,sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["name"] == "it":
        print(m["executable"])' | tail -n 1)
    for pair in "$CARGO_TARGET_DIR/release/atlop:atlop" "$it:it"; do
      src=${pair%%:*}; name=${pair##*:}
      strip -o "$stage/bin/$name" "$src"
      python3 -c 'import lzma,sys; open(sys.argv[2],"wb").write(lzma.compress(open(sys.argv[1],"rb").read(), preset=6))' \
        "$stage/bin/$name" "$stage/bin/$name.xz"
      rm "$stage/bin/$name"
    done
    cp -r ../shared/fixtures/. "$stage/fixtures/"
    for f in config.json tokenizer.json tokenizer_config.json vocab.txt special_tokens_map.json; do
      cp "models/all-MiniLM-L6-v2/$f" "$stage/minilm/"
    done
    # The data the steps read: Re-DocRED and CDR (local campaign, bench step), DocRED's vocabulary.
    mkdir -p "$stage/data/docred"
    cp -r data/redocred data/cdr "$stage/data/"
    cp data/docred/rel2id.json data/docred/rel_info.json data/docred/ner2id.json "$stage/data/docred/"
    git rev-parse HEAD > "$stage/commit"
    echo "$root" > "$stage/built_root"
    du -sh "$stage"
    echo "gpu-check: staged; carry [\"gpu\"] (64 MiB in all, the tracked files included)"
    exit 0 ;;
  --dry-run|run) ;;
  *) echo "usage: $0 [--prepare | --dry-run]" >&2; exit 2 ;;
esac

dry=false; [ "$mode" = --dry-run ] && dry=true
out=${OUT:-$stage/out}
mkdir -p "$out"
summary=$out/gpu-check.md
logs=$stage/logs
rm -rf "$logs"; mkdir -p "$logs"
budget=${GPU_CHECK_SECONDS:-540}
started=$(date +%s)
left() { echo $(( budget - ($(date +%s) - started) )); }

if $dry; then
  atlop=${ATLOP_BIN:-$root/target/release/atlop}
  it=""
  minilm=$root/models/all-MiniLM-L6-v2
  [ -x "$atlop" ] || { echo "gpu-check: no $atlop; cargo build --release first" >&2; exit 1; }
else
  # The binaries (compressed to fit the carry) and the paths the test binary was built with:
  # it reads its inputs under the repository root and ../shared of the machine that built it.
  for name in atlop it; do
    python3 -c 'import lzma,sys; open(sys.argv[2],"wb").write(lzma.decompress(open(sys.argv[1],"rb").read()))' \
      "$stage/bin/$name.xz" "$stage/bin/$name" || { echo "gpu-check: $stage/bin/$name.xz missing: run --prepare here first" >&2; exit 1; }
    chmod +x "$stage/bin/$name"
  done
  atlop=$stage/bin/atlop; it=$stage/bin/it
  built_root=$(cat "$stage/built_root")
  if [ -n "$built_root" ] && [ "$built_root" != "$root" ] && [ ! -e "$built_root" ]; then
    mkdir -p "$(dirname "$built_root")" && ln -s "$root" "$built_root"
  fi
  mkdir -p "$root/../shared"
  [ -e "$root/../shared/fixtures" ] || ln -s "$stage/fixtures" "$root/../shared/fixtures"
  minilm=$root/models/all-MiniLM-L6-v2
  [ -f "$minilm/model.safetensors" ] || minilm=$stage/minilm
  [ -e "$root/data" ] || ln -s "$stage/data" "$root/data"
fi

{
  echo "# GPU check ($(date -u +%FT%TZ), commit $(cat "$stage/commit" 2>/dev/null || git rev-parse --short HEAD 2>/dev/null))"
  echo
  $dry && echo "DRY RUN: the CPU build, tiny sizes; no figure here is a GPU figure."
  echo
  echo "| step | result | seconds |"
  echo "| --- | --- | --- |"
} > "$summary"
row() { echo "| $1 | $2 | $3 |" >> "$summary"; echo "gpu-check: $1: $2 ($3 s)"; }

# GPU memory, sampled while a step runs: the peak in MiB, or n/a without nvidia-smi.
sampler_pid=""
sample_start() {
  : > "$logs/mem.samples"
  if command -v nvidia-smi >/dev/null; then
    nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits -lms 100 > "$logs/mem.samples" 2>/dev/null &
    sampler_pid=$!
  fi
}
sample_stop() {
  [ -n "$sampler_pid" ] && kill "$sampler_pid" 2>/dev/null; wait "$sampler_pid" 2>/dev/null; sampler_pid=""
  sort -n "$logs/mem.samples" | tail -n 1 | awk 'NF { print $1 " MiB"; f=1 } END { if (!f) print "n/a" }'
}

# 1. The device.
t0=$(date +%s)
if command -v nvidia-smi >/dev/null; then
  device=$(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | head -n 1)
else
  device="no nvidia-smi ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs))"
fi
row "device" "$device" $(( $(date +%s) - t0 ))

# 2. Parity on the device's backend.
t0=$(date +%s)
if $dry; then
  row "parity (cubecl_path tests)" "dry run: would run \`gpu/bin/it cubecl_path --include-ignored --test-threads 1\`" 0
else
  timeout $(( $(left) > 200 ? 200 : $(left) )) "$it" cubecl_path --include-ignored --test-threads 1 --nocapture > "$logs/parity.log" 2>&1
  rc=$?
  result=$(grep -m1 -E '^test result' "$logs/parity.log" || echo "exit $rc")
  skips=$(grep -c '^skipping' "$logs/parity.log")
  row "parity (cubecl_path tests)" "$result; $skips skip lines (see parity.log)" $(( $(date +%s) - t0 ))
fi

# 3. The training step, f32 and bf16.
if $dry; then step_args=(--docs 1 --steps 1 --warmup 0); else step_args=(--docs 4 --steps 5 --warmup 2); fi
for precision in f32 bf16; do
  t0=$(date +%s)
  sample_start
  timeout $(( $(left) > 120 ? 120 : $(left) )) "$atlop" bench step --model "$minilm" \
    --data data/redocred/dev_revised.json "${step_args[@]}" --precision $precision \
    > "$logs/step-$precision.log" 2>&1
  rc=$?
  peak=$(sample_stop)
  line=$(grep -m1 '^step_s=' "$logs/step-$precision.log")
  if [ $rc -eq 0 ] && [ -n "$line" ]; then
    step_s=$(sed 's/.*step_s=\([0-9.]*\).*/\1/' <<< "$line")
    tokens=$(sed 's/.*tokens=\([0-9]*\).*/\1/' <<< "$line")
    tps=$(awk -v t="$tokens" -v s="$step_s" 'BEGIN { printf "%.0f", t / s }')
    row "bench step $precision (MiniLM, ${step_args[1]} docs)" "$line; $tps tokens/s; peak GPU memory $peak" $(( $(date +%s) - t0 ))
  else
    row "bench step $precision" "failed (exit $rc): $(tail -n 1 "$logs/step-$precision.log")" $(( $(date +%s) - t0 ))
  fi
done

# 4. A bert-base-sized encoder (random weights), f32 and bf16.
if $dry; then enc_args=(--docs 1 --tokens 16 --repeats 1); else enc_args=(--docs 4 --tokens 512 --repeats 5); fi
for precision in f32 bf16; do
  t0=$(date +%s)
  sample_start
  timeout $(( $(left) > 120 ? 120 : $(left) )) "$atlop" bench encoder --random bert-base \
    "${enc_args[@]}" --precision $precision > "$logs/encoder-$precision.log" 2>&1
  rc=$?
  peak=$(sample_stop)
  if [ $rc -eq 0 ]; then
    row "bench encoder $precision (bert-base, random)" "$(tail -n 1 "$logs/encoder-$precision.log"); peak GPU memory $peak" $(( $(date +%s) - t0 ))
  else
    row "bench encoder $precision" "failed (exit $rc): $(tail -n 1 "$logs/encoder-$precision.log")" $(( $(date +%s) - t0 ))
  fi
done

# 5. The local campaign, for the time left.
t0=$(date +%s)
if $dry; then
  row "campaign" "dry run: would run \`atlop experiment all --profile local --seeds 1 --train\` for the time left, records to \$OUT/local/" 0
elif [ ! -f "$minilm/model.safetensors" ]; then
  row "campaign" "skipped: models/all-MiniLM-L6-v2/model.safetensors is not on this machine (87 MB, over the 64 MiB carry)" 0
elif [ "$(left)" -lt 60 ]; then
  row "campaign" "skipped: $(left) s left" 0
else
  timeout "$(( $(left) - 10 ))" "$atlop" experiment all --profile local --seeds 1 --train \
    --runs-dir "$stage/runs" --records-dir "$out" --results-dir "$stage/results" \
    > "$logs/campaign.log" 2>&1
  row "campaign" "exit $? (124: time limit); $(find "$out" -mindepth 3 -name '*.json' 2>/dev/null | wc -l) records; last: $(tail -n 1 "$logs/campaign.log" | cut -c1-160)" $(( $(date +%s) - t0 ))
fi

for f in "$logs"/*.log; do echo "===== $(basename "$f")"; cat "$f"; done > "$out/gpu-check.log"
echo "gpu-check: summary in $summary, logs in $out/gpu-check.log"
cat "$summary"
