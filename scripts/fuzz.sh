#!/usr/bin/env bash
# Coverage-guided fuzzing with libFuzzer (from the Swift toolchain) and AddressSanitizer.
#
#   scripts/fuzz.sh [seconds] [target…]     default: 60 s each, every target
#
# Targets (Fuzz/Targets/<name>/main.swift): FuzzConfig (TOML parser and config loading),
# FuzzEventNormalizer (the event pipeline's normalize step), FuzzJWT (token parsing and
# verification, JWKS), FuzzWebSocketFrames (frames after the upgrade), FuzzMultipart (attachment
# uploads). They are built only here (GATEWAY_FUZZ=1), into .build-fuzz, never by `swift build`.
#
# Each target runs for the given time on its committed seeds (Fuzz/Corpus/<name>) and kept
# crash inputs (Fuzz/Regressions/<name>), plus what earlier runs found (.build-fuzz/corpus/<name>).
# A crash (a trap, a failed check, an AddressSanitizer report), memory over 2 GB or an input
# running over 60 s fails the script;
# the input is saved in .build-fuzz/findings/<name>/ and printed. Fix the bug, then keep the
# input: copy it to Fuzz/Regressions/<name>/ and add a test for it in the normal suite.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${1:-60}"
shift || true
all=(FuzzConfig FuzzEventNormalizer FuzzJWT FuzzWebSocketFrames FuzzMultipart)
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=("${all[@]}")
for target in "${targets[@]}"; do
  [[ " ${all[*]} " == *" $target "* ]] || { echo "unknown fuzz target '$target' (known: ${all[*]})" >&2; exit 2; }
done

build=.build-fuzz
# SwiftPM's --sanitize=fuzzer makes the executables libFuzzer programs (libFuzzer's main, no
# Swift entry point); -sanitize=fuzzer,address in one flag, because the compiler keeps only the
# last of several -sanitize flags and coverage instrumentation would be lost.
build_flags=(--build-path "$build" --sanitize=fuzzer -Xswiftc -sanitize=fuzzer,address)
started=$(date +%s)
for target in "${targets[@]}"; do
  echo "== building $target"
  GATEWAY_FUZZ=1 swift build "${build_flags[@]}" --product "$target" 2>&1 \
    | grep -v -e "ld.gold: warning: Cannot export local symbol" -e "prohibited flag" | tail -n 3
done
echo "== fuzz build: $(( $(date +%s) - started )) s"
bin="$(GATEWAY_FUZZ=1 swift build "${build_flags[@]}" --show-bin-path)"

# Swift's own crash backtracer would stall libFuzzer's crash handling: libFuzzer reports.
export SWIFT_BACKTRACE=enable=no
# LeakSanitizer is off: memory that grows per input is what -rss_limit_mb catches.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=0}"
failed=()
for target in "${targets[@]}"; do
  corpus="$build/corpus/$target"
  findings="$build/findings/$target"
  mkdir -p "$corpus" "$findings" "Fuzz/Regressions/$target"
  dict=()
  [ -f "Fuzz/Dictionaries/$target.dict" ] && dict=(-dict="Fuzz/Dictionaries/$target.dict")
  log="$build/$target.log"
  echo "== $target: ${seconds} s"
  # The first corpus folder receives new inputs; the committed ones are only read.
  # -timeout=60: one input of the unoptimized ASan build of FuzzMultipart takes ~0.7 s alone and
  # far longer on a starved 2-core machine; a real hang still fails the run.
  if "$bin/$target" "$corpus" "Fuzz/Corpus/$target" "Fuzz/Regressions/$target" "${dict[@]}" \
      -max_total_time="$seconds" -timeout=60 -rss_limit_mb=2048 -max_len=20000 \
      -artifact_prefix="$findings/" -print_final_stats=1 > "$log" 2>&1; then
    grep -E "^#[0-9]+.*(DONE|pulse)|^stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb)" "$log" | tail -n 4
  else
    echo "!! $target failed; last lines of $log:"
    grep -v -E "^#[0-9]+ +(NEW|REDUCE|pulse)" "$log" | tail -n 40
    ls -1 "$findings"
    failed+=("$target")
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzzing found problems in: ${failed[*]} (inputs in $build/findings/)" >&2
  exit 1
fi
echo "fuzzing: no crash in ${targets[*]}"
