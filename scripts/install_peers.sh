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
#   MODEL_VERIFY_GO_BIN   optional: a Go model-signing binary obtained elsewhere, used instead of
#                         `go install` (which fails where the module proxy refuses the module).
set -uo pipefail

PY_VERSION=1.1.1
GO_MODULE=github.com/sigstore/model-signing
GO_VERSION=v0.0.3
GO_CMD=cmd/model-signing

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
# The Go module proxy these machines reach refuses github.com/sigstore/model-signing (403 for every
# version), so `go install` fails here and the Go peer tests skip with a reason. Where the proxy
# serves it, `go install` installs the pinned version. A binary built elsewhere can be used instead
# by naming it in MODEL_VERIFY_GO_BIN (linked into the cache folder; nothing is built here).
go_dir="$PEERS/go"
go_stamp="$go_dir/.installed-go-$GO_VERSION"
go_bin="$go_dir/bin/model-signing"
if [ -n "${MODEL_VERIFY_GO_BIN:-}" ]; then
  if [ -x "$MODEL_VERIFY_GO_BIN" ]; then
    mkdir -p "$go_dir/bin" && ln -sf "$(cd "$(dirname "$MODEL_VERIFY_GO_BIN")" && pwd)/$(basename "$MODEL_VERIFY_GO_BIN")" "$go_bin"
    echo "MODEL_VERIFY_GO_BIN=$MODEL_VERIFY_GO_BIN" >"$go_stamp"
    echo "peer Go model-signing: using MODEL_VERIFY_GO_BIN ($MODEL_VERIFY_GO_BIN)"
  else
    echo "peer Go model-signing: not installed (MODEL_VERIFY_GO_BIN=$MODEL_VERIFY_GO_BIN is not an executable)"
  fi
elif [ -f "$go_stamp" ] && [ -x "$go_bin" ]; then
  echo "peer Go model-signing $GO_VERSION: already installed ($go_bin; $(cat "$go_stamp"))"
elif ! command -v go >/dev/null 2>&1; then
  echo "peer Go model-signing $GO_VERSION: not installed (go not found)"
else
  rm -rf "$go_dir"
  mkdir -p "$go_dir/bin"
  if GOBIN="$go_dir/bin" GOFLAGS=-buildvcs=false go install "$GO_MODULE/$GO_CMD@$GO_VERSION" >>"$log" 2>&1; then
    echo "go install $GO_MODULE/$GO_CMD@$GO_VERSION" >"$go_stamp"
    echo "peer Go model-signing $GO_VERSION: installed with go install ($go_bin)"
  else
    echo "peer Go model-signing $GO_VERSION: not installed (the Go module proxy does not serve $GO_MODULE@$GO_VERSION; see $log)"
  fi
fi
