#!/usr/bin/env bash
# Build the GPU kit on a machine with network (this one): the Deno binary and the project's
# npm dependencies, compressed, so that a GPU machine with no network can run the bench.
# Output: runs/gpu-kit/{deno.xz,node_modules.tar.xz} (git-ignored), checked against the
# 64 MiB that the device tool carries. Usage: bash bench/gpu/pack.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
kit=runs/gpu-kit
rm -rf "$kit" && mkdir -p "$kit"
deno install --quiet # node_modules complete for deno.lock
xz -9 -T0 -c "$(command -v deno)" > "$kit/deno.xz"
# Source maps, TypeScript sources and docs are not needed to run.
tar --exclude='*.map' --exclude='*.md' --exclude='*.d.ts' --exclude='*.ts.map' \
  -cf - node_modules | xz -9 -T0 > "$kit/node_modules.tar.xz"
bytes=$(du -cb "$kit"/* | tail -1 | cut -f1)
echo "gpu kit: $(du -h "$kit"/* | tr '\n' ' ') = $((bytes / 1048576)) MiB"
if [ "$bytes" -gt $((64 * 1048576)) ]; then
  echo "gpu kit is over the 64 MiB the device tool carries" >&2
  exit 1
fi
