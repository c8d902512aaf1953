#!/usr/bin/env bash
# The README's test command (`npm test`) runs this: it installs what the tests need when it is missing,
# builds, runs every vitest suite, and ends with a plain `N passed, N failed` line from vitest's JSON report.
set -uo pipefail
cd "$(dirname "$0")/.."

log() { printf '[test] %s\n' "$*"; }

# 1. npm packages (npm ci also builds dist/ through the `prepare` script).
if [ ! -x node_modules/.bin/vitest ] || [ ! -x node_modules/.bin/node ]; then
  log "installing npm packages"
  npm ci --no-audit --no-fund || { echo "0 passed, 1 failed"; exit 1; }
fi

# 2. Build dist/ (the CLI tests run the real binary).
log "building"
npm run --silent build || { echo "0 passed, 1 failed"; exit 1; }

# 3. Real servers the tests need: each setup script builds or installs one when missing (cached outside
#    the clone in ~/.cache/meterbridge, so CI's fresh clone on this machine reuses it).
for setup in test/harness/setup-*.sh; do
  [ -e "$setup" ] || continue
  log "harness: $setup"
  bash "$setup" || { echo "harness setup $setup failed"; echo "0 passed, 1 failed"; exit 1; }
done

# 4. Run every test with a JSON report beside the console output.
mkdir -p .test-output
rm -f .test-output/vitest.json
npx vitest run --reporter=default --reporter=json --outputFile.json=.test-output/vitest.json "$@"
status=$?

# 5. The plain summary line CI reads.
node scripts/summarize-vitest.mjs .test-output/vitest.json
summary=$?
if [ "$status" -eq 0 ] && [ "$summary" -ne 0 ]; then status=$summary; fi
exit "$status"
