#!/usr/bin/env bash
# Run on the GPU machine from the repository root, after bench/gpu/pack.sh has built
# runs/gpu-kit here and it was carried over. Writes everything under ${OUT:-runs/gpu-out}.
# Needs no network. Usage: bash bench/gpu/run.sh [quick]
set -uo pipefail
cd "$(dirname "$0")/../.."
out=${OUT:-runs/gpu-out}
mkdir -p "$out"
kit=runs/gpu-kit
bin=$(mktemp -d)
xz -dc "$kit/deno.xz" > "$bin/deno" && chmod +x "$bin/deno"
[ -d node_modules ] || xz -dc "$kit/node_modules.tar.xz" | tar -xf -
export PATH="$bin:$PATH" DENO_NO_UPDATE_CHECK=1
{
  echo "## machine"; uname -a; nproc; free -g | head -2
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv 2>&1 | head -3
  echo "## vulkan"; ls /usr/share/vulkan/icd.d /etc/vulkan/icd.d 2>&1
  ldconfig -p | grep -E 'libvulkan|libGLX_nvidia|libcuda' 2>&1
  echo "## backends"; deno run -A --cached-only --unstable-webgpu src/cli/main.ts backends 2>&1
} > "$out/preflight.txt" 2>&1
cat "$out/preflight.txt"
# Deno's WebGPU uses Vulkan. When the driver has no ICD file, point the loader at the driver.
if ! ls /usr/share/vulkan/icd.d/nvidia_icd.json /etc/vulkan/icd.d/nvidia_icd.json >/dev/null 2>&1; then
  lib=$(ldconfig -p | awk '/libGLX_nvidia.so.0/ {print $NF; exit}')
  if [ -n "$lib" ]; then
    printf '{"file_format_version":"1.0.0","ICD":{"library_path":"%s","api_version":"1.3"}}\n' \
      "$lib" > "$bin/nvidia_icd.json"
    export VK_ICD_FILENAMES="$bin/nvidia_icd.json"
    echo "using $VK_ICD_FILENAMES -> $lib" | tee -a "$out/preflight.txt"
  fi
fi
bench=(deno run -A --cached-only --unstable-webgpu bench/run.ts --out="$out")
if [ "${1:-}" = quick ]; then
  "${bench[@]}" --quick --only=matmul,train --backends=webgpu,wasm --train-backends=webgpu,wasm \
    2>&1 | tee "$out/bench.txt"
else
  # Matmul to 1024 on webgpu beside wasm; the reference training step on webgpu and wasm.
  "${bench[@]}" --only=matmul,train --backends=webgpu,wasm --train-backends=webgpu \
    --slow-max=1024 --steps=3 --no-profile 2>&1 | tee "$out/bench.txt"
  # The default run on webgpu, timed.
  /usr/bin/time -v deno run -A --cached-only --unstable-webgpu src/cli/main.ts \
    --backend webgpu --output.dir "$out/runs" > "$out/default-run.txt" 2>&1
  tail -40 "$out/default-run.txt"
fi
