#!/usr/bin/env bash
# Installs a packed phala-bridge (`npm pack` → phala-bridge-<version>.tgz) for production into a
# directory: the runtime dependencies only, none of the devnet's extras (Hardhat, solc, tsx).
#
#   deploy/install.sh <tarball> <dir>
#
# These are the steps both deploy/Dockerfile and the package test (test/package/) run, so the
# image and the tested install are the same. Afterwards <dir>/node_modules/.bin/phala-bridge is
# the CLI. Needs Node.js >= 20 and npm on PATH; reads the npm registry (or its cache).
set -euo pipefail

if [ "$#" -ne 2 ]; then
  echo "usage: $0 <phala-bridge-x.y.z.tgz> <dir>" >&2
  exit 2
fi
if [ ! -f "$1" ]; then
  echo "install.sh: no such tarball: $1" >&2
  exit 1
fi
tarball=$(realpath -- "$1")
dir=$2

mkdir -p -- "$dir"
cd -- "$dir"
# A project of its own, so npm records exactly what was installed (package.json, package-lock.json).
if [ ! -f package.json ]; then
  printf '{\n  "name": "phala-bridge-deployment",\n  "private": true,\n  "type": "module"\n}\n' > package.json
fi

npm install --omit=dev --no-audit --no-fund "$tarball"

# The installed CLI answers, with plain node (no TypeScript at run time).
version=$(node_modules/.bin/phala-bridge --version)
echo "installed phala-bridge ${version} in $(pwd)"
