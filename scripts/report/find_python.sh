# Sourced by scripts/plot, scripts/compare and the report tests: finds a Python 3.9+ that can
# import the given modules. Debian's /usr/bin/python3 is tried early because python3-matplotlib
# (and python3-scipy) install there, while a python3 earlier on PATH (pyenv, a venv) may lack them.
# PIPEBENCH_PYTHON, when set, is tried first.

# Prints the first suitable interpreter; returns 1 when there is none.
find_python_with() {
  local check="import sys; assert sys.version_info >= (3, 9)" module candidate
  for module in "$@"; do check+="; import $module"; done
  for candidate in "${PIPEBENCH_PYTHON:-}" /usr/bin/python3 "$(command -v python3 2>/dev/null)" \
                   /usr/local/bin/python3; do
    [ -n "$candidate" ] && [ -x "$candidate" ] || continue
    if "$candidate" -c "$check" >/dev/null 2>&1; then
      printf '%s\n' "$candidate"
      return 0
    fi
  done
  return 1
}
