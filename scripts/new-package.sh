#!/usr/bin/env bash
# Scaffolds packages/<name> with the house layout. Usage: scripts/new-package.sh name "description" [dep ...]
set -euo pipefail
name=$1; desc=$2; shift 2
dir=packages/$name
mkdir -p "$dir/src" "$dir/test"
refs=""
deps=""
for d in "$@"; do
  refs="$refs{ \"path\": \"../$d\" },"
  deps="$deps\"@actionqueue/$d\": \"workspace:^\","
done
refs="[${refs%,}]"
deps="{${deps%,}}"
cat > "$dir/package.json" <<JSON
{
  "name": "@actionqueue/$name",
  "version": "0.0.0",
  "description": "$desc",
  "license": "Apache-2.0",
  "type": "module",
  "sideEffects": false,
  "engines": { "node": ">=20" },
  "exports": {
    ".": { "types": "./dist/index.d.ts", "default": "./dist/index.js" },
    "./package.json": "./package.json"
  },
  "files": ["dist", "README.md"],
  "scripts": {
    "build": "tsc -b",
    "typecheck": "tsc -p tsconfig.test.json --noEmit",
    "lint": "eslint --no-error-on-unmatched-pattern src test benchmark scripts",
    "test": "vitest run",
    "clean": "rm -rf dist .turbo .vitest-report.json"
  },
  "dependencies": $deps
}
JSON
cat > "$dir/tsconfig.json" <<JSON
{
  "extends": "../../tsconfig.base.json",
  "compilerOptions": { "rootDir": "src", "outDir": "dist", "tsBuildInfoFile": "dist/.tsbuildinfo" },
  "include": ["src"],
  "exclude": ["src/**/*.test.ts"],
  "references": $refs
}
JSON
cat > "$dir/tsconfig.test.json" <<JSON
{
  "extends": "./tsconfig.json",
  "compilerOptions": {
    "composite": false,
    "declaration": false,
    "declarationMap": false,
    "noEmit": true,
    "rootDir": ".",
    "tsBuildInfoFile": null
  },
  "include": ["src", "test", "benchmark", "scripts"],
  "exclude": []
}
JSON
cat > "$dir/vitest.config.ts" <<'TS'
import { packageVitestConfig } from "../../vitest.shared.js";

export default packageVitestConfig();
TS
