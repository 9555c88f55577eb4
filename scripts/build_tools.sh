#!/usr/bin/env bash
# Build the course's external programs from pinned Go sources into a cache outside git.
#
#   scripts/build_tools.sh            build every tool in TOOLS (course_lib/data/tools/pins.env)
#   scripts/build_tools.sh helm       build only these tools
#   scripts/build_tools.sh --list     print name, version and target path of each tool, build nothing
#   TOOLS_JOBS=1 scripts/build_tools.sh   one build at a time (default: 2 at a time, longest first)
#
# A tool that is already built (same pin hash) is skipped. Without Go the script explains and exits 0, so
# `make tools` never breaks a setup that does not need the tools; course_lib then raises ToolMissingError.
# Output: ${COURSE_CACHE_DIR:-${XDG_CACHE_HOME:-~/.cache}/course-lib}/tools/<name>-<pin-hash>/bin/<binary>
# GO_BIN=/path/to/go picks a Go binary (a path that does not exist means "no Go").
# The pin hash must match course_lib/tools.py:pin_hash (same lines, same order, same wrapper files): both read
# the package's data folder, course_lib/data (or $COURSE_DATA_DIR, the one override, also course_lib's).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PINS="${COURSE_DATA_DIR:-$ROOT/course_lib/data}/tools/pins.env"
WRAPPERS="$(dirname "$PINS")"
CACHE="${COURSE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/course-lib}"

say() { printf '[tools] %s\n' "$*"; }

[[ -f "$PINS" ]] || { say "missing $PINS"; exit 1; }
# shellcheck disable=SC1090
source "$PINS"

prefix_of() { local p="${1^^}"; printf '%s' "${p//-/_}"; }
var() { local name; name="$(prefix_of "$1")_$2"; printf '%s' "${!name:-}"; }

pin_hash() {  # sha256 of the tool's pin lines (file order) + wrapper go.mod/go.sum + the files of the wrapper's own
  # packages (its subfolders: relative path, then content, in C-locale path order), first 12 hex digits
  local tool="$1" prefix f
  prefix="$(prefix_of "$tool")"
  {
    grep -E "^${prefix}_" "$PINS" || true
    for f in go.mod go.sum; do if [[ -f "$WRAPPERS/$tool/$f" ]]; then cat "$WRAPPERS/$tool/$f"; fi; done
    if [[ -d "$WRAPPERS/$tool" ]]; then
      while IFS= read -r f; do
        printf '%s\n' "${f#"$WRAPPERS/$tool/"}"; cat "$f"
      done < <(find "$WRAPPERS/$tool" -mindepth 2 -type f | LC_ALL=C sort)
    fi
  } | sha256sum | cut -c1-12
}

target_dir() { printf '%s/tools/%s-%s' "$CACHE" "$1" "$(pin_hash "$1")"; }

find_go() {
  if [[ -n "${GO_BIN:-}" ]]; then [[ -x "$GO_BIN" ]] && { printf '%s' "$GO_BIN"; return; }; return 1; fi
  if command -v go >/dev/null 2>&1; then command -v go; return; fi
  for g in /usr/local/go/bin/go /usr/lib/go/bin/go "$HOME/go/bin/go"; do
    [[ -x "$g" ]] && { printf '%s' "$g"; return; }
  done
  return 1
}

