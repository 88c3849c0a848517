#!/usr/bin/env bash
# Installs the two other implementations of the OpenSSF Model Signing format, at pinned versions,
# into a cache folder outside the repository, for tests/peers_*.ts and `deno task bench`:
#   - model_signing (Python) from PyPI, in its own venv:   $PEERS/python/bin/model_signing
#   - the Go CLI (module github.com/sigstore/model-signing): $PEERS/go/bin/model-signing
# Idempotent and quick when already installed. Prints one line per peer. Never fails CI: a peer
# that cannot be installed is reported, and the tests that need it skip with a one-line reason.
#
# Environment:
#   MODEL_VERIFY_PEERS    cache folder (default ${XDG_CACHE_HOME:-$HOME/.cache}/model-verify/peers)
#   MODEL_VERIFY_GO_SRC   optional local git clone of the Go implementation; used only when the Go
#                         module proxy does not serve the pinned version (built at the pinned tag).
set -uo pipefail

PY_VERSION=1.1.1
GO_MODULE=github.com/sigstore/model-signing
GO_VERSION=v0.0.3
GO_CMD=cmd/model-signing
GO_MISSING_DEP=github.com/go-openapi/runtime/server-middleware@v0.32.2
GO_MISSING_DEP_FIX=github.com/go-openapi/runtime/server-middleware@v0.32.3

here=$(cd "$(dirname "$0")" && pwd)
PEERS=${MODEL_VERIFY_PEERS:-${XDG_CACHE_HOME:-$HOME/.cache}/model-verify/peers}
mkdir -p "$PEERS" || { echo "peers: cannot create $PEERS"; exit 0; }
log="$PEERS/install.log"
: >"$log"

# --- model_signing (Python) ------------------------------------------------------------------
py_dir="$PEERS/python"
py_stamp="$py_dir/.installed-model-signing-$PY_VERSION-$(cksum <"$here/install_peers.constraints.txt" | cut -d' ' -f1)"
if [ -f "$py_stamp" ] && [ -x "$py_dir/bin/model_signing" ]; then
  echo "peer model_signing $PY_VERSION: already installed ($py_dir/bin/model_signing)"
elif ! command -v python3 >/dev/null 2>&1; then
  echo "peer model_signing $PY_VERSION: not installed (python3 not found)"
else
  rm -rf "$py_dir"
  if python3 -m venv "$py_dir" >>"$log" 2>&1 &&
    "$py_dir/bin/pip" install -q --disable-pip-version-check -c "$here/install_peers.constraints.txt" \
      "model-signing==$PY_VERSION" pyOpenSSL >>"$log" 2>&1 &&
    "$py_dir/bin/model_signing" --help >/dev/null 2>&1; then
    touch "$py_stamp"
    echo "peer model_signing $PY_VERSION: installed ($py_dir/bin/model_signing)"
  else
    echo "peer model_signing $PY_VERSION: not installed (pip failed; see $log)"
  fi
fi

# --- model-signing (Go) ----------------------------------------------------------------------
go_dir="$PEERS/go"
go_stamp="$go_dir/.installed-$GO_VERSION"
go_bin="$go_dir/bin/model-signing"
if [ -f "$go_stamp" ] && [ -x "$go_bin" ]; then
  echo "peer Go model-signing $GO_VERSION: already installed ($go_bin; $(cat "$go_stamp"))"
elif ! command -v go >/dev/null 2>&1; then
  echo "peer Go model-signing $GO_VERSION: not installed (go not found)"
else
  rm -rf "$go_dir"
  mkdir -p "$go_dir/bin"
  if GOBIN="$go_dir/bin" GOFLAGS=-buildvcs=false go install "$GO_MODULE/$GO_CMD@$GO_VERSION" >>"$log" 2>&1; then
    echo "go install $GO_MODULE/$GO_CMD@$GO_VERSION" >"$go_stamp"
    echo "peer Go model-signing $GO_VERSION: installed with go install ($go_bin)"
  elif [ -n "${MODEL_VERIFY_GO_SRC:-}" ] && git -C "$MODEL_VERIFY_GO_SRC" rev-parse -q --verify "$GO_VERSION^{commit}" >/dev/null 2>&1; then
    # The module proxy does not serve this module: build the pinned tag from a local clone. The
    # proxy does not serve one of its indirect dependencies at the version go.mod names either
    # (github.com/go-openapi/runtime/server-middleware v0.32.2), so the next patch release replaces it.
    src="$go_dir/src"
    mkdir -p "$src"
    if git -C "$MODEL_VERIFY_GO_SRC" archive "$GO_VERSION" | tar -x -C "$src" &&
      (cd "$src" &&
        go mod edit -replace "$GO_MISSING_DEP=$GO_MISSING_DEP_FIX" &&
        GOFLAGS="-buildvcs=false -mod=mod" go build -o "$go_bin" "./$GO_CMD") >>"$log" 2>&1; then
      echo "built from $MODEL_VERIFY_GO_SRC at $GO_VERSION ($GO_MISSING_DEP replaced by $GO_MISSING_DEP_FIX)" >"$go_stamp"
      echo "peer Go model-signing $GO_VERSION: built from local clone $MODEL_VERIFY_GO_SRC ($go_bin; module proxy does not serve $GO_MODULE)"
    else
      echo "peer Go model-signing $GO_VERSION: not installed (build from $MODEL_VERIFY_GO_SRC failed; see $log)"
    fi
  else
    echo "peer Go model-signing $GO_VERSION: not installed (module proxy does not serve $GO_MODULE@$GO_VERSION; set MODEL_VERIFY_GO_SRC to a local clone; see $log)"
  fi
fi
exit 0
