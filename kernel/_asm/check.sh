#!/usr/bin/env bash
# Regenerate the avo kernels into a temporary directory and diff them with
# the committed kernel/kernel_amd64.s and kernel/kernel_amd64_stubs.go.
# Exits non-zero (printing the diff) when they differ. Needs only Go and the
# module proxy (for avo). Usage: kernel/_asm/check.sh
set -euo pipefail
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go run . -dir "$tmp"
status=0
for f in kernel_amd64.s kernel_amd64_stubs.go; do
  if ! diff -u "../$f" "$tmp/$f"; then
    status=1
  fi
done
if [ "$status" -ne 0 ]; then
  echo "kernel/_asm/check.sh: committed kernels differ from the generator; run 'go generate' in kernel/" >&2
  exit 1
fi
echo "kernel/_asm/check.sh: generated kernels are up to date"
