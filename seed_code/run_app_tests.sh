#!/usr/bin/env bash
# Run the seed-code apps' own test suites, each in its own virtualenv.
#
#   seed_code/run_app_tests.sh                 # all apps
#   seed_code/run_app_tests.sh deploy_app      # some apps
#   seed_code/run_app_tests.sh --install-only  # only make the virtualenvs (the platform's
#                                              # lifecycle tests run the apps with them)
#
# For every app: create seed_code/<app>/.venv (python3 -m venv) if missing,
# install <app>/requirements-test.txt into it when the requirement files
# changed (a hash stamp inside the .venv makes the second run skip pip), then
# run the app's pytest suite from the app directory; the apps run at once, each reported
# after the others finish. Nothing is written into
# the app directories except the .venv (no bytecode, no pytest cache).
#
# Exits non-zero if any app's install or tests fail. Prints each suite's
# pytest summary line and, last, one total line "N passed, N failed".
#
# Environment: PYTHON (default python3) creates the virtualenvs. UV, the path of a uv
# binary (`make` passes the one in the platform's .venv), installs with uv instead of pip:
# same pins, same packages, a fraction of the time on a clean machine.

set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PYTHON="${PYTHON:-python3}"
UV="${UV:-}"
if [ -n "$UV" ] && [ ! -x "$UV" ]; then
    echo "run_app_tests: UV=$UV is not an executable" >&2
    exit 1
fi
export PYTHONDONTWRITEBYTECODE=1
export PIP_DISABLE_PIP_VERSION_CHECK=1
export SAGEMAKER_SUPPRESS_V2_WARNING=1

INSTALL_ONLY=0
if [ "${1:-}" = "--install-only" ]; then
    INSTALL_ONLY=1
    shift
fi

if [ "$#" -gt 0 ]; then
    APPS=("$@")
else
    APPS=()
    for dir in "$ROOT"/*/; do
        [ -f "$dir/requirements-test.txt" ] && APPS+=("$(basename "$dir")")
    done
fi
if [ "${#APPS[@]}" -eq 0 ]; then
    echo "run_app_tests: no apps found under $ROOT" >&2
    exit 1
fi

requirements_hash() {
    # Everything that decides what gets installed, plus the interpreter.
    "$PYTHON" - "$1" <<'PY'
import hashlib, pathlib, sys
app = pathlib.Path(sys.argv[1])
digest = hashlib.sha256(sys.version.encode())
for path in sorted(app.glob("requirements*.txt")) + sorted(app.glob("container/requirements*.txt")):
    digest.update(path.name.encode() + b"\0" + path.read_bytes())
print(digest.hexdigest())
PY
}

ensure_venv() {
    local app="$1" app_dir="$ROOT/$1"
    local venv="$app_dir/.venv" stamp="$app_dir/.venv/.requirements.sha256"
    local want
    want="$(requirements_hash "$app_dir")"
    if [ -x "$venv/bin/python" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
        echo "[$app] dependencies up to date"
        return 0
    fi
    # Recreate a venv that is broken or was made by another interpreter.
    local version_check='import sys; print(sys.version)'
    if [ ! -x "$venv/bin/python" ] ||
        [ "$("$venv/bin/python" -c "$version_check" 2>/dev/null)" != "$("$PYTHON" -c "$version_check")" ]; then
        rm -rf "$venv"
        "$PYTHON" -m venv "$venv" || return 1
    fi
    rm -f "$stamp"
    echo "[$app] installing test dependencies"
    local log
    log="$(mktemp)"
    local installer=pip install=("$venv/bin/python" -m pip install --quiet)
    if [ -n "$UV" ]; then
        installer=uv
        install=("$UV" pip install --quiet --compile-bytecode --python "$venv/bin/python")
    fi
    if ! (cd "$app_dir" && "${install[@]}" -r requirements-test.txt) >"$log" 2>&1; then
        echo "[$app] $installer install failed:" >&2
        grep -v "is ignored: it is neither a file nor a directory" "$log" | tail -n 30 >&2
        rm -f "$log"
        return 1
    fi
    rm -f "$log"
    echo "$want" >"$stamp"
}

count_of() {
    # count_of WORD "pytest summary line" -> the number before WORD (empty if none)
    grep -oE "[0-9]+ $1([ ,]|$)" <<<"$2" | grep -oE '^[0-9]+' | head -n 1
}

total_passed=0
total_failed=0
failed_apps=()
start_all=$SECONDS
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

run_app() {
    # One app's install (and, unless --install-only, its suite); output to $work/<app>.log,
    # the exit status to $work/<app>.rc ("install" when the install failed).
    local app="$1" app_dir="$ROOT/$1"
    if [ ! -f "$app_dir/requirements-test.txt" ]; then
        echo "[$app] no requirements-test.txt" >&2
        echo install >"$work/$app.rc"
        return
    fi
    if ! ensure_venv "$app"; then
        echo install >"$work/$app.rc"
        return
    fi
    if [ "$INSTALL_ONLY" -eq 1 ]; then
        echo 0 >"$work/$app.rc"
        return
    fi
    (cd "$app_dir" && "$app_dir/.venv/bin/python" -m pytest -q -p no:cacheprovider)
    echo $? >"$work/$app.rc"
}

# The apps are independent (own directory, own virtualenv): install and test them all at
# once, then report each in turn.
for app in "${APPS[@]}"; do
    run_app "$app" >"$work/$app.log" 2>&1 &
done
wait

for app in "${APPS[@]}"; do
    echo "===== $app ====="
    cat "$work/$app.log"
    rc="$(cat "$work/$app.rc" 2>/dev/null || echo crashed)"
    if [ "$rc" = "install" ] || [ "$rc" = "crashed" ]; then
        failed_apps+=("$app")
        total_failed=$((total_failed + 1))
        continue
    fi
    [ "$INSTALL_ONLY" -eq 1 ] && continue
    summary="$(grep -E '(^|[ =])([0-9]+ [a-z]+|no tests ran).* in [0-9.]+s' "$work/$app.log" | tail -n 1)"
    passed="$(count_of passed "$summary")"
    failed="$(count_of failed "$summary")"
    errors="$(count_of 'errors?' "$summary")"
    total_passed=$((total_passed + ${passed:-0}))
    total_failed=$((total_failed + ${failed:-0} + ${errors:-0}))
    if [ "$rc" -ne 0 ]; then
        failed_apps+=("$app")
        # A crash or "no tests ran" still counts as a failure.
        if [ -z "${failed:-}" ] && [ -z "${errors:-}" ]; then
            total_failed=$((total_failed + 1))
        fi
    fi
done

if [ "$INSTALL_ONLY" -eq 1 ]; then
    echo "===== seed_code apps: ${#APPS[@]} virtualenvs, $((SECONDS - start_all))s ====="
    [ "${#failed_apps[@]}" -eq 0 ] || { echo "failed apps: ${failed_apps[*]}"; exit 1; }
    exit 0
fi
echo "===== seed_code apps: ${#APPS[@]} suites in $((SECONDS - start_all))s ====="
if [ "${#failed_apps[@]}" -gt 0 ]; then
    echo "failed apps: ${failed_apps[*]}"
fi
echo "${total_passed} passed, ${total_failed} failed"
[ "${#failed_apps[@]}" -eq 0 ]