build_one() {
  local tool="$1" version package packages ldflags binaries dir start took
  version="$(var "$tool" VERSION)"
  package="$(var "$tool" PACKAGE)"
  packages="$(var "$tool" PACKAGES)"; packages="${packages:-.}"
  ldflags="$(var "$tool" LDFLAGS)"
  local tags; tags="$(var "$tool" TAGS)"
  local -a tagflag=()
  [[ -n "$tags" ]] && tagflag=("-tags=$tags")
  binaries="$(var "$tool" BINARY)"; binaries="${binaries:-$tool}"
  local -a bins pkgs
  read -r -a bins <<<"$binaries"
  read -r -a pkgs <<<"$packages"
  if [[ -z "$version" ]]; then
    say "$tool: no $(prefix_of "$tool")_VERSION in $PINS; known tools: $TOOLS"
    return 2
  fi
  dir="$(target_dir "$tool")"
  local missing=0 b
  for b in "${bins[@]}"; do [[ -x "$dir/bin/$b" ]] || missing=1; done
  if [[ $missing -eq 0 ]]; then
    say "$tool $version: already built ($dir/bin: ${bins[*]}), skipping"
    return 0
  fi
  local tmp="$dir.partial.$$"
  rm -rf "$tmp"; mkdir -p "$tmp/bin" "$tmp/out"
  say "$tool $version: building ${bins[*]} (this can take several minutes on 2 cores) ..."
  start=$SECONDS
  if [[ -n "$package" ]]; then
    local p
    for p in $package; do  # one or more main packages of the same module
      GOBIN="$tmp/bin" "$GO" install "${tagflag[@]}" -ldflags="$ldflags" "$p@$version"
    done
  elif [[ -f "$WRAPPERS/$tool/go.mod" && -n "$(var "$tool" PATCH)" ]]; then
    # NAME_PATCH="FILE OLD NEW": build from a copy of NAME_PATCH_MODULE's source in which the literal OLD in FILE
    # is replaced by NEW (once, checked) — for a one-line upstream fix; the patch is part of the pin hash
    local spec pfile pold pnew pmod work src
    spec="$(var "$tool" PATCH)"; pmod="$(var "$tool" PATCH_MODULE)"
    read -r pfile pold pnew <<<"$spec"
    work="$tmp/build"; mkdir -p "$work"; cp -r "$WRAPPERS/$tool/." "$work/"
    (cd "$work" && "$GO" mod download "$pmod") || { rm -rf "$tmp"; return 1; }
    src="$(cd "$work" && "$GO" list -m -f '{{.Dir}}' "$pmod")"
    cp -r "$src" "$work/patched"; chmod -R u+w "$work/patched"
    if ! grep -qF -- "$pold" "$work/patched/$pfile"; then
      say "$tool: the patch no longer applies: '$pold' is not in $pmod/$pfile"; rm -rf "$tmp"; return 1
    fi
    local text; text="$(cat "$work/patched/$pfile"; printf x)"; text="${text%x}"
    printf '%s' "${text/"$pold"/"$pnew"}" >"$work/patched/$pfile"
    say "$tool: patched $pmod/$pfile: '$pold' -> '$pnew'"
    (cd "$work" && "$GO" mod edit -replace "$pmod=./patched" \
      && "$GO" build "${tagflag[@]}" -ldflags="$ldflags" -o "$tmp/out/" "${pkgs[@]}")
    rm -rf "$work"
  elif [[ -f "$WRAPPERS/$tool/go.mod" ]]; then
    (cd "$WRAPPERS/$tool" && "$GO" build "${tagflag[@]}" -ldflags="$ldflags" -o "$tmp/out/" "${pkgs[@]}")
  else
    say "$tool: neither $(prefix_of "$tool")_PACKAGE in $PINS nor $WRAPPERS/$tool/go.mod; cannot build"
    rm -rf "$tmp"; return 2
  fi
  # a wrapper build writes each program under its package's name into out/: the program of the i-th package of
  # NAME_PACKAGES gets the i-th name of NAME_BINARY (the Kyverno CLI, cmd/cli/kubectl-kyverno, becomes `kyverno`
  # while cmd/kyverno becomes `kyverno-admission-controller`); go names .../vN packages after the element before
  if [[ -d "$tmp/out" ]]; then
    if [[ ${#bins[@]} -eq ${#pkgs[@]} ]]; then
      local i src
      for i in "${!pkgs[@]}"; do
        src="${pkgs[$i]%/}"; src="${src##*/}"
        [[ "$src" =~ ^v[0-9]+$ ]] && { src="${pkgs[$i]%/*}"; src="${src##*/}"; }
        if [[ -f "$tmp/out/$src" ]]; then mv "$tmp/out/$src" "$tmp/bin/${bins[$i]}"; fi
      done
    fi
    local f
    for f in "$tmp"/out/*; do [[ -e "$f" ]] && mv "$f" "$tmp/bin/"; done
    rm -rf "$tmp/out"
  fi
  # a single program may come out under its package's name: give it the expected one
  if [[ ${#bins[@]} -eq 1 && ! -x "$tmp/bin/${bins[0]}" ]]; then
    local built=("$tmp"/bin/*)
    [[ ${#built[@]} -eq 1 && -x "${built[0]}" ]] && mv "${built[0]}" "$tmp/bin/${bins[0]}"
  fi
  for b in "${bins[@]}"; do
    [[ -x "$tmp/bin/$b" ]] || { say "$tool: the build did not produce $b"; rm -rf "$tmp"; return 1; }
  done
  took=$((SECONDS - start))
  mkdir -p "$(dirname "$dir")"
  rm -rf "$dir"; mv "$tmp" "$dir"
  printf '%s\n' "$version" >"$dir/VERSION"
  for b in "${bins[@]}"; do
    say "$tool $version: built $b in ${took}s -> $dir/bin/$b ($(du -h "$dir/bin/$b" | cut -f1))"
  done
}

expected() {  # the seconds a tool took on a fresh machine with 2 idle cores (BUILD_SECONDS in pins.env), or "?"
  local pair
  for pair in ${BUILD_SECONDS:-}; do [[ "${pair%%=*}" == "$1" ]] && { printf '%s' "${pair#*=}"; return; }; done
  printf '?'
}

longest_first() {  # the tools, by expected build time, longest first (what keeps TOOLS_JOBS builds busy to the end)
  local t
  for t in "$@"; do e="$(expected "$t")"; printf '%s %s\n' "${e/\?/0}" "$t"; done | sort -rn -k1,1 | cut -d' ' -f2
}

build_logged() {  # build one tool with its output lines prefixed by its name; its exit code goes to file $2
  local t="$1" rcfile="$2" rc=0
  build_one "$t" > >(sed -u "s/^/  [$t] /") 2>&1 || rc=$?
  printf '%s\n' "$rc" >"$rcfile"
}

main() {
  local tools=("$@")
  [[ ${#tools[@]} -gt 0 ]] || read -r -a tools <<<"$TOOLS"
  if [[ "${tools[0]:-}" == "--list" ]]; then
    read -r -a tools <<<"$TOOLS"
    for t in "${tools[@]}"; do
      local b; b="$(var "$t" BINARY)"; b="${b:-$t}"
      printf '%-16s %-10s %s/bin/%s\n' "$t" "$(var "$t" VERSION)" "$(target_dir "$t")" "${b%% *}"
    done
    return 0
  fi
  if ! GO="$(find_go)"; then
    say "Go is not installed, so nothing was built (${tools[*]})."
    say "Install Go >= 1.24 (https://go.dev/dl or your package manager), then run \`make tools\` again."
    say "Notebooks that need these tools explain what is missing; everything else works without them."
    return 0
  fi
  export GOTOOLCHAIN="${GOTOOLCHAIN:-auto}" GOFLAGS="${GOFLAGS:--trimpath}" CGO_ENABLED=0
  # TOOLS_JOBS builds at once (default 2): Go already compiles on every core, but module downloads and the
  # single-threaded link of one build leave cores idle that a second build fills (benchmarks/tool_build.py).
  local jobs="${TOOLS_JOBS:-2}"
  [[ "$jobs" =~ ^[1-9][0-9]*$ ]] || { say "TOOLS_JOBS must be a whole number >= 1, got '$jobs'"; return 2; }
  say "using $("$GO" version) -> $CACHE/tools ($jobs at a time)"
  local total=$SECONDS rc=0 t rcdir
  rcdir="$(mktemp -d)"
  # shellcheck disable=SC2046
  set -- $(if [[ $jobs -gt 1 ]]; then longest_first "${tools[@]}"; else printf '%s\n' "${tools[@]}"; fi)
  for t in "$@"; do
    while [[ $(jobs -rp | wc -l) -ge $jobs ]]; do wait -n || true; done
    [[ -x "$(target_dir "$t")/bin/$(b="$(var "$t" BINARY)"; b="${b:-$t}"; printf '%s' "${b%% *}")" ]] \
      || say "$t: starting (about $(expected "$t")s on a fresh machine with 2 idle cores)"
    build_logged "$t" "$rcdir/$t" &
  done
  wait
  for t in "$@"; do
    local r; r="$(cat "$rcdir/$t" 2>/dev/null || echo 1)"
    [[ "$r" == 0 ]] || { say "$t: FAILED (exit $r); its lines above start with [$t]"; rc="$r"; }
  done
  rm -rf "$rcdir"
  say "done in $((SECONDS - total))s"
  return $rc
}

{ main "$@"; exit; }  # braces: bash reads the whole call before running it, so edits mid-run are safe
