#!/usr/bin/env bash
# Mutation testing of the core modules with mutmut (docs/testing.md).
#
#   tools/dev/mutation_test.sh           every module of tools/dev/mutation_targets.txt
#   tools/dev/mutation_test.sh bbox_nms  one module (names: first column of that file)
#
# Each module runs in its own snapshot of the tree, .mutation/<module>/, with
# only the tests listed for it. Needs .venv (`make test` creates it); installs
# mutmut from requirements-dev.txt when missing. MUTATION_JOBS sets the number
# of parallel test processes (default: all cores).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
PYTHON=$ROOT/.venv/bin/python
TARGETS=$ROOT/tools/dev/mutation_targets.txt
WORK=$ROOT/.mutation
JOBS=${MUTATION_JOBS:-$(nproc)}

if [ ! -x "$PYTHON" ]; then
    echo "mutation_test.sh: $PYTHON is missing; run 'make test' first" >&2
    exit 1
fi

ensure_mutmut() {
    local pinned installed
    pinned=$(sed -n 's/^mutmut==//p' "$ROOT/requirements-dev.txt")
    installed=$("$PYTHON" -c "import importlib.metadata as m; print(m.version('mutmut'))" 2>/dev/null || true)
    if [ "$installed" != "$pinned" ]; then
        "$PYTHON" -m pip install -q -r "$ROOT/requirements-dev.txt"
    fi
}

# Writes mutmut's configuration for one module into the current directory.
write_config() {
    local source=$1; shift
    printf '[mutmut]\nsource_paths = yolo_plugin\nonly_mutate = %s\n' "$source"
    printf 'also_copy =\n    pytest.ini\n    configs\n    tools\n'
    printf 'pytest_add_cli_args_test_selection =\n'
    printf '    %s\n' "$@"
}

run_module() {
    local name=$1 source=$2; shift 2
    local dir=$WORK/$name start
    start=$(date +%s)
    rm -rf "$dir"
    mkdir -p "$dir"
    tar -C "$ROOT" --exclude=__pycache__ -cf - yolo_plugin tests configs tools pytest.ini |
        tar -C "$dir" -xf -
    (
        cd "$dir"
        export PATH="$ROOT/.venv/bin:$PATH"
        write_config "$source" "$@" > setup.cfg
        echo "== $name: mutating $source, running $*"
        # One torch thread a test process: the processes run side by side.
        OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 \
            nice -n 10 mutmut run --max-children "$JOBS" > run.log 2>&1 ||
            { tail -n 30 run.log; echo "mutmut failed, see $dir/run.log" >&2; exit 1; }
        mutmut export-cicd-stats > /dev/null
        mutmut results > not_killed.txt
    ) < /dev/null
    echo $(( $(date +%s) - start )) > "$dir/seconds"
    module_dirs+=("$dir")
}

ensure_mutmut
module_dirs=()
while read -r name source tests; do
    case $name in ''|'#'*) continue ;; esac
    if [ $# -eq 0 ] || [ "$1" = "$name" ]; then
        # shellcheck disable=SC2086  # the test files are words of one line
        run_module "$name" "$source" $tests
    fi
done < "$TARGETS"
if [ ${#module_dirs[@]} -eq 0 ]; then
    echo "mutation_test.sh: no module '${1-}' in $TARGETS" >&2
    exit 2
fi
"$PYTHON" "$ROOT/tools/dev/mutation_summary.py" --document "$ROOT/docs/testing.md" \
    "${module_dirs[@]}"
